// The C++ source form of a compiled model (-o model.cpp, docs/codegen.md):
// Halide's C++ backend output of the kernels, the model runtime's C sources
// (embedded in nncc), the shim of the Halide runtime functions the kernels
// call, and the descriptor and entry points written as C++ from the same
// ModelDescription the object emitter encodes as LLVM constants. Everything
// but the entry points has internal linkage (static, or an anonymous
// namespace), so two models' sources link into one program.
#pragma once
#include "compiler/emit/ModelDescription.h"
#include "compiler/weights/Tensor.h"

#include <string>
#include <vector>

namespace Halide {
class Module;
class Pipeline;
}  // namespace Halide

namespace nncc {

// Makes a lowered kernel's schedule one that Halide's C++ backend can print:
// every vectorized loop becomes a serial one (Halide 14's C++ backend rejects
// predicated loads and prints vector shuffles clang++ cannot compile); the
// C++ compiler vectorizes the scalar loops itself. Splits, tiling, unrolling
// and parallel loops stay.
void scheduleForSource(Halide::Pipeline &pipeline);

// The whole model.cpp: `kernels` are the model's kernels (one module each,
// named ModelDescription::kernelName), compiled without the Halide runtime.
std::string writeModelSource(const Graph &g, const TensorMap &params, const ModelDescription &desc,
                             const std::vector<Halide::Module> &kernels);

}  // namespace nncc
