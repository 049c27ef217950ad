// Loading a JSON document strictly: syntax errors with line and column,
// duplicate object keys and trailing garbage are all errors.
#pragma once
#include "compiler/ir/Diagnostics.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace nncc {

// Parses `text`; `file` is only used in messages. On failure reports to diags
// and returns nullopt.
std::optional<nlohmann::json> parseJsonStrict(const std::string &text, const std::string &file,
                                              Diagnostics &diags);

// Reads and parses a file ("cannot open" is reported too).
std::optional<nlohmann::json> loadJsonFile(const std::string &path, Diagnostics &diags);

}  // namespace nncc
