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
        if (!f.keys.insert(key).second)
          diags_.error(Location(file_, join(f.path, key)), "duplicate key '" + key + "'");
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

 private:
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

}  // namespace

std::optional<json> parseJsonStrict(const std::string &text, const std::string &file, Diagnostics &diags) {
  size_t before = diags.errorCount();
  PathTracker tracker(diags, file);
  json::parser_callback_t cb = [&](int depth, json::parse_event_t ev, json &parsed) {
    return tracker.onEvent(depth, ev, parsed);
  };
  try {
    // allow_exceptions = true, ignore_comments = false: strict JSON; trailing
    // garbage after the document is a parse error in nlohmann's strict mode.
    json j = json::parse(text, cb, true, false);
    if (diags.errorCount() != before) return std::nullopt;
    return j;
  } catch (const json::parse_error &e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ...".
    std::string what = e.what();
    size_t colon = what.find(": ", what.find("parse error"));
    std::string msg = colon == std::string::npos ? what : what.substr(colon + 2);
    diags.error(Location(file, lineColumn(text, e.byte ? e.byte - 1 : 0)), "invalid JSON: " + msg);
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
