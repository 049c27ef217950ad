// Lowering of the convolution family, as PyTorch: conv2d (a cross-correlation
// with stride, dilation, padding [t, l, b, r] and groups; depthwise is groups
// = channels) and conv2d_transpose (its adjoint, written as a gather, with
// output_padding only enlarging the output), then the fused activation. The
// zero padding is explicit (padXY): no tap reads its input out of bounds.
#include "compiler/lower/ConvSchedule.h"

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

// Below this reduction length (cin x kh x kw) the channels-innermost tile's
// NCHW stores (one lane at a time) cost more than its FMAs: the first layers
// (cin = 1 or 3) take the direct convolution.
constexpr int kMinChannelsInnermostReduction = 64;

// The channels-innermost convolution (groups = 1, whole vectors of output
// channels): the padded input repacked as pin(ci, xp, yp, n) and the
// weight as pw(f, ci, kx, ky), both channels innermost; a register tile of
// `vectors` x 16 output channels x `cols` output columns accumulates over
// (ci, kx, ky), ci innermost (one weight vector load per channel vector, one
// broadcast per column); the epilogue runs on the tile's registers and writes
// the NCHW output; parallel over (channel block, row, batch).
Func convChannelsInnermost(const OpArgs &a, const ConvGeom &c, const MachineShape &m) {
  using Halide::TailStrategy;
  using Halide::Var;
  Dims d = dimsOf(a.outShape);
  Var x = d.vars[0], y = d.vars[1], f = d.vars[2], n = d.vars[3];
  const int width = d.extents[0], lanes = m.lanes;
  ConvTile t = chooseConvTile(m, c.cout, width);
  Func padded = padXY(a.in(), 0.f, a.name("padded"));
  Var ci("ci"), xp("xp"), yp("yp"), kx("kx"), ky("ky");
  Func pin(a.name("packed_in"));
  pin(ci, xp, yp, n) = padded(xp - c.pl, yp - c.pt, ci, n);
  const Halide::ImageParam &w = a.param(ParamRole::Weight);  // (kx, ky, ci, f)
  // The weight in blocks of `block` output channels, each block one
  // contiguous stream in the order the tile reads it (ci, kx, ky).
  const int block = t.vectors * lanes;
  Var fb("fb");
  Func pw(a.name("packed_w"));
  pw(f, ci, kx, ky, fb) = w(kx, ky, ci, fb * block + f);
  Halide::RDom r({{0, c.cin}, {0, c.kw}, {0, c.kh}}, a.name("r"));
  Func acc(a.name("acc"));
  acc(x, y, f, n) = initialValue(a, f);
  acc(x, y, f, n) += pw(f % block, r.x, r.y, r.z, f / block) * pin(r.x, x * c.sw + r.y * c.dw, y * c.sh + r.z * c.dh, n);
  Func raw(preActivationName(a));
  raw(x, y, f, n) = acc(x, y, f, n);

  // The repacks: channel vectors when there are enough channels, else
  // vectors of columns.
  const int padW = (width - 1) * c.sw + (c.kw - 1) * c.dw + 1;
  pin.compute_root();
  if (c.cin >= lanes) {
    pin.vectorize(ci, lanes, TailStrategy::ShiftInwards);
  } else {
    int v = vectorFactor(a.opts, padW);
    if (v > 1) {
      Var xo("xpo"), xi("xpi");
      pin.split(xp, xo, xi, v, TailStrategy::ShiftInwards).reorder(xi, ci, xo, yp, n).vectorize(xi);
    }
  }
  Var pyn("pyn");
  pin.fuse(yp, n, pyn).parallel(pyn);
  pw.compute_root().bound(f, 0, block).vectorize(f, lanes).unroll(f).reorder(f, kx, ky, ci, fb).parallel(fb);

  return scheduledEpilogue(a, raw, [&](Func out) {
    std::vector<Var> v = out.args();
    Var ox = v[0], oy = v[1], of = v[2], on = v[3];
    Var fo("fo"), fi("fi"), xo("xo"), xi("xi"), rows("rows"), task("task");
    out.compute_root()
        .split(of, fo, fi, block, TailStrategy::RoundUp)  // block divides cout
        .split(ox, xo, xi, t.cols, TailStrategy::ShiftInwards)
        .reorder(fi, xi, xo, oy, on, fo)
        .vectorize(fi, lanes)
        .unroll(fi)
        .unroll(xi)
        .fuse(on, fo, task)
        .parallel(task);
    acc.compute_at(out, xo)
        .bound_extent(f, t.vectors * lanes)
        .bound_extent(x, t.cols)
        .bound_extent(y, 1)
        .bound_extent(n, 1)
        .reorder_storage(f, x, y, n)
        .reorder(f, x, y, n)
        .vectorize(f, lanes)
        .unroll(f)
        .unroll(x);
    acc.update().reorder(f, x, r.x, r.y, r.z, y, n).vectorize(f, lanes).unroll(f).unroll(x);
  });
}

