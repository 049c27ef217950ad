// Lowering of dense (PyTorch's Linear): y(u, n) = b(u) + sum_i w(i, u) * x(i, n)
// with the weight [units, F] seen as (i, u), then the fused activation.
#include "compiler/lower/LowerOps.h"

namespace nncc {
namespace lower {
namespace {

// The reduction over the input features: units vectorized inside it,
// parallel over the batch.
void scheduleDense(Halide::Func acc, const Dims &d, const Halide::RDom &r, const LowerOptions &opts) {
  scheduleReduction(acc, d, {r.x}, opts);
}

}  // namespace

Halide::Func lowerDense(const OpArgs &a) {
  const LValue &in = a.in();
  if (in.shape.size() != 1 || a.outShape.size() != 1)
    throw LoweringError(a.op.name + ": dense needs a vector input, got " + shapeStr(in.shape));
  int features = static_cast<int>(in.shape[0]);
  Dims d = dimsOf(a.outShape);
  Halide::Var u = d.vars[0], n = d.vars[1];
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  Halide::RDom r({Halide::Range(0, features)}, a.name("r"));
  Halide::Func acc(preActivationName(a));
  acc(u, n) = a.hasParam(ParamRole::Bias) ? Halide::Expr(a.param(ParamRole::Bias)(u)) : Halide::Expr(0.f);
  acc(u, n) += w(r.x, u) * in.f(r.x, n);
  scheduleDense(acc, d, r, a.opts);
  return applyFusedActivation(a, acc);
}

}  // namespace lower
}  // namespace nncc
