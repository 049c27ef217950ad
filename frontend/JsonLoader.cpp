// Strict JSON loading on top of nlohmann/json: the parser callback tracks the
// JSON path of every key so that a duplicate key is reported where it is.
#include "frontend/JsonLoader.h"

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace nncc {
namespace {

using json = nlohmann::json;

// Follows the parser's events to know the JSON path of the current position.
class PathTracker {
 public:
  explicit PathTracker(Diagnostics &diags, const std::string &file) : diags_(diags), file_(file) {}

  bool onEvent(int depth, json::parse_event_t event, json &parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        enterChild();
        frames_.push_back({true, {}, currentPath(), "", 0});
        break;
      case json::parse_event_t::array_start:
        enterChild();
        frames_.push_back({false, {}, currentPath(), "", 0});
        break;
      case json::parse_event_t::key: {
        Frame &f = frames_.back();
        std::string key = parsed.get<std::string>();
        if (!f.keys.insert(key).second) {
          // Inside layers[i]: remember i, so that the report can name the layer.
          bool inLayer = frames_.size() >= 3 && frames_[0].isObject && !frames_[1].isObject && frames_[1].path == "layers";
          duplicates_.push_back({join(f.path, key), key, inLayer ? static_cast<long>(frames_[1].index) : -1L});
        }
        f.pendingKey = key;
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        leaveChild();
        break;
      case json::parse_event_t::value:
        enterChild();
        leaveChild();
        break;
    }
    (void)depth;
    return true;
  }

  // Reports the duplicate keys; `root` (the parsed document, if any) gives the
  // names of the layers they are in (the default name is <type>_<index>).
  void reportDuplicates(const json *root) {
    for (const auto &dup : duplicates_) {
      std::string layer;
      if (dup.layer >= 0 && root && root->is_object() && root->contains("layers") && (*root)["layers"].is_array() &&
          static_cast<size_t>(dup.layer) < (*root)["layers"].size()) {
        const json &l = (*root)["layers"][static_cast<size_t>(dup.layer)];
        if (l.is_object() && l.contains("name") && l["name"].is_string())
          layer = l["name"].get<std::string>();
        else
          layer = (l.is_object() && l.contains("type") && l["type"].is_string() ? l["type"].get<std::string>()
                                                                                   : std::string("layer")) +
                  "_" + std::to_string(dup.layer);
      }
      diags_.error(Location(file_, dup.path, layer), "duplicate key '" + dup.key + "'");
    }
    duplicates_.clear();
  }

 private:
  struct Duplicate {
    std::string path, key;
    long layer;  // index in layers, or -1
  };

  struct Frame {
    bool isObject;
    std::set<std::string> keys;
    std::string path;
    std::string pendingKey;
    size_t index;
  };

  static std::string join(const std::string &base, const std::string &key) {
    return base.empty() ? key : base + "." + key;
  }

  // The path of the value that is starting, relative to the enclosing frame.
  std::string currentPath() const {
    if (frames_.empty()) return "";
    return childPath_;
  }

  void enterChild() {
    if (frames_.empty()) {
      childPath_.clear();
      return;
    }
    const Frame &f = frames_.back();
    childPath_ = f.isObject ? join(f.path, f.pendingKey) : f.path + "[" + std::to_string(f.index) + "]";
  }

  void leaveChild() {
    if (!frames_.empty() && !frames_.back().isObject) ++frames_.back().index;
  }

  Diagnostics &diags_;
  std::string file_;
  std::vector<Frame> frames_;
  std::vector<Duplicate> duplicates_;
 public:
  // The path of the value the parser is reading now (for errors that the
  // parser reports without a position, such as a number overflow).
  std::string pendingValuePath() const {
    if (frames_.empty()) return "";
    const Frame &f = frames_.back();
    return f.isObject ? join(f.path, f.pendingKey) : f.path + "[" + std::to_string(f.index) + "]";
  }

 private:
  std::string childPath_;
};

std::string lineColumn(const std::string &text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

// Nesting deeper than this is refused before parsing: a model needs about 6
// levels, and the parser's path bookkeeping costs memory per level.
constexpr size_t kMaxDepth = 256;

// Scans for brackets outside strings; reports the first place that nests
// deeper than kMaxDepth. Other syntax errors are left to the parser.
bool checkNesting(const std::string &text, const std::string &file, Diagnostics &diags) {
  size_t depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\') ++i;
      else if (c == '"') inString = false;
      continue;
    }
    if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) {
        diags.error(Location(file, lineColumn(text, i)),
                    "invalid JSON: nested more than " + std::to_string(kMaxDepth) +
                        " levels deep (a model file needs only a few levels)");
        return false;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

// "number overflow parsing '1e999'" -> "1e999".
std::string quotedPart(const std::string &what) {
  size_t a = what.find('\'');
  size_t b = what.rfind('\'');
  if (a == std::string::npos || b <= a) return "";
  return what.substr(a + 1, b - a - 1);
}

}  // namespace

std::optional<json> parseJsonStrict(const std::string &text, const std::string &file, Diagnostics &diags) {
  size_t before = diags.errorCount();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    diags.error(Location(file, ""), "the file is empty; expected a JSON object describing the model");
    return std::nullopt;
  }
  if (!checkNesting(text, file, diags)) return std::nullopt;
  PathTracker tracker(diags, file);
  json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json &parsed) {
    return tracker.onEvent(depth, ev, parsed);
  };
  try {
    // allow_exceptions = true, ignore_comments = false: strict JSON; trailing
    // garbage after the document is a parse error in nlohmann's strict mode.
    json j = json::parse(text, cb, true, false);
    tracker.reportDuplicates(&j);
    if (diags.errorCount() != before) return std::nullopt;
    return j;
  } catch (const json::parse_error &e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ...".
    std::string what = e.what();
    size_t colon = what.find(": ", what.find("parse error"));
    std::string msg = colon == std::string::npos ? what : what.substr(colon + 2);
    tracker.reportDuplicates(nullptr);
    // The message quotes the text last read, which may hold bytes that are
    // not UTF-8 (a hostile file): every byte outside printable ASCII is
    // written as \xNN so that the message itself is clean text.
    std::string clean;
    for (unsigned char c : msg) {
      if (c >= 0x20 && c < 0x7f) {
        clean += static_cast<char>(c);
      } else {
        static const char hex[] = "0123456789abcdef";
        clean += "\\x";
        clean += hex[c >> 4];
        clean += hex[c & 15];
      }
    }
    diags.error(Location(file, lineColumn(text, e.byte ? e.byte - 1 : 0)), "invalid JSON: " + clean);
    return std::nullopt;
  } catch (const json::out_of_range &e) {
    // A number literal beyond the range of a double, e.g. 1e999.
    std::string number = quotedPart(e.what());
    tracker.reportDuplicates(nullptr);
    diags.error(Location(file, tracker.pendingValuePath()),
                "invalid JSON: the number " + (number.empty() ? std::string("here") : number) +
                    " is too large (beyond the range of a 64-bit float)");
    return std::nullopt;
  } catch (const json::exception &e) {
    diags.error(Location(file, tracker.pendingValuePath()), std::string("invalid JSON: ") + e.what());
    return std::nullopt;
  }
}

std::optional<json> loadJsonFile(const std::string &path, Diagnostics &diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.error(Location(path, ""), "cannot open the model file");
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parseJsonStrict(ss.str(), path, diags);
}

}  // namespace nncc
