// The fused epilogue in the reference interpreter (see Kernels.h): the same
// arithmetic as the batchnorm and add layers and the activation, applied in
// place to an op's result, so a fused network computes bit for bit what the
// unfused one does.
#include "compiler/reference/Activation.h"
#include "compiler/reference/Kernels.h"

namespace nncc {
namespace reference {

bool applyFusedEpilogue(const KernelArgs &a, std::string &error) {
  if (a.op.fused.batchnorm && !batchNormInference(a, a.out, a.out, error)) return false;
  if (a.op.fused.residual) {
    const TensorF32 &r = *a.inputs.back();
    if (r.shape != a.out.shape) {
      error = "the fused residual operand " + shapeStr(r.shape) + " differs from the output " + shapeStr(a.out.shape);
      return false;
    }
    for (size_t i = 0; i < a.out.data.size(); ++i) {
      double sum = 0.0;  // as runAdd
      sum += a.out.data[i];
      sum += r.data[i];
      a.out.data[i] = static_cast<float>(sum);
    }
  }
  return applyFusedActivation(a.op, a.out, error);
}

}  // namespace reference
}  // namespace nncc
