// Dropout in training (see compiler/ir/DropoutMask.h, the definition this
// computes): the keep mask as a hash of (seed, step, layer, element index) in
// 32-bit unsigned arithmetic, scaled by 1/(1-rate). The forward multiplies x
// by it and the input gradient multiplies dy by the same values, recomputed
// rather than stored.
#include "compiler/ir/DropoutMask.h"
#include "compiler/lower/Gradients.h"

namespace nncc {
namespace lower {

using Halide::Expr;

namespace {

Expr u32(uint32_t c) { return Halide::cast<uint32_t>(Expr(static_cast<uint64_t>(c))); }

Expr mix(Expr h) {
  h = h ^ (h >> 16);
  h = h * u32(0x7feb352du);
  h = h ^ (h >> 15);
  h = h * u32(0x846ca68bu);
  return h ^ (h >> 16);
}

}  // namespace

Halide::Func dropoutScale(const Op &op, const Shape &shape, const DropoutScalars &s, Namer &namer) {
  Dims d = dimsOf(shape);
  // The flat index in [N, ...]: batch outermost, Halide's dim 0 innermost.
  Expr index = d.vars.back();
  for (size_t k = d.size() - 1; k-- > 0;) index = index * d.extents[k] + d.vars[k];
  Expr h = Halide::cast<uint32_t>(index) * u32(0x9e3779b1u) + u32(dropoutSalt(op.name) * 0x85ebca77u);
  h = mix(h ^ s.seedLo);
  h = mix(h ^ (s.seedHi + s.step * u32(0xc2b2ae3du)));
  double rate = op.floatAttr("rate");
  Halide::Func scale(namer.unique(op.name + "_mask"));
  scale(d.vars) = Halide::select((h >> 8) >= u32(dropoutThreshold(rate)), f32(1.0 / (1.0 - rate)), 0.f);
  return scale;
}

}  // namespace lower
}  // namespace nncc
