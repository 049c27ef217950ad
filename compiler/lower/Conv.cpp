// Lowering of the convolution family, as PyTorch: conv2d (a cross-correlation
// with stride, dilation, padding [t, l, b, r] and groups; depthwise is groups
// = channels) and conv2d_transpose (its adjoint, written as a gather, with
// output_padding only enlarging the output), then the fused activation. The
// zero padding is explicit (padXY): no tap reads its input out of bounds.
#include "compiler/lower/LowerOps.h"

namespace nncc {
namespace lower {
namespace {

using Halide::Expr;
using Halide::Func;

// The attributes both convolutions share, and the channel counts per group.
struct ConvGeom {
  int kh, kw, sh, sw, dh, dw, pt, pl, groups;
  int cin, cout, cinPerGroup, coutPerGroup;

  explicit ConvGeom(const OpArgs &a) {
    const Op &op = a.op;
    const auto &k = op.intsAttr("kernel");
    const auto &s = op.intsAttr("stride");
    const auto &dl = op.intsAttr("dilation");
    const auto &p = op.intsAttr("padding");  // [t, l, b, r]
    kh = int(k[0]), kw = int(k[1]), sh = int(s[0]), sw = int(s[1]), dh = int(dl[0]), dw = int(dl[1]);
    pt = int(p[0]), pl = int(p[1]);
    groups = int(op.intAttr("groups"));
    if (a.in().shape.size() != 3 || a.outShape.size() != 3)
      throw LoweringError(op.name + ": convolution needs images, got " + shapeStr(a.in().shape));
    cin = int(a.in().shape[0]), cout = a.outExtent(0);
    if (groups < 1 || cin % groups != 0 || cout % groups != 0)
      throw LoweringError(op.name + ": groups " + std::to_string(groups) + " does not divide the channels");
    cinPerGroup = cin / groups, coutPerGroup = cout / groups;
  }
};

// Both convolutions: the reduction over (kx, ky, channel of the group), the
// output width vectorized inside it, (filters x batch) parallel.
void scheduleConv(Func acc, const Dims &d, const Halide::RDom &r, const LowerOptions &opts) {
  scheduleReduction(acc, d, {r.x, r.y, r.z}, opts);
}

Expr initialValue(const OpArgs &a, const Halide::Var &f) {
  return a.hasParam(ParamRole::Bias) ? Expr(a.param(ParamRole::Bias)(f)) : Expr(0.f);
}

}  // namespace

// out(x, y, f, n) = bias(f) + sum over (kx, ky, ci) of
//   w(kx, ky, ci, f) * in(x*sw - pl + kx*dw, y*sh - pt + ky*dh, group(f)*Cg + ci, n),
// the input being zero outside.
Func lowerConv2D(const OpArgs &a) {
  ConvGeom c(a);
  Dims d = dimsOf(a.outShape);
  Halide::Var x = d.vars[0], y = d.vars[1], f = d.vars[2], n = d.vars[3];
  Func padded = padXY(a.in(), 0.f, a.name("padded"));
  const Halide::ImageParam &w = a.param(ParamRole::Weight);  // (kx, ky, ci, f)
  Halide::RDom r({{0, c.kw}, {0, c.kh}, {0, c.cinPerGroup}}, a.name("r"));
  Expr channel = c.groups == 1 ? Expr(r.z) : (f / c.coutPerGroup) * c.cinPerGroup + r.z;
  Expr ix = x * c.sw - c.pl + r.x * c.dw, iy = y * c.sh - c.pt + r.y * c.dh;
  Func acc(preActivationName(a));
  acc(x, y, f, n) = initialValue(a, f);
  acc(x, y, f, n) += w(r.x, r.y, r.z, f) * padded(ix, iy, channel, n);
  scheduleConv(acc, d, r, a.opts);
  return applyFusedActivation(a, acc);
}

// Input pixel (iy, ix) of channel ci reaches output (iy*sh - pt + ky*dh,
// ix*sw - pl + kx*dw) through w(kx, ky, f - group start, ci), the weight
// [C_in, F/g, kh, kw] being (kx, ky, fo, ci). As a gather: output (y, x)
// takes tap (ky, kx) from iy = (y + pt - ky*dh) / sh when that divides
// exactly (Halide's division floors, and the padding is zero below 0).
Func lowerConv2DTranspose(const OpArgs &a) {
  ConvGeom c(a);
  Dims d = dimsOf(a.outShape);
  Halide::Var x = d.vars[0], y = d.vars[1], f = d.vars[2], n = d.vars[3];
  Func padded = padXY(a.in(), 0.f, a.name("padded"));
  const Halide::ImageParam &w = a.param(ParamRole::Weight);  // (kx, ky, fo, ci)
  Halide::RDom r({{0, c.kw}, {0, c.kh}, {0, c.cinPerGroup}}, a.name("r"));
  Expr channel = c.groups == 1 ? Expr(r.z) : (f / c.coutPerGroup) * c.cinPerGroup + r.z;
  Expr fo = c.groups == 1 ? Expr(f) : f % c.coutPerGroup;
  Expr nx = x + c.pl - r.x * c.dw, ny = y + c.pt - r.y * c.dh;
  Expr hit = nx % c.sw == 0 && ny % c.sh == 0;  // used only with a stride > 1
  Expr term = w(r.x, r.y, fo, channel) * padded(nx / c.sw, ny / c.sh, channel, n);
  Func acc(preActivationName(a));
  acc(x, y, f, n) = initialValue(a, f);
  acc(x, y, f, n) += c.sw > 1 || c.sh > 1 ? Halide::select(hit, term, 0.f) : term;
  scheduleConv(acc, d, r, a.opts);
  return applyFusedActivation(a, acc);
}

}  // namespace lower
}  // namespace nncc
