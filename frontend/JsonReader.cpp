// ObjectReader and the small JSON checking helpers of the frontend.
#include "frontend/JsonReader.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace nncc {

const char *jsonTypeName(const json &j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "a list";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    default: return "a value";
  }
}

// The offending value for "found ..." in messages: scalars as written in JSON
// ("8" with quotes, 3.5, true, null), lists and objects by their type.
static std::string foundValue(const json &j) {
  if (j.is_array() || j.is_object()) return jsonTypeName(j);
  std::string s = j.dump();
  return s.size() <= 40 ? s : s.substr(0, 37) + "...";
}

bool isCIdentifier(const std::string &s) {
  if (s.empty() || s.size() > 200) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

bool isReservedCName(const std::string &s) {
  static const std::set<std::string> kw = {
      "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
      "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
      "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
      "volatile", "while", "_Bool", "_Complex", "_Imaginary", "bool", "class", "delete", "new",
      "namespace", "operator", "private", "protected", "public", "template", "this", "throw", "try",
      "catch", "typename", "virtual", "using", "true", "false", "nullptr", "friend", "mutable", "explicit",
      // C++'s alternative tokens and the rest of its keywords: names become C and C++ symbols.
      "and", "and_eq", "bitand", "bitor", "compl", "not", "not_eq", "or", "or_eq", "xor", "xor_eq",
      "alignas", "alignof", "asm", "char8_t", "char16_t", "char32_t", "concept", "consteval", "constexpr",
      "constinit", "const_cast", "co_await", "co_return", "co_yield", "decltype", "dynamic_cast", "export",
      "noexcept", "reinterpret_cast", "requires", "static_assert", "static_cast", "thread_local", "typeid",
      "wchar_t", "_Alignas", "_Alignof", "_Atomic", "_Generic", "_Noreturn", "_Static_assert", "_Thread_local"};
  return kw.count(s) != 0;
}

ObjectReader::ObjectReader(const json &j, Location loc, Diagnostics &diags, std::string what)
    : obj_(j.is_object() ? &j : nullptr), loc_(std::move(loc)), diags_(diags), what_(std::move(what)) {
  if (!obj_) diags_.error(loc_, what_ + " must be an object, found " + jsonTypeName(j));
}

const json *ObjectReader::get(const std::string &key, bool required) {
  known_.push_back(key);
  if (!obj_) return nullptr;
  auto it = obj_->find(key);
  if (it == obj_->end()) {
    if (required) diags_.error(loc_, "missing required key '" + key + "' in " + what_);
    return nullptr;
  }
  return &*it;
}

bool ObjectReader::has(const std::string &key) const { return obj_ && obj_->contains(key); }

bool checkRange(double v, double min, double max, bool minExclusive, bool maxExclusive,
                const Location &loc, const std::string &name, Diagnostics &diags) {
  bool low = minExclusive ? v <= min : v < min;
  bool high = maxExclusive ? v >= max : v > max;
  if (!low && !high && std::isfinite(v)) return true;
  std::ostringstream os;
  os << name << " must be ";
  // Integral values as integers (2147483648, not 2.14748e+09).
  auto num = [](double x) {
    std::ostringstream s;
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 1e15)
      s << static_cast<int64_t>(x);
    else
      s << x;
    return s.str();
  };
  bool hasMin = min > -1e299, hasMax = max < 1e299;
  // A narrow range is shown whole ("in [0, 1)"); against a wide one, such as
  // [1, 2^31] for sizes, only the side that was crossed ("at least 1").
  if (hasMin && hasMax && max - min > 1e6 && std::isfinite(v)) {
    if (low) hasMax = false;
    else hasMin = false;
  }
  if (hasMin && hasMax) {
    os << "in " << (minExclusive ? "(" : "[") << num(min) << ", " << num(max) << (maxExclusive ? ")" : "]");
  } else if (hasMin) {
    os << (minExclusive ? "greater than " : "at least ") << num(min);
  } else if (hasMax) {
    os << (maxExclusive ? "less than " : "at most ") << num(max);
  } else {
    os << "finite";
  }
  os << ", found " << num(v);
  diags.error(loc, os.str());
  return false;
}

std::optional<int64_t> readInt(const json &j, const Location &loc, const std::string &name, Diagnostics &diags) {
  if (j.is_number_integer()) {
    if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      diags.error(loc, name + " is too large");
      return std::nullopt;
    }
    return j.get<int64_t>();
  }
  diags.error(loc, name + " must be an integer, found " + foundValue(j));
  return std::nullopt;
}

std::optional<double> readNumber(const json &j, const Location &loc, const std::string &name, Diagnostics &diags) {
  if (j.is_number()) return j.get<double>();
  diags.error(loc, name + " must be a number, found " + foundValue(j));
  return std::nullopt;
}

std::optional<int64_t> ObjectReader::getInt(const std::string &key, bool required, int64_t min, int64_t max) {
  const json *j = get(key, required);
  if (!j) return std::nullopt;
  auto v = readInt(*j, at(key), "'" + key + "'", diags_);
  if (!v) return std::nullopt;
  if (*v < min || *v > max) {
    checkRange(static_cast<double>(*v), static_cast<double>(min), static_cast<double>(max), false, false,
               at(key), "'" + key + "'", diags_);
    return std::nullopt;
  }
  return v;
}

std::optional<double> ObjectReader::getNumber(const std::string &key, bool required, double min, double max,
                                              bool minExclusive, bool maxExclusive) {
  const json *j = get(key, required);
  if (!j) return std::nullopt;
  auto v = readNumber(*j, at(key), "'" + key + "'", diags_);
  if (!v) return std::nullopt;
  if (!checkRange(*v, min, max, minExclusive, maxExclusive, at(key), "'" + key + "'", diags_)) return std::nullopt;
  return v;
}

std::optional<bool> ObjectReader::getBool(const std::string &key, bool required) {
  const json *j = get(key, required);
  if (!j) return std::nullopt;
  if (!j->is_boolean()) {
    diags_.error(at(key), "'" + key + "' must be true or false, found " + foundValue(*j));
    return std::nullopt;
  }
  return j->get<bool>();
}

std::optional<std::string> ObjectReader::getString(const std::string &key, bool required) {
  const json *j = get(key, required);
  if (!j) return std::nullopt;
  if (!j->is_string()) {
    diags_.error(at(key), "'" + key + "' must be a string, found " + foundValue(*j));
    return std::nullopt;
  }
  return j->get<std::string>();
}

void ObjectReader::finish() {
  if (!obj_ || finished_) return;
  finished_ = true;
  for (auto it = obj_->begin(); it != obj_->end(); ++it) {
    if (std::find(known_.begin(), known_.end(), it.key()) != known_.end()) continue;
    std::string allowed;
    for (size_t i = 0; i < known_.size(); ++i) allowed += (i ? ", " : "") + known_[i];
    diags_.error(at(it.key()), "unknown key '" + it.key() + "' in " + what_ + " (expected one of: " + allowed + ")");
  }
}

}  // namespace nncc
