// Parsing the `training` section of a model (loss, optimizer, regularization,
// schedule) with every default filled in.
#pragma once
#include "compiler/ir/Graph.h"
#include "frontend/JsonReader.h"

namespace nncc {

// `g` must already have its outputs; losses name them.
std::optional<TrainingConfig> parseTraining(const json &j, const Location &loc, const Graph &g, Diagnostics &diags);

}  // namespace nncc
