// Reference kernel of dense (PyTorch's Linear): y = W x + b with W [units, F],
// then the fused activation.
#include "compiler/reference/Activation.h"
#include "compiler/reference/Indexing.h"
#include "compiler/reference/Kernels.h"

namespace nncc {
namespace reference {

bool runDense(const KernelArgs &a, std::string &error) {
  const TensorF32 &x = a.in();
  const TensorF32 *w = a.param(ParamRole::Weight);
  const TensorF32 *b = a.param(ParamRole::Bias);
  int64_t n = a.batch, f = x.shape.size() == 2 ? x.shape[1] : -1;
  int64_t units = a.out.shape.size() == 2 ? a.out.shape[1] : -1;
  if (f < 0 || units < 0 || !w || w->shape != Shape{units, f} || (b && b->shape != Shape{units})) {
    error = "dense arguments do not match: input " + shapeStr(x.shape) + ", output " + shapeStr(a.out.shape);
    return false;
  }
  for (int64_t s = 0; s < n; ++s) {
    for (int64_t u = 0; u < units; ++u) {
      double acc = 0.0;
      for (int64_t i = 0; i < f; ++i) acc += double(w->data[u * f + i]) * double(x.data[s * f + i]);
      if (b) acc += b->data[u];
      a.out.data[s * units + u] = static_cast<float>(acc);
    }
  }
  return applyFusedEpilogue(a, error);
}

}  // namespace reference
}  // namespace nncc
