// The C++ source form of a compiled model (-o model.cpp): Halide's C++
// backend output of the kernels, the model runtime (amalgamated, embedded in
// nncc), the shim of the Halide runtime's error reporters, and the
// descriptor and entry points written as C++ from the same ModelDescription
// the object emitter encodes. Every function but the entry points is renamed
// with the model's prefix, so two models' sources link into one program.
#pragma once
#include "compiler/emit/ModelDescription.h"
#include "compiler/weights/Tensor.h"

#include <string>
#include <vector>

namespace nncc {

// `halideSource`: the kernels as Halide's C++ backend wrote them;
// `runtimeFunctions`: the external functions the model runtime defines (to
// be renamed).
std::string writeModelSource(const Graph &g, const TensorMap &params, const ModelDescription &desc,
                             const std::string &halideSource, const std::vector<std::string> &runtimeFunctions);

}  // namespace nncc
