// The seeded initializers of the model format (glorot/he uniform and normal,
// truncated normal, normal, uniform, zeros, ones) with PyTorch's fans: the
// initial value of every parameter that no weights file provides.
#pragma once
#include "compiler/ir/Graph.h"
#include "compiler/weights/Tensor.h"

#include <cstdint>
#include <vector>

namespace nncc {

// The numElements(p.shape) initial values of `p` (row-major) under a model
// seed, by p.init and p.fanIn / p.fanOut (a fan <= 0 counts as 1):
//   glorot_uniform   U(-a, a), a = sqrt(6 / (fan_in + fan_out))
//   glorot_normal    N(0, std^2), std = sqrt(2 / (fan_in + fan_out))
//   he_uniform       U(-a, a), a = sqrt(6 / fan_in)
//   he_normal        N(0, std^2), std = sqrt(2 / fan_in)
//   truncated_normal mean + stddev z, z standard normal redrawn while |z| > 2
//   normal           N(mean, stddev^2)
//   uniform          U(low, high)
//   zeros, ones      constants
// Values are computed in double and rounded to float once. They depend only on
// (seed, p.name, p.shape, p.init, fans) and are bit-identical everywhere
// (see Random.h).
std::vector<float> initializeParam(const Param &p, uint64_t seed);

// Every parameter of the graph, by name, under g.seed.
TensorMap initializeAll(const Graph &g);

}  // namespace nncc
