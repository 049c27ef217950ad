// The fused epilogue of dense and the convolutions (docs/passes.md): what
// fold-batchnorm and fuse-residual-add moved into the op, then its fused
// activation, all applied to the op's raw result as it is written, with the
// same arithmetic as the standalone layers' lowerings.
#include "compiler/lower/LowerOps.h"

namespace nncc {
namespace lower {

Halide::Func applyFusedActivation(const OpArgs &a, Halide::Func producer, Halide::Func *residual) {
  const Attr &attr = a.op.attr("activation");
  const Op::Epilogue &fused = a.op.fused;
  if (fused.batchnorm || fused.residual) {
    Dims d = dimsOf(a.outShape);
    Halide::Expr v = producer(d.exprs());
    if (fused.batchnorm) {
      Halide::Var c = d.vars[halideDim(a.outShape.size(), 0)];
      Halide::Func scale = batchNormScale(a, fused.batchnormEpsilon);
      if (a.opts.schedule) scale.compute_root();
      v = (v - a.param(ParamRole::RunningMean)(c)) * scale(c) + a.param(ParamRole::BNBias)(c);
    }
    if (fused.residual) {
      if (a.inputs.size() < 2 || a.inputs.back()->shape != a.outShape)
        throw LoweringError(a.op.name + ": the fused residual operand is missing or of another shape");
      Halide::Func r(a.name("residual"));  // inlined unless a schedule places it
      r(d.vars) = a.inputs.back()->f(d.exprs());
      if (residual) *residual = r;
      v = v + r(d.exprs());
    }
    Halide::Func e(attr.hasActivation ? a.name("epilogue") : a.name());
    e(d.vars) = v;
    if (!attr.hasActivation) {
      schedulePointwise(e, d, a.opts);
      return e;
    }
    producer = e;  // inlined into the activation
  }
  if (!attr.hasActivation) return producer;
  return activate(attr.act, LValue{producer, a.outShape}, a.namer, a.name(), a.opts);
}

}  // namespace lower
}  // namespace nncc
