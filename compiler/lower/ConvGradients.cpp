// Gradient rules of conv2d and conv2d_transpose (see Gradients.h), with stride, dilation, padding
// and groups. The input gradient is the transposed convolution of the output
// gradient with the same weights: input pixel ix takes tap kx from output
// ox = (ix + pl - kx*dw) / sw when that divides exactly and lies inside the
// output. Scheduled, it runs as a forward convolution on the kernels of
// ConvKernel.h; unscheduled, as a gather. The weight gradient correlates the
// output gradient with the zero-padded input over the batch and the output
// pixels; the bias gradient sums the output gradient.
#include "compiler/lower/ConvKernel.h"
#include "compiler/lower/Gradients.h"

#include <algorithm>

namespace nncc {
namespace lower {

using Halide::Expr;
using Halide::Func;

namespace {

// The weight gradient reduces in chunks of samples with at least this many
// output pixels in all (each register tile then runs that many steps between
// its stores) when the partial sums (filters x channels x taps x chunks at
// max_batch) are at most kMaxPartialFloats.
constexpr int kMinChunkPixels = 256;
constexpr int64_t kMaxPartialFloats = int64_t(16) << 20;

struct ConvShape {
  int kh, kw, sh, sw, dh, dw, pt, pl, groups, cin, cout, cinPerGroup, coutPerGroup, oh, ow;
  explicit ConvShape(const GradArgs &a) {
    const auto &k = a.op.intsAttr("kernel");
    const auto &s = a.op.intsAttr("stride");
    const auto &dl = a.op.intsAttr("dilation");
    const auto &p = a.op.intsAttr("padding");
    kh = int(k[0]), kw = int(k[1]), sh = int(s[0]), sw = int(s[1]), dh = int(dl[0]), dw = int(dl[1]);
    pt = int(p[0]), pl = int(p[1]);
    groups = int(a.op.intAttr("groups"));
    cin = int(a.inputs[0].shape[0]), cout = int(a.y.shape[0]);
    cinPerGroup = cin / groups, coutPerGroup = cout / groups;
    oh = int(a.y.shape[1]), ow = int(a.y.shape[2]);
  }
};

// The bias gradient of both convolutions: the output gradient summed over
// the batch and the output pixels, per filter.
Func convBiasGradient(const GradArgs &a, const ConvShape &c, const LValue &dz) {
  Halide::RDom r({{0, c.ow}, {0, c.oh}, {0, a.batch}}, a.name("r"));
  Halide::Var f("f");
  Func db(a.name("dbias"));
  db(f) = 0.f;
  db(f) += dz.f(r.x, r.y, f, r.z);
  db.compute_root();
  db.update().parallel(f);
  return db;
}

// The weight gradient as a GEMM over (filters x input channels) for each tap,
// reducing over (batch, output pixels): the output gradient and the padded
// input are first transposed to channels-innermost, then each tile of
// up to 4v filters x 6 input channels accumulates in registers (filters
// vectorized, channels unrolled): one vector load and kBlock broadcasts feed
// kBlock FMAs. groups == 1 only. The batch is reduced in chunks of `chunk`
// samples (at least kMinChunkPixels output pixels): tasks (tap, channel
// block, chunk), parallel, one partial sum per chunk, then the partial sums
// added over the chunks. A chunk's output gradient and input stay in L2
// across the taps and channel blocks instead of the whole batch's streaming
// from memory for each task. The last chunk of a batch that is not a
// multiple of `chunk` is padded with zero output gradients (at most chunk-1
// samples of extra work); one chunk of the whole batch when the partial sums
// would be too big.
Func conv2dWeightGradientGemm(const GradArgs &a, const ConvShape &c, const LValue &dz, Func padded, const Param &p,
                              int v) {
  Halide::Var kx("kx"), ky("ky"), cg("cg"), f("f"), x("x"), y("y"), n("n"), b("b");
  const int pixels = c.ow * c.oh;
  const int chunk = std::max(1, std::min(kMinChunkPixels / pixels, 64));
  const int64_t chunks = (a.g.maxBatch + chunk - 1) / chunk;
  const bool chunked = chunk < a.g.maxBatch && int64_t(c.cout) * c.cinPerGroup * c.kh * c.kw * chunks <= kMaxPartialFloats;
  Expr batch = a.batch, per = Halide::min(chunk, batch);  // samples per chunk at this batch
  Halide::RDom r({{0, c.ow}, {0, c.oh}, {0, chunked ? per : batch}}, a.name("r"));
  Expr sample = chunked ? b * per + r.z : Expr(r.z);
  std::vector<Halide::Var> at = {f, cg, kx, ky};
  if (chunked) at.push_back(b);
  Func dzT(a.name("dout_t")), xT(a.name("input_t")), acc(a.name("dweight_acc")), dw(a.name("dweight"));
  Expr last = batch - 1;
  dzT(f, x, y, n) = Halide::select(n <= last, dz.f(x, y, f, Halide::min(n, last)), 0.f);
  xT(cg, x, y, n) = padded(x, y, cg, Halide::min(n, last));
  acc(at) = 0.f;
  acc(at) += dzT(f, r.x, r.y, sample) * xT(cg, r.x * c.sw - c.pl + kx * c.dw, r.y * c.sh - c.pt + ky * c.dh, sample);
  // The Func whose loops hold the register tile: the weight gradient, or the
  // partial sums of the chunks.
  Func tiled = chunked ? Func(a.name("dweight_part")) : dw;
  Func total(a.name("dweight_sum"));
  Halide::RDom rb({{0, (batch + per - 1) / per}}, a.name("rb"));
  if (chunked) {
    tiled(at) = acc(at);
    total(f, cg, kx, ky) = 0.f;
    total(f, cg, kx, ky) += tiled(f, cg, kx, ky, rb);
  }
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  dw(kx, ky, cg, f) = (chunked ? total : acc)(f, cg, kx, ky) + regularizationGradient(a, p, w(kx, ky, cg, f));

  // Up to 4 vectors of filters x 6 channels: 24 accumulators of the 32
  // vector registers, each output-gradient load feeding 6 FMAs.
  const int kBlock = std::min(6, c.cinPerGroup);
  int tile = v;
  while (tile * 2 <= c.cout && tile < 4 * v) tile *= 2;
  Halide::Var fo("fo"), fi("fi"), co("co"), ci("ci"), tap("tap"), task("task");
  // The transpositions of the planar output gradient and input (conv1_2 of
  // vgg_cifar: 40% of its weight gradient with whole-vector gathers, and
  // the input's copy not vectorized).
  dzT.compute_root().parallel(n);
  scheduleChannelGather(dzT, f, x, c.cout, v);
  xT.compute_root().parallel(n);
  scheduleChannelGather(xT, cg, x, c.cinPerGroup, v);
  // ShiftInwards keeps every tile full (v <= filters, kBlock <= channels), so
  // the accumulator has a constant size and stays in registers.
  tiled.compute_root()
      .split(f, fo, fi, tile, Halide::TailStrategy::ShiftInwards)
      .split(cg, co, ci, kBlock, Halide::TailStrategy::ShiftInwards)
      .reorder(fi, ci, fo, co, kx, ky)
      .fuse(kx, ky, tap)
      .fuse(co, tap, task);
  if (chunked) tiled.fuse(task, b, task);  // chunks outermost: a chunk's tasks run together
  tiled.parallel(task);
  acc.compute_at(tiled, fo).vectorize(f).unroll(cg);
  if (chunked) {
    acc.update().reorder(f, cg, r.x, r.y, r.z, kx, ky, b).vectorize(f).unroll(cg);
    total.compute_root().vectorize(f, v, Halide::TailStrategy::GuardWithIf);
    total.update().reorder(f, rb, cg, kx, ky).vectorize(f, v, Halide::TailStrategy::GuardWithIf).parallel(ky);
  } else {
    acc.update().reorder(f, cg, r.x, r.y, r.z, kx, ky).vectorize(f).unroll(cg);
  }
  unrollReduction(acc.update(), r.x, c.ow);
  // With chunks, the transposition of the sum into the weight's layout:
  // parallel over the filters (serial, it was the largest single-threaded
  // part of vgg_cifar's step).
  if (chunked) dw.compute_root().parallel(f);
  return dw;
}

// Whether the weight gradient has too few values per tap for the GEMM's tile
// (filters x input channels at most 16: LeNet's first conv, 6 x 1, gave the
// GEMM one 4-lane accumulator) and reads the input at stride 1 along x.
bool weightGradientByPixels(const ConvShape &c) {
  return c.groups == 1 && c.sw == 1 && c.cout * c.cinPerGroup <= 16;
}

// The weight gradient of a conv with few filters x channels, vectorized over
// the output columns instead: per tap row ky and input channel, a register
// tile of up to 24 accumulators (a block of filters x the kw taps of the
// row) holds one vector of lanes per (filter, kx) and adds dz(x) * in(x + kx)
// for x in vectors of columns, rows and samples; the lanes are summed at the
// end. The output gradient and the padded input are first copied whole,
// rows of columns padded to whole vectors (the columns past the row's end
// have a zero output gradient), so the tile's loads are plain vector loads.
Func conv2dWeightGradientPixels(const GradArgs &a, const ConvShape &c, const LValue &dz, Func padded, const Param &p) {
  Halide::Var kx("kx"), ky("ky"), cg("cg"), f("f"), x("x"), y("y"), n("n"), l("l");
  const int lanes = std::max(1, a.opts.target.natural_vector_size(Halide::Float(32)));
  const int xv = (c.ow + lanes - 1) / lanes;  // vectors of columns per row
  Expr last = a.batch - 1;
  Func dzp(a.name("dout_p")), xp(a.name("input_p")), sums(a.name("dweight_lanes")), acc(a.name("dweight_acc"));
  dzp(x, y, f, n) = Halide::select(x < c.ow, dz.f(Halide::min(x, c.ow - 1), y, f, Halide::min(n, last)), 0.f);
  xp(x, y, cg, n) = padded(x - c.pl, y - c.pt, cg, Halide::min(n, last));
  Halide::RDom r({{0, xv}, {0, c.oh}, {0, a.batch}}, a.name("r"));
  acc(l, f, cg, kx, ky) = 0.f;
  acc(l, f, cg, kx, ky) += dzp(r.x * lanes + l, r.y, f, r.z) * xp(r.x * lanes + l + kx * c.dw, r.y * c.sh + ky * c.dh, cg, r.z);
  sums(l, f, cg, kx, ky) = acc(l, f, cg, kx, ky);
  Halide::RDom rl(0, lanes, a.name("rl"));
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  Func dw(a.name("dweight"));
  dw(kx, ky, cg, f) = Halide::sum(sums(rl, f, cg, kx, ky)) + regularizationGradient(a, p, w(kx, ky, cg, f));

  const int block = std::max(1, std::min(c.cout, 24 / std::max(1, c.kw)));
  Halide::Var fo("fo"), fi("fi");
  dzp.compute_root().vectorize(x, lanes).parallel(n);
  xp.compute_root().vectorize(x, lanes, Halide::TailStrategy::GuardWithIf).parallel(n);
  sums.compute_root()
      .bound(l, 0, lanes)
      .bound(kx, 0, c.kw)
      .split(f, fo, fi, block, Halide::TailStrategy::ShiftInwards)
      .reorder(l, fi, kx, fo, cg, ky)
      .vectorize(l)
      .unroll(fi)
      .unroll(kx)
      .parallel(ky);
  acc.compute_at(sums, fo).vectorize(l).unroll(f).unroll(kx);
  acc.update().reorder(l, f, kx, r.x, r.y, r.z).vectorize(l).unroll(f).unroll(kx);
  dw.compute_root().parallel(f);
  return dw;
}

// The input gradient as a forward convolution (ConvKernel.h) of dz. With
// kx' = kw-1 - kx the gather above is, at stride 1,
//   dx(ix, iy, ci) = sum over (kx', ky', f of ci's group) of
//     w(kw-1-kx', kh-1-ky', ci of the group, f) * dz(ix - ((kw-1)*dw - pl) + kx'*dw, ...),
// a convolution with padding (kw-1)*dw - pl and (kh-1)*dh - pt, the same
// dilation and groups, the weights flipped in (kx, ky) and the channels
// swapped: the kernel's weight repack absorbs both. A stride s > 1 spreads dz
// over the stride grid first (dz(ox) at ox*s, zeros between, inside the input
// repack): the taps never test, at the price of s*s times the FMAs (the
// stride phases as separate convolutions would avoid it). The fused
// activation's gradient `dz` is inlined into the input repack.
Func conv2dInputGradientKernel(const GradArgs &a, const ConvShape &c, const LValue &dz) {
  LValue in = dz;
  if (c.sw > 1 || c.sh > 1) {
    Halide::Var x("x"), y("y"), f("f"), n("n");
    Func spread(a.name("dout_spread"));
    spread(x, y, f, n) = Halide::select(x % c.sw == 0 && y % c.sh == 0, dz.f(x / c.sw, y / c.sh, f, n), 0.f);
    in = {spread, Shape{c.cout, (c.oh - 1) * c.sh + 1, (c.ow - 1) * c.sw + 1}};
  }
  ConvGeom g;
  g.kh = c.kh, g.kw = c.kw, g.dh = c.dh, g.dw = c.dw;
  g.pt = (c.kh - 1) * c.dh - c.pt, g.pl = (c.kw - 1) * c.dw - c.pl;
  g.groups = c.groups;
  g.cin = c.cout, g.cout = c.cin, g.cinPerGroup = c.coutPerGroup, g.coutPerGroup = c.cinPerGroup;
  const Halide::ImageParam &w = a.param(ParamRole::Weight);  // (kx, ky, ci of the group, f)
  auto weight = [w, c](Expr kx, Expr ky, Expr fg, Expr ci) {
    Expr f = c.groups == 1 ? fg : (ci / c.cinPerGroup) * c.coutPerGroup + fg;
    Expr cig = c.groups == 1 ? ci : ci % c.cinPerGroup;
    return w(c.kw - 1 - kx, c.kh - 1 - ky, cig, f);
  };
  auto result = [](Func raw, const std::function<void(Func)> &tile) {
    tile(raw);
    return raw;
  };
  ConvProblem p{in,     weight, nullptr, g, a.inputs[0].shape, result, a.name("dinput"),
                [&a](const std::string &s) { return a.name(s); }, a.opts};
  // The planar result of the channels-innermost kernel by rows, as
  // lowerConv2D's: each row computed into a few KB of whole channel
  // vectors, then copied out with vectors of columns, instead of each lane
  // of the tile's stores going to a plane of its own (at 32 x 32 the planes
  // are 4 KB apart and share an L1 set: vgg_cifar's conv1_2 input gradient
  // ran at 29% of the peak, its conv2_2's, 16 x 16, at 56%).
  if (!planarRowsApply(g, a.inputs[0].shape, a.opts)) return lowerConvKernel(p);
  Halide::LoopLevel at;  // the copy's row loop, set once the copy exists
  p.at = at;
  const int block = convChannelBlock(p);
  return copyPlanarRows(lowerConvKernel(p), dimsOf(a.inputs[0].shape), block, g, at, a.opts,
                        a.name("dinput_planar"));
}

}  // namespace

Func conv2dInputGradient(const GradArgs &a) {
  ConvShape c(a);
  if (convKernelsApply(a.opts)) return conv2dInputGradientKernel(a, c, gradThroughFusedActivation(a, true));
  LValue dz = gradThroughFusedActivation(a);
  Dims d = dimsOf(a.inputs[0].shape);
  Halide::Var x = d.vars[0], y = d.vars[1], ci = d.vars[2], n = d.vars[3];
  const Halide::ImageParam &w = a.param(ParamRole::Weight);  // (kx, ky, ci of the group, f)
  Halide::RDom r({{0, c.kw}, {0, c.kh}, {0, c.coutPerGroup}}, a.name("r"));
  Expr f = c.groups == 1 ? Expr(r.z) : (ci / c.cinPerGroup) * c.coutPerGroup + r.z;
  Expr cig = c.groups == 1 ? Expr(ci) : ci % c.cinPerGroup;
  Expr nx = x + c.pl - r.x * c.dw, ny = y + c.pt - r.y * c.dh;
  Expr ox = nx / c.sw, oy = ny / c.sh;
  Expr hit = nx % c.sw == 0 && ny % c.sh == 0 && ox >= 0 && ox < c.ow && oy >= 0 && oy < c.oh;
  Func dx(a.name("dinput"));
  dx(x, y, ci, n) = 0.f;
  dx(x, y, ci, n) += Halide::select(
      hit, w(r.x, r.y, cig, f) * dz.f(Halide::clamp(ox, 0, c.ow - 1), Halide::clamp(oy, 0, c.oh - 1), f, n), 0.f);
  scheduleReduction(dx, d, {r.x, r.y, r.z}, a.opts);
  return dx;
}

Func conv2dParamGradient(const GradArgs &a, const Param &p) {
  ConvShape c(a);
  // The bias sum, the GEMM's transposition and the pixel path's copy read dz
  // once per element: the activation's gradient inlines there; the generic
  // correlation reads it once per tap.
  int v = vectorFactor(a.opts, c.cout);
  bool pixels = a.opts.schedule && a.opts.vectorize && weightGradientByPixels(c);
  bool gemm = a.opts.schedule && c.groups == 1 && v > 1;
  LValue dz = gradThroughFusedActivation(a, p.role == ParamRole::Bias || gemm || pixels);
  if (p.role == ParamRole::Bias) return convBiasGradient(a, c, dz);
  Halide::RDom r({{0, c.ow}, {0, c.oh}, {0, a.batch}}, a.name("r"));
  Halide::Var kx("kx"), ky("ky"), cg("cg"), f("f");
  Func padded = padXY(a.inputs[0], 0.f, a.name("padded"));
  if (pixels) return conv2dWeightGradientPixels(a, c, dz, padded, p);
  if (gemm) return conv2dWeightGradientGemm(a, c, dz, padded, p, v);
  Expr channel = c.groups == 1 ? Expr(cg) : (f / c.coutPerGroup) * c.cinPerGroup + cg;
  Func sum(a.name("dweight_sum")), dw(a.name("dweight"));
  sum(kx, ky, cg, f) = 0.f;
  sum(kx, ky, cg, f) += dz.f(r.x, r.y, f, r.z) *
                        padded(r.x * c.sw - c.pl + kx * c.dw, r.y * c.sh - c.pt + ky * c.dh, channel, r.z);
  Dims d;
  d.vars = {kx, ky, cg, f};
  d.extents = {c.kw, c.kh, c.cinPerGroup, c.cout};
  scheduleReduction(sum, d, {r.x, r.y, r.z}, a.opts);
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  dw(kx, ky, cg, f) = sum(kx, ky, cg, f) + regularizationGradient(a, p, w(kx, ky, cg, f));
  return dw;
}

// conv2d_transpose is conv2d's adjoint, so its input gradient is a plain
// correlation of the zero-padded output gradient with the same weights
// (kx, ky, fo, ci), and its weight gradient correlates the input with it:
//   dx(ix, iy, ci) = sum over (kx, ky, fo) of w(kx, ky, fo, ci) * dy(ix*sw - pl + kx*dw, iy*sh - pt + ky*dh, g*Fg + fo)
//   dw(kx, ky, fo, ci) = sum over (n, ix, iy) of x(ix, iy, ci) * dy(ix*sw - pl + kx*dw, ..., g(ci)*Fg + fo)
Func conv2dTransposeInputGradient(const GradArgs &a) {
  ConvShape c(a);  // cin/cout: the transposed conv's own input and output channels
  LValue dz = gradThroughFusedActivation(a);
  Dims d = dimsOf(a.inputs[0].shape);
  Halide::Var x = d.vars[0], y = d.vars[1], ci = d.vars[2], n = d.vars[3];
  const Halide::ImageParam &w = a.param(ParamRole::Weight);  // (kx, ky, fo, ci)
  Func padded = padXY(dz, 0.f, a.name("dpadded"));
  Halide::RDom r({{0, c.kw}, {0, c.kh}, {0, c.coutPerGroup}}, a.name("r"));
  Expr f = c.groups == 1 ? Expr(r.z) : (ci / c.cinPerGroup) * c.coutPerGroup + r.z;
  Func dx(a.name("dinput"));
  dx(x, y, ci, n) = 0.f;
  dx(x, y, ci, n) += w(r.x, r.y, r.z, ci) * padded(x * c.sw - c.pl + r.x * c.dw, y * c.sh - c.pt + r.y * c.dh, f, n);
  scheduleReduction(dx, d, {r.x, r.y, r.z}, a.opts);
  return dx;
}

Func conv2dTransposeParamGradient(const GradArgs &a, const Param &p) {
  ConvShape c(a);
  LValue dz = gradThroughFusedActivation(a);
  if (p.role == ParamRole::Bias) return convBiasGradient(a, c, dz);
  int ih = static_cast<int>(a.inputs[0].shape[1]), iw = static_cast<int>(a.inputs[0].shape[2]);
  Halide::RDom r({{0, iw}, {0, ih}, {0, a.batch}}, a.name("r"));
  Halide::Var kx("kx"), ky("ky"), fo("fo"), ci("ci");
  Func padded = padXY(dz, 0.f, a.name("dpadded"));
  Expr f = c.groups == 1 ? Expr(fo) : (ci / c.cinPerGroup) * c.coutPerGroup + fo;
  Func sum(a.name("dweight_sum")), dw(a.name("dweight"));
  sum(kx, ky, fo, ci) = 0.f;
  sum(kx, ky, fo, ci) += a.inputs[0].f(r.x, r.y, ci, r.z) *
                         padded(r.x * c.sw - c.pl + kx * c.dw, r.y * c.sh - c.pt + ky * c.dh, f, r.z);
  Dims d;
  d.vars = {kx, ky, fo, ci};
  d.extents = {c.kw, c.kh, c.coutPerGroup, c.cin};
  scheduleReduction(sum, d, {r.x, r.y, r.z}, a.opts);
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  dw(kx, ky, fo, ci) = sum(kx, ky, fo, ci) + regularizationGradient(a, p, w(kx, ky, fo, ci));
  return dw;
}

}  // namespace lower
}  // namespace nncc
