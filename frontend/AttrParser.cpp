// Attribute parsing by schema (see compiler/ir/OpRegistry.cpp for the table).
#include "frontend/AttrParser.h"

namespace nncc {
namespace {

std::string quoted(const std::string &s) { return "'" + s + "'"; }

// The offending value for "found ...": scalars as written in JSON, lists and objects by their type.
std::string foundValue(const json &j) {
  if (j.is_array() || j.is_object()) return jsonTypeName(j);
  std::string s = j.dump();
  return s.size() <= 40 ? s : s.substr(0, 37) + "...";
}

bool inRange(double v, const AttrSchema &s, const Location &loc, const std::string &what, Diagnostics &d) {
  return checkRange(v, s.min, s.max, s.minExclusive, s.maxExclusive, loc, what, d);
}

std::optional<int64_t> intInRange(const json &j, const AttrSchema &s, const Location &loc, Diagnostics &d) {
  auto v = readInt(j, loc, quoted(s.name), d);
  if (!v || !inRange(static_cast<double>(*v), s, loc, quoted(s.name), d)) return std::nullopt;
  return v;
}

// A list of integers of one of the allowed lengths.
std::optional<std::vector<int64_t>> intList(const json &j, const AttrSchema &s, const Location &loc,
                                            std::initializer_list<size_t> lengths, const char *form,
                                            Diagnostics &d) {
  bool lenOk = false;
  if (j.is_array())
    for (size_t n : lengths) lenOk |= j.size() == n;
  if (!lenOk) {
    d.error(loc, quoted(s.name) + " must be " + form + ", found " +
                     (j.is_array() ? "a list of " + std::to_string(j.size()) : foundValue(j)));
    return std::nullopt;
  }
  std::vector<int64_t> v;
  bool ok = true;
  for (size_t i = 0; i < j.size(); ++i) {
    auto e = intInRange(j[i], s, loc.child(i), d);
    ok &= e.has_value();
    v.push_back(e.value_or(0));
  }
  if (!ok) return std::nullopt;
  return v;
}

std::optional<Attr> parsePair(const json &j, const AttrSchema &s, const Location &loc, Diagnostics &d) {
  if (j.is_number_integer()) {
    auto v = intInRange(j, s, loc, d);
    if (!v) return std::nullopt;
    return Attr::makePair(*v, *v);
  }
  auto v = intList(j, s, loc, {2}, "an integer or a list [height, width]", d);
  if (!v) return std::nullopt;
  return Attr::makePair((*v)[0], (*v)[1]);
}

std::optional<Attr> parsePadding(const json &j, const AttrSchema &s, const Location &loc, Diagnostics &d) {
  if (j.is_string()) {
    std::string m = j.get<std::string>();
    if (m == "valid") return Attr::makePadding(0, 0, 0, 0);
    if (m == "same" && s.allowSame) return Attr::makeSame();
    d.error(loc, m == "same" ? "'padding' \"same\" is not allowed here; give explicit padding"
                             : "'padding' must be \"valid\", \"same\", an integer or a list, found \"" + m + "\"");
    return std::nullopt;
  }
  if (j.is_number_integer()) {
    auto v = intInRange(j, s, loc, d);
    if (!v) return std::nullopt;
    return Attr::makePadding(*v, *v, *v, *v);
  }
  auto v = intList(j, s, loc, {2, 4}, "\"valid\", \"same\", an integer, [ph, pw] or [top, left, bottom, right]", d);
  if (!v) return std::nullopt;
  if (v->size() == 2) return Attr::makePadding((*v)[0], (*v)[1], (*v)[0], (*v)[1]);
  return Attr::makePadding((*v)[0], (*v)[1], (*v)[2], (*v)[3]);
}

std::optional<Attr> parseActivation(const json &j, const Location &loc, Diagnostics &d) {
  std::string type;
  const json *obj = nullptr;
  if (j.is_string()) {
    type = j.get<std::string>();
  } else if (j.is_object()) {
    obj = &j;
    auto it = j.find("type");
    if (it == j.end() || !it->is_string()) {
      d.error(loc, "an activation object needs a string 'type'");
      return std::nullopt;
    }
    type = it->get<std::string>();
  } else if (j.is_null()) {
    return Attr::makeNoActivation();
  } else {
    d.error(loc, "'activation' must be a string or an object, found " + foundValue(j));
    return std::nullopt;
  }
  if (type == "none" || type == "linear") return Attr::makeNoActivation();
  auto kind = opKindFromName(type);
  if (!kind || !opInfo(*kind).isActivation) {
    d.error(obj ? loc.child("type") : loc,
            "unknown activation '" + type +
                "' (expected one of: relu, sigmoid, tanh, step, leaky_relu, elu, softmax, log_softmax)");
    return std::nullopt;
  }
  const OpInfo &info = opInfo(*kind);
  AttrMap attrs;
  if (obj) {
    ObjectReader r(*obj, loc, d, "a " + type + " activation");
    r.get("type");
    bool ok = parseAttrs(info, r, attrs);
    r.finish();
    if (!ok) return std::nullopt;
  } else {
    for (const auto &s : info.attrs) attrs[s.name] = s.defaultValue;
  }
  Attr a;
  a.type = AttrType::Activation;
  a.hasActivation = true;
  a.act.kind = *kind;
  if (attrs.count("alpha")) a.act.alpha = attrs["alpha"].f;
  if (attrs.count("axis")) a.act.axis = attrs["axis"].i;
  return a;
}

std::optional<Attr> parseIntListAttr(const json &j, const AttrSchema &s, const Location &loc, Diagnostics &d) {
  if (!j.is_array() || j.empty()) {
    d.error(loc, quoted(s.name) + " must be a non-empty list of integers, found " + jsonTypeName(j));
    return std::nullopt;
  }
  std::vector<int64_t> v;
  int inferred = 0;
  for (size_t i = 0; i < j.size(); ++i) {
    auto e = readInt(j[i], loc.child(i), quoted(s.name) + " entry", d);
    if (!e) return std::nullopt;
    if (*e == -1) {
      if (++inferred > 1) {
        d.error(loc.child(i), quoted(s.name) + " may hold at most one -1");
        return std::nullopt;
      }
    } else if (*e <= 0 || *e > (int64_t(1) << 31)) {
      d.error(loc.child(i), quoted(s.name) + " entries must be in [1, 2147483648] (or one -1), found " +
                                std::to_string(*e));
      return std::nullopt;
    }
    v.push_back(*e);
  }
  return Attr::makeIntList(v);
}

std::optional<Attr> parseFloatList(const json &j, const AttrSchema &s, const Location &loc, Diagnostics &d) {
  std::vector<double> v;
  if (j.is_number()) {
    v.push_back(j.get<double>());
  } else if (j.is_array() && !j.empty()) {
    for (size_t i = 0; i < j.size(); ++i) {
      auto e = readNumber(j[i], loc.child(i), quoted(s.name) + " entry", d);
      if (!e) return std::nullopt;
      v.push_back(*e);
    }
  } else {
    d.error(loc, quoted(s.name) + " must be a number or a non-empty list of numbers, found " + jsonTypeName(j));
    return std::nullopt;
  }
  for (size_t i = 0; i < v.size(); ++i)
    if (!checkRange(v[i], s.min, s.max, s.minExclusive, s.maxExclusive, j.is_array() ? loc.child(i) : loc,
                    quoted(s.name), d))
      return std::nullopt;
  return Attr::makeFloatList(v);
}

std::optional<Attr> parseOne(const json &j, const AttrSchema &s, const Location &loc, Diagnostics &d) {
  switch (s.type) {
    case AttrType::Int: {
      auto v = intInRange(j, s, loc, d);
      if (!v) return std::nullopt;
      return Attr::makeInt(*v);
    }
    case AttrType::Float: {
      auto v = readNumber(j, loc, quoted(s.name), d);
      if (!v || !inRange(*v, s, loc, quoted(s.name), d)) return std::nullopt;
      return Attr::makeFloat(*v);
    }
    case AttrType::Bool:
      if (!j.is_boolean()) {
        d.error(loc, quoted(s.name) + " must be true or false, found " + foundValue(j));
        return std::nullopt;
      }
      return Attr::makeBool(j.get<bool>());
    case AttrType::Pair: return parsePair(j, s, loc, d);
    case AttrType::Padding: return parsePadding(j, s, loc, d);
    case AttrType::Activation: return parseActivation(j, loc, d);
    case AttrType::IntList: return parseIntListAttr(j, s, loc, d);
    case AttrType::FloatList: return parseFloatList(j, s, loc, d);
  }
  return std::nullopt;
}

}  // namespace

bool parseAttrs(const OpInfo &info, ObjectReader &r, AttrMap &out) {
  bool ok = true;
  for (const auto &s : info.attrs) {
    const json *j = r.get(s.name, s.required);
    if (!j) {
      if (s.required) {
        ok = false;
      } else if (s.defaultFrom && out.count(s.defaultFrom)) {
        out[s.name] = out[s.defaultFrom];
      } else {
        out[s.name] = s.defaultValue;
      }
      continue;
    }
    auto a = parseOne(*j, s, r.at(s.name), r.diags());
    if (!a) {
      ok = false;
      continue;
    }
    out[s.name] = *a;
  }
  return ok;
}

std::optional<InitSpec> parseInit(const json &j, const Location &loc, Diagnostics &d) {
  InitSpec spec;
  std::string type;
  if (j.is_string()) {
    type = j.get<std::string>();
  } else if (j.is_object()) {
    auto it = j.find("type");
    if (it == j.end() || !it->is_string()) {
      d.error(loc, "an initializer object needs a string 'type'");
      return std::nullopt;
    }
    type = it->get<std::string>();
  } else {
    d.error(loc, "an initializer must be a string or an object, found " + std::string(jsonTypeName(j)));
    return std::nullopt;
  }
  if (!parseInitKind(type, spec.kind)) {
    d.error(j.is_object() ? loc.child("type") : loc,
            "unknown initializer '" + type +
                "' (expected one of: glorot_uniform, glorot_normal, he_uniform, he_normal, truncated_normal, "
                "normal, uniform, zeros, ones)");
    return std::nullopt;
  }
  if (!j.is_object()) return spec;
  ObjectReader r(j, loc, d, "a " + type + " initializer");
  r.get("type");
  bool ok = true;
  auto num = [&](const char *key, double &field, double min, bool minExclusive) {
    if (auto v = r.getNumber(key, false, min, 1e300, minExclusive)) field = *v;
    else if (r.has(key)) ok = false;
  };
  if (spec.kind == InitKind::Normal || spec.kind == InitKind::TruncatedNormal) {
    num("mean", spec.mean, -1e300, false);
    num("stddev", spec.stddev, 0, true);
  } else if (spec.kind == InitKind::Uniform) {
    num("low", spec.low, -1e300, false);
    num("high", spec.high, -1e300, false);
    if (ok && spec.low >= spec.high) {
      d.error(loc, "uniform initializer needs low < high");
      ok = false;
    }
  }
  size_t before = d.errorCount();
  r.finish();
  if (!ok || d.errorCount() != before) return std::nullopt;
  return spec;
}

}  // namespace nncc
