// Diagnostics: collects every problem found in a model so that one run reports
// all independent errors, each as one line "FILE: <json path> (<layer>): msg".
#pragma once
#include "compiler/ir/Location.h"

#include <iosfwd>
#include <string>
#include <vector>

namespace nncc {

struct Diagnostic {
  enum class Severity { Error, Warning };
  Severity severity;
  Location loc;
  std::string message;
  std::string str() const;  // the one-line rendering
};

class Diagnostics {
 public:
  void error(const Location &loc, std::string message);
  void warning(const Location &loc, std::string message);

  bool hasErrors() const { return errorCount_ > 0; }
  size_t errorCount() const { return errorCount_; }
  const std::vector<Diagnostic> &all() const { return diags_; }

  // Writes every diagnostic, one per line, in the order they were found.
  void print(std::ostream &os) const;

 private:
  std::vector<Diagnostic> diags_;
  size_t errorCount_ = 0;
};

}  // namespace nncc
