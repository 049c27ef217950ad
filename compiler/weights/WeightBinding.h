// Binding a weights file to a graph's parameters: every parameter present
// with its exact shape, no tensor that matches no parameter. With `partial`,
// missing parameters are initialized instead (fine-tuning).
#pragma once
#include "compiler/ir/Diagnostics.h"
#include "compiler/ir/Graph.h"
#include "compiler/weights/Tensor.h"

namespace nncc {

bool bindWeights(const Graph &g, const TensorMap &file, const std::string &fileName, bool partial, TensorMap &out,
                 Diagnostics &diags);

// Reads `path` and binds it; with an empty path, initializes every parameter
// from the model's seed.
bool loadWeightsForGraph(const Graph &g, const std::string &path, bool partial, TensorMap &out, Diagnostics &diags);

}  // namespace nncc
