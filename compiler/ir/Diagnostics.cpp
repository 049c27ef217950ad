// Location and diagnostic rendering.
#include "compiler/ir/Diagnostics.h"

#include <ostream>

namespace nncc {

Location Location::child(const std::string &key) const {
  return Location(file, jsonPath.empty() ? key : jsonPath + "." + key, layerName);
}

Location Location::child(size_t index) const {
  return Location(file, jsonPath + "[" + std::to_string(index) + "]", layerName);
}

std::string Location::str() const {
  std::string s = file;
  if (!jsonPath.empty()) s += ": " + jsonPath;
  if (!layerName.empty()) s += " (" + layerName + ")";
  return s;
}

std::string Diagnostic::str() const {
  return loc.str() + ": " + (severity == Severity::Warning ? "warning: " : "") + message;
}

void Diagnostics::error(const Location &loc, std::string message) {
  diags_.push_back({Diagnostic::Severity::Error, loc, std::move(message)});
  ++errorCount_;
}

void Diagnostics::warning(const Location &loc, std::string message) {
  diags_.push_back({Diagnostic::Severity::Warning, loc, std::move(message)});
}

void Diagnostics::print(std::ostream &os) const {
  for (const auto &d : diags_) os << d.str() << "\n";
}

}  // namespace nncc