// The direct convolution on NCHW (any groups, few output channels, narrow
// rows): the padded input copied once (no select in the taps), a register
// tile of `xvecs` vectors of columns x `filters` output channels, the
// weights broadcast, the epilogue on the tile; parallel over (filter block,
// row, batch).
Func convDirect(const OpArgs &a, const ConvGeom &c, const MachineShape &m) {
  using Halide::TailStrategy;
  using Halide::Var;
  Dims d = dimsOf(a.outShape);
  Var x = d.vars[0], y = d.vars[1], f = d.vars[2], n = d.vars[3];
  const int width = d.extents[0];
  DirectTile t = chooseDirectTile(m, c.cout, width);
  Func padded = padXY(a.in(), 0.f, a.name("padded"));
  Var xp("xp"), yp("yp"), ci("ci");
  Func pin(a.name("padded_in"));
  pin(xp, yp, ci, n) = padded(xp - c.pl, yp - c.pt, ci, n);
  const Halide::ImageParam &w = a.param(ParamRole::Weight);  // (kx, ky, ci, f)
  Halide::RDom r({{0, c.kw}, {0, c.kh}, {0, c.cinPerGroup}}, a.name("r"));
  Expr channel = c.groups == 1 ? Expr(r.z) : (f / c.coutPerGroup) * c.cinPerGroup + r.z;
  Func acc(a.name("acc"));
  acc(x, y, f, n) = initialValue(a, f);
  acc(x, y, f, n) += w(r.x, r.y, r.z, f) * pin(x * c.sw + r.x * c.dw, y * c.sh + r.y * c.dh, channel, n);
  Func raw(preActivationName(a));
  raw(x, y, f, n) = acc(x, y, f, n);

  const int padW = (width - 1) * c.sw + (c.kw - 1) * c.dw + 1;
  pin.compute_root();
  int pv = vectorFactor(a.opts, padW);
  if (pv > 1) pin.vectorize(xp, pv, TailStrategy::ShiftInwards);
  Var pcn("pcn");
  pin.fuse(ci, n, pcn).parallel(pcn);

  const int cols = t.vec > 1 ? t.vec * t.xvecs : width;
  return scheduledEpilogue(a, raw, [&](Func out) {
    std::vector<Var> v = out.args();
    Var ox = v[0], oy = v[1], of = v[2], on = v[3];
    Var fo("fo"), fi("fi"), xo("xo"), xi("xi"), rows("rows"), task("task");
    out.compute_root()
        .split(of, fo, fi, t.filters, TailStrategy::ShiftInwards)
        .split(ox, xo, xi, cols, TailStrategy::ShiftInwards)
        .reorder(xi, fi, xo, fo, oy, on);
    if (t.vec > 1) out.vectorize(xi, t.vec);
    out.unroll(xi).unroll(fi).fuse(fo, oy, rows).fuse(rows, on, task).parallel(task);
    acc.compute_at(out, xo)
        .bound_extent(f, t.filters)
        .bound_extent(x, cols)
        .bound_extent(y, 1)
        .bound_extent(n, 1)
        .reorder(x, f, y, n);
    acc.update().reorder(x, f, r.x, r.y, r.z, y, n);
    if (t.vec > 1) {
      acc.vectorize(x, t.vec);
      acc.update().vectorize(x, t.vec);
    }
    acc.unroll(x).unroll(f);
    acc.update().unroll(x).unroll(f);
  });
}

}  // namespace

// out(x, y, f, n) = bias(f) + sum over (kx, ky, ci) of
//   w(kx, ky, ci, f) * in(x*sw - pl + kx*dw, y*sh - pt + ky*dh, group(f)*Cg + ci, n),
// the input being zero outside.
Func lowerConv2D(const OpArgs &a) {
  ConvGeom c(a);
  if (a.opts.schedule && a.opts.vectorize && !scheduleOverrides().baseline) {
    MachineShape m = machineShape(a.opts);
    bool deep = c.cin * c.kh * c.kw >= kMinChannelsInnermostReduction;
    if (c.groups == 1 && m.lanes > 1 && c.cout % m.lanes == 0 && deep && !scheduleOverrides().forceDirect)
      return convChannelsInnermost(a, c, m);
    return convDirect(a, c, m);
  }
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
