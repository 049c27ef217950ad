// The header of a compiled model (generated-api.md, "The header"): macros for
// sizes, the C entry points, and a small RAII class for C++.
#pragma once
#include "compiler/ir/Graph.h"

#include <string>

namespace nncc {

// `training`: declare the training entry points when the model has a
// training section (false with --inference-only). `packedWeightBytes`: the
// prepacked weight copy per instance, known once the model is compiled
// (EmitOptions::packedWeightBytes); negative: not stated (--emit=header).
std::string writeHeader(const Graph &g, bool training = true, int64_t packedWeightBytes = -1);

}  // namespace nncc
