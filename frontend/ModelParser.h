// The frontend entry point: a model JSON file -> a graph IR with shapes
// inferred and verified. Every problem is reported to `diags` (all of them
// in one run); a graph is returned only when there were none.
#pragma once
#include "compiler/ir/Diagnostics.h"
#include "compiler/ir/Graph.h"

#include <optional>
#include <string>

namespace nncc {

// Parses the JSON document only (structure, attributes, wiring); shapes are
// not yet inferred. `displayName` is the file name used in messages and
// `baseDir` the folder that a relative "weights" path is resolved against.
std::optional<Graph> parseModelJson(const std::string &text, const std::string &displayName,
                                    const std::string &baseDir, Diagnostics &diags);

// Reads `path`, parses it, infers shapes and runs the verifier.
std::optional<Graph> loadModel(const std::string &path, Diagnostics &diags);

}  // namespace nncc
