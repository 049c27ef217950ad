// Binding a weights file to a graph's parameters (model-format.md,
// "Parameters and weights files"): every parameter present with its exact
// shape, no tensor that matches no parameter; with `partial`, missing
// parameters are initialized instead (fine-tuning). Every problem is reported
// in one run, as "FILE: TENSOR: message".
#pragma once
#include "compiler/ir/Diagnostics.h"
#include "compiler/ir/Graph.h"
#include "compiler/weights/Tensor.h"

#include <string>

namespace nncc {

// Puts the value of every parameter of `g` into `out`, taken from `file` (the
// tensors of the weights file `fileName`, named in messages). Errors:
//   FILE: P: missing: the model has a parameter of shape [3] with this name (use --partial-weights ...)
//   FILE: P: shape [2, 3] does not match the parameter's [3, 2]
//   FILE: P: the tensor holds 5 values, but its shape [2, 3] needs 6
//   FILE: T: the model has no parameter with this name
// With `partial`, a missing parameter is initialized (initializeParam) instead.
bool bindWeights(const Graph &g, const TensorMap &file, const std::string &fileName, bool partial, TensorMap &out,
                 Diagnostics &diags);

// Reads the safetensors file `pathOrEmpty` and binds it; with an empty path,
// initializes every parameter from the model's seed.
bool loadWeightsForGraph(const Graph &g, const std::string &pathOrEmpty, bool partial, TensorMap &out,
                         Diagnostics &diags);

}  // namespace nncc
