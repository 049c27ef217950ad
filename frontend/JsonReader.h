// ObjectReader: typed, located access to the members of one JSON object.
// Every member read is remembered; finish() reports all others as unknown
// keys, so the format stays strict without a separate list of allowed keys.
#pragma once
#include "compiler/ir/Diagnostics.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace nncc {

using json = nlohmann::json;

// "an integer", "a string", "an object", ... for messages.
const char *jsonTypeName(const json &j);

bool isCIdentifier(const std::string &s);
bool isReservedCName(const std::string &s);  // C/C++ keywords

class ObjectReader {
 public:
  // `what` names the object in messages ("the model", "a conv2d layer").
  ObjectReader(const json &j, Location loc, Diagnostics &diags, std::string what);

  bool isObject() const { return obj_ != nullptr; }
  const Location &loc() const { return loc_; }
  Location at(const std::string &key) const { return loc_.child(key); }
  Diagnostics &diags() { return diags_; }

  // The member, or nullptr when absent (then reports it if required).
  const json *get(const std::string &key, bool required = false);
  bool has(const std::string &key) const;

  std::optional<int64_t> getInt(const std::string &key, bool required, int64_t min, int64_t max);
  std::optional<double> getNumber(const std::string &key, bool required, double min, double max,
                                  bool minExclusive = false, bool maxExclusive = false);
  std::optional<bool> getBool(const std::string &key, bool required);
  std::optional<std::string> getString(const std::string &key, bool required);

  // Reports every member that no get() asked for.
  void finish();

 private:
  const json *obj_;
  Location loc_;
  Diagnostics &diags_;
  std::string what_;
  std::vector<std::string> known_;
  bool finished_ = false;
};

// Checks a number against [min, max] and reports "NAME must be ..." at loc.
bool checkRange(double v, double min, double max, bool minExclusive, bool maxExclusive,
                const Location &loc, const std::string &name, Diagnostics &diags);

// Reads an integer (a JSON integer, or a float with an integral value is refused).
std::optional<int64_t> readInt(const json &j, const Location &loc, const std::string &name, Diagnostics &diags);
std::optional<double> readNumber(const json &j, const Location &loc, const std::string &name, Diagnostics &diags);

}  // namespace nncc
