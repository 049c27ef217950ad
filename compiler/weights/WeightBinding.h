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

// Whether `name` is the optimizer state of a parameter of `g` in a training
// checkpoint ("fc.weight.exp_avg", torch.optim's state names): such tensors
// are accepted and ignored when a checkpoint is used as weights.
bool isOptimizerState(const Graph &g, const std::string &name);

// Reads the safetensors file `pathOrEmpty` and binds it; with an empty path,
// initializes every parameter from the model's seed.
// With `strict`, a NaN or infinite value in the file is an error (see
// checkFiniteWeights), else a warning.
bool loadWeightsForGraph(const Graph &g, const std::string &pathOrEmpty, bool partial, TensorMap &out,
                         Diagnostics &diags, bool strict = false);

// One line per tensor of `file` holding NaN or infinite values, a warning or,
// with `strict`, an error:
//   FILE: T: warning: 3 of 12 values are not finite (the first, at index 5, is nan)
// Returns false when it reported an error.
bool checkFiniteWeights(const TensorMap &file, const std::string &fileName, bool strict, Diagnostics &diags);

// The bytes a model needs in the worst case: every parameter (float32) plus
// every activation (each value of the graph, inputs included, at max_batch,
// with no buffer reuse). Computed exactly, saturating at UINT64_MAX.
struct MemoryNeed {
  uint64_t params = 0, activations = 0, total = 0;
  bool saturated = false;  // the true total is beyond 2^64-1 bytes
};
MemoryNeed memoryNeeded(const Graph &g);

// Reports, before anything is allocated, a model that needs more than
// `limit` bytes (nncc --max-memory):
//   FILE: the model needs N bytes (P of parameters + A of activations at max_batch B),
//   more than the limit of L bytes; raise --max-memory or lower --max-batch
bool checkMemoryLimit(const Graph &g, uint64_t limit, Diagnostics &diags);

}  // namespace nncc
