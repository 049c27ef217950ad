// The seeded initializers of the model format (glorot/he uniform and normal,
// truncated normal, normal, uniform, zeros, ones), with PyTorch's fans.
#pragma once
#include "compiler/ir/Graph.h"
#include "compiler/weights/Tensor.h"

namespace nncc {

// The initial values of one parameter under a model seed.
TensorF32 initializeParam(const Param &p, uint64_t seed);

// Every parameter of the graph, by name.
TensorMap initializeAll(const Graph &g);

}  // namespace nncc
