// The reference interpreter: runs a shape-inferred graph on concrete inputs
// with plain loops and double-precision accumulation, in inference mode
// (dropout is the identity, batchnorm uses its running statistics). It is the
// oracle that every generated kernel is tested against, so it is written for
// obviousness, not speed; the semantics are PyTorch's (model-format.md).
#pragma once
#include "compiler/ir/Graph.h"
#include "compiler/weights/Tensor.h"

#include <string>
#include <vector>

namespace nncc {

// Runs `g` on a batch. `inputs` are in g.inputs order, each of shape
// [N, ...per-sample shape] with the same N >= 1; `params` holds every
// parameter of g.params by name with its exact shape. On success `outputs`
// holds one tensor [N, ...] per entry of g.outputs, in that order. Any
// inconsistency (input count or shapes, a missing or misshapen parameter, a
// graph whose shapes were not inferred) returns false with a one-line
// `error`; nothing is thrown for bad arguments.
// Training mode (`training` non-null): batchnorm normalizes with the batch's
// statistics (biased variance) and dropout drops with the mask of
// compiler/ir/DropoutMask.h for this seed and step; running statistics are
// not updated.
struct TrainingMode {
  uint64_t seed = 0;
  uint32_t step = 0;
};
bool runReference(const Graph &g, const TensorMap &params, const std::vector<TensorF32> &inputs,
                  std::vector<TensorF32> &outputs, std::string &error, const TrainingMode *training = nullptr);

}  // namespace nncc
