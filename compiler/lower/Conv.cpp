// Lowering of the convolution family, as PyTorch: conv2d (a cross-correlation
// with stride, dilation, padding [t, l, b, r] and groups; depthwise is groups
// = channels) and conv2d_transpose (its adjoint, written as a gather, with
// output_padding only enlarging the output), then the fused activation. The
// zero padding is explicit (padXY, or the input's stored zero border from
// pad-borders): no tap reads its input out of bounds.
// The scheduled kernels (ConvKernel.h: channels-innermost and direct) take a
// ConvProblem, so that conv2d's data gradient (ConvGradients.cpp) runs on
// the same register tiles.
#include "compiler/ir/FusedPool.h"
#include "compiler/lower/ConvKernel.h"

namespace nncc {
namespace lower {
ConvGeom convGeom(const Op &op, const Shape &in, const Shape &out) {
  const auto &k = op.intsAttr("kernel");
  const auto &s = op.intsAttr("stride");
  const auto &dl = op.intsAttr("dilation");
  const auto &p = op.intsAttr("padding");  // [t, l, b, r]
  ConvGeom c;
  c.kh = int(k[0]), c.kw = int(k[1]), c.sh = int(s[0]), c.sw = int(s[1]), c.dh = int(dl[0]), c.dw = int(dl[1]);
  c.pt = int(p[0]), c.pl = int(p[1]);
  c.groups = int(op.intAttr("groups"));
  if (in.size() != 3 || out.size() != 3)
    throw LoweringError(op.name + ": convolution needs images, got " + shapeStr(in));
  c.cin = int(in[0]), c.cout = int(out[0]);
  if (c.groups < 1 || c.cin % c.groups != 0 || c.cout % c.groups != 0)
    throw LoweringError(op.name + ": groups " + std::to_string(c.groups) + " does not divide the channels");
  c.cinPerGroup = c.cin / c.groups, c.coutPerGroup = c.cout / c.groups;
  c.pooled = op.fused.pool;
  return c;
}

namespace {

using Halide::Expr;
using Halide::Func;

ConvGeom geomOf(const OpArgs &a) { return convGeom(a.op, a.in().shape, a.outShape); }

// Both convolutions: the reduction over (kx, ky, channel of the group), the
// output width vectorized inside it, (filters x batch) parallel.
void scheduleConv(Func acc, const Dims &d, const Halide::RDom &r, const LowerOptions &opts) {
  scheduleReduction(acc, d, {r.x, r.y, r.z}, opts);
}

Expr initialValue(const OpArgs &a, const Halide::Var &f) {
  return a.hasParam(ParamRole::Bias) ? Expr(a.param(ParamRole::Bias)(f)) : Expr(0.f);
}

Expr initialValue(const ConvProblem &p, const Halide::Var &f) { return p.initial ? p.initial(f) : Expr(0.f); }


// The channels-innermost convolution (groups = 1, whole vectors of output
// channels): the padded input repacked as pin(ci, xp, yp, n) and the
// weight as pw(f, ci, kx, ky), both channels innermost; a register tile of
// `vectors` x 16 output channels x `cols` output columns accumulates over
// (ci, kx, ky), ci innermost (one weight vector load per channel vector, one
// broadcast per column); the epilogue runs on the tile's registers and writes
// the NCHW output; parallel over (channel block, row, batch).
Func convChannelsInnermost(const ConvProblem &p, const MachineShape &m) {
  using Halide::TailStrategy;
  using Halide::Var;
  const ConvGeom &c = p.geom;
  Dims d = dimsOf(p.outShape);
  Var x = d.vars[0], y = d.vars[1], f = d.vars[2], n = d.vars[3];
  const int width = d.extents[0], lanes = m.lanes;
  ConvTile t = chooseConvTile(m, c.cout, width, p.opts.choice);
  const int height = int(p.outShape[1]);
  const int padW = (width - 1) * c.sw + (c.kw - 1) * c.dw + 1, padH = (height - 1) * c.sh + (c.kh - 1) * c.dh + 1;
  // The input zero-padded with channels innermost: read in place when it is
  // stored channels-last with a zero border that covers the padding
  // (pad-borders; none needed for an unpadded conv), else a copy. In place,
  // the coordinates are clamped to the stored region: only results outside
  // the output (which a fused padded pool asks for and then ignores) read
  // beyond it.
  const int b = p.in.border;
  const bool inPlace = p.in.channelsLast && c.pl <= b && c.pt <= b && padW - c.pl <= int(p.in.shape[2]) + b &&
                       padH - c.pt <= int(p.in.shape[1]) + b;
  Var ci("ci"), xp("xp"), yp("yp");
  Func pin(p.name("packed_in"));
  if (inPlace)
    pin(ci, xp, yp, n) = p.in.f(Halide::clamp(xp - c.pl, -b, int(p.in.shape[2]) - 1 + b),
                                Halide::clamp(yp - c.pt, -b, int(p.in.shape[1]) - 1 + b), ci, n);
  else pin(ci, xp, yp, n) = padXY(p.in, 0.f, p.name("padded"))(xp - c.pl, yp - c.pt, ci, n);
  // The weight in blocks of `block` output channels (ConvWeightPacking),
  // packed by the caller (prepacked) or here.
  const int block = t.vectors * lanes;
  ConvWeightPacking wp = convWeightPacking(c, p.outShape, m, p.opts.choice);
  Func pw = p.packedWeight.defined() ? Func(p.packedWeight) : wp.define(p.weight, p.name("packed_w"));
  // The reduction over the input channels in chunks (ConvWeightPacking::
  // chunk). At the root the chunks are the outer loop of the block
  // (`chunkLoops`): the tile's accumulators start at 0 per chunk and `total`
  // sums the chunks over the block's rows, so the chunk's weights are read
  // from memory once and from L1 for every other row. A kernel computed in
  // a consumer's row loop has no chunks (convChunkChannels: none with a
  // fused pool; lowerConv2D's planar copy leaves chunked kernels alone).
  const int chunks = wp.chunks(), chunkChannels = wp.chunkChannels();
  const bool chunkLoops = chunks > 1;
  if (chunkLoops && p.at) throw LoweringError(p.name("") + ": a conv reduced in chunks cannot be computed in a consumer's loop");
  Halide::RDom r({{0, chunkChannels}, {0, c.kw}, {0, c.kh}}, p.name("r"));
  Halide::RDom rk(0, chunks, p.name("rk"));
  Var k("k");
  Expr ko = chunkLoops ? Expr(k) : Expr(0);
  Expr ci0 = ko * chunkChannels + r.x;
  Func acc(p.name("acc")), total(p.name("total"));
  std::vector<Var> accArgs{x, y, f, n};
  if (chunkLoops) accArgs.push_back(k);
  acc(accArgs) = chunkLoops ? Expr(0.f) : initialValue(p, f);
  acc(accArgs) += wp.read(pw, f, ko, r.x, r.y, r.z) * pin(ci0, x * c.sw + r.y * c.dw, y * c.sh + r.z * c.dh, n);
  Func raw(p.rawName);
  if (chunkLoops) {
    total(x, y, f, n) = initialValue(p, f);
    total(x, y, f, n) += acc(x, y, f, n, rk);
    raw(x, y, f, n) = total(x, y, f, n);
  } else {
    raw(x, y, f, n) = acc(x, y, f, n);
  }

  // The repacks: channel vectors when there are enough channels, else
  // vectors of columns.
  if (!inPlace) {
    pin.compute_root();
    if (c.cin >= lanes && !p.in.channelsLast) {
      scheduleChannelGather(pin, ci, xp, c.cin, lanes);  // a planar input
    } else if (c.cin >= lanes) {
      pin.vectorize(ci, lanes, TailStrategy::ShiftInwards);
    } else {
      int v = vectorFactor(p.opts, padW);
      if (v > 1) {
        Var xo("xpo"), xi("xpi");
        pin.split(xp, xo, xi, v, TailStrategy::ShiftInwards).reorder(xi, ci, xo, yp, n).vectorize(xi);
      }
    }
    Var pyn("pyn");
    pin.fuse(yp, n, pyn).parallel(pyn);
  }
  if (!p.packedWeight.defined()) wp.schedule(pw.compute_root(), m);

  return p.epilogue(raw, [&](Func out) {
    std::vector<Var> v = out.args();
    Var ox = v[0], oy = v[1], of = v[2], on = v[3];
    Var fo("fo"), fi("fi"), xo("xo"), xi("xi");
    if (p.at) out.compute_at(*p.at);
    else out.compute_root();
    if (p.storeAt) out.store_at(*p.storeAt);
    out.split(of, fo, fi, block, TailStrategy::RoundUp)  // block divides cout
        .split(ox, xo, xi, t.cols, TailStrategy::ShiftInwards)
        .reorder(fi, xi, xo, oy, on, fo)
        .vectorize(fi, lanes)
        .unroll(fi)
        .unroll(xi);
    if (!p.at) {
      // Tasks of (sample, channel block), and of bands of rows when there
      // are few blocks (rowBands); consecutive tasks share a block's
      // weights or a sample's input (convSamplesOuter).
      scheduleRowTasks(out, {fi, xi, xo, oy}, oy, fo, on, c.cout / block, height, convWeightBytes(c));
    } else {
      out.reorder_storage(of, ox, oy, on);  // a few rows of whole channel vectors, read by the consumer
    }
    Halide::LoopLevel tileAt(out, xo);
    if (chunkLoops) {
      // The block's sums, in L1 (rows x width x block floats): per chunk
      // of input channels, every row's tiles; the chunk's weights (chunk x
      // taps x block floats) stay in L1 across the rows.
      Var tf("tf"), tx("tx"), txi("txi"), task("task");  // scheduleRowTasks's parallel loop
      total.compute_at(out, task).bound_extent(f, block).reorder_storage(f, x, y, n).vectorize(f, lanes);
      total.update()
          .split(f, tf, f, block, TailStrategy::RoundUp)
          .split(x, tx, txi, t.cols, TailStrategy::RoundUp)
          .reorder(f, txi, tx, y, n, tf, rk)
          .vectorize(f, lanes)
          .unroll(f)
          .unroll(txi);
      tileAt = Halide::LoopLevel(total, tx);  // its last stage, the update
    }
    acc.compute_at(tileAt)
        .bound_extent(f, t.vectors * lanes)
        .bound_extent(x, t.cols)
        .bound_extent(y, 1)
        .bound_extent(n, 1);
    std::vector<Halide::VarOrRVar> pureOrder{f, x, y, n}, updateOrder{f, x, r.x, r.y, r.z};
    updateOrder.push_back(y), updateOrder.push_back(n);
    if (chunkLoops) {
      acc.bound_extent(k, 1);
      pureOrder.push_back(k), updateOrder.push_back(k);
    }
    acc.reorder_storage(f, x, y, n).reorder(pureOrder).vectorize(f, lanes).unroll(f).unroll(x);
    acc.update().reorder(updateOrder).vectorize(f, lanes).unroll(f).unroll(x);
    unrollReduction(acc.update(), r.x, chunkChannels);
  });
}

// The direct convolution on NCHW (any groups, few output channels, narrow
// rows): the padded input copied once (no select in the taps), a register
// tile of `xvecs` vectors of columns x `filters` output channels, the
// weights broadcast, the epilogue on the tile; parallel over (filter block,
// row, batch).
Func convDirect(const ConvProblem &p, const MachineShape &m) {
  using Halide::TailStrategy;
  using Halide::Var;
  const ConvGeom &c = p.geom;
  Dims d = dimsOf(p.outShape);
  Var x = d.vars[0], y = d.vars[1], f = d.vars[2], n = d.vars[3];
  const int width = d.extents[0];
  DirectTile t = chooseDirectTile(m, c.cout, width);
  Func padded = padXY(p.in, 0.f, p.name("padded"));
  Var xp("xp"), yp("yp"), ci("ci");
  Func pin(p.name("padded_in"));
  pin(xp, yp, ci, n) = padded(xp - c.pl, yp - c.pt, ci, n);
  Halide::RDom r({{0, c.kw}, {0, c.kh}, {0, c.cinPerGroup}}, p.name("r"));
  Expr channel = c.groups == 1 ? Expr(r.z) : (f / c.coutPerGroup) * c.cinPerGroup + r.z;
  Func acc(p.name("acc"));
  acc(x, y, f, n) = initialValue(p, f);
  acc(x, y, f, n) += p.weight(r.x, r.y, r.z, f) * pin(x * c.sw + r.x * c.dw, y * c.sh + r.y * c.dh, channel, n);
  Func raw(p.rawName);
  raw(x, y, f, n) = acc(x, y, f, n);

  const int padW = (width - 1) * c.sw + (c.kw - 1) * c.dw + 1;
  pin.compute_root();
  int pv = vectorFactor(p.opts, padW);
  if (pv > 1) pin.vectorize(xp, pv, TailStrategy::ShiftInwards);
  Var pcn("pcn");
  pin.fuse(ci, n, pcn).parallel(pcn);

  const int cols = t.vec > 1 ? t.vec * t.xvecs : width;
  return p.epilogue(raw, [&](Func out) {
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

Shape ConvWeightPacking::shape() const { return {cout / block * chunks(), taps(), chunkChannels(), block}; }

Func ConvWeightPacking::define(const std::function<Expr(Expr, Expr, Expr, Expr)> &weight, const std::string &name) const {
  Halide::Var f("f"), cc("cc"), tap("tap"), q("q");
  Func packed(name);
  Expr ci = chunks() > 1 ? (q % chunks()) * chunkChannels() + cc : Expr(cc);
  Expr fb = chunks() > 1 ? q / chunks() : Expr(q);
  packed(f, cc, tap, q) =
      winograd ? winogradWeight(weight, tap, ci, fb * block + f) : weight(tap % kw, tap / kw, ci, fb * block + f);
  return packed;
}

Expr ConvWeightPacking::read(const Func &packed, Expr f, Expr ko, Expr ki, Expr kx, Expr ky) const {
  return readTap(packed, f, ki, kx + kw * ky, ko);
}

Expr ConvWeightPacking::readTap(const Func &packed, Expr f, Expr ci, Expr tap, Expr ko) const {
  return packed(f % block, ci, tap, (f / block) * chunks() + ko);
}

void ConvWeightPacking::schedule(Func packed, const MachineShape &m) const {
  std::vector<Halide::Var> v = packed.args();  // f, cc, tap, q
  packed.bound(v[0], 0, block).vectorize(v[0], m.lanes).unroll(v[0]).reorder(v[0], v[2], v[1], v[3]).parallel(v[3]);
}

// The input channels of one chunk, or 0 for no chunks: a layer whose block
// of results is small (at most 8 KB: few output pixels, so the block's
// weights are a long stream used by few tiles) and whose input channels
// split into at least 4 chunks of 16. Not with a fused pool: its row loop
// computes the tile, which then reduces over every chunk itself, so the
// chunks only shorten its inner loops (vgg's conv3_2 with its pool at batch
// 32, 1 thread: 6% faster without, perf shares; batch 1 level).
static int convChunkChannels(const ConvGeom &c, const Shape &outShape, int block) {
  constexpr int kChunk = 16, kMaxBlockBytes = 8 << 10;
  const int64_t pixels = outShape[1] * outShape[2];
  if (c.pooled || c.cin % kChunk != 0 || c.cin < 4 * kChunk || pixels * block * 4 > kMaxBlockBytes) return 0;
  return kChunk;
}

ConvWeightPacking convWeightPacking(const ConvGeom &c, const Shape &outShape, const MachineShape &m,
                                   const ScheduleChoice &choice, bool winograd) {
  ConvWeightPacking wp;
  wp.cin = c.cin, wp.kh = c.kh, wp.kw = c.kw, wp.cout = c.cout, wp.winograd = winograd;
  if (winograd) {
    wp.block = chooseWinogradTile(m, c.cout, int(outShape[2]) / 2).vectors * m.lanes;
    return wp;
  }
  ConvTile t = chooseConvTile(m, c.cout, int(outShape[2]), choice);
  wp.block = t.vectors * m.lanes;
  wp.chunk = convChunkChannels(c, outShape, wp.block);
  return wp;
}

bool convUsesWinograd(const Graph &g, const Op &op, const LowerOptions &opts) {
  if (op.kind != OpKind::Conv2D || !opts.winograd || !convKernelsApply(opts)) return false;
  const Value &in = g.value(op.inputs.at(0)), &out = g.value(op.output);
  if (!in.shapeKnown || !out.shapeKnown) return false;
  const Shape &result = op.fused.pool ? op.fused.poolInput : out.shape;
  // A fused pool's rows must be the tiles' rows: 2 x 2 windows of stride 2,
  // unpadded (the pool's row loop then computes one row of tiles).
  if (op.fused.pool) {
    Op pool = fusedPoolOp(op);
    const std::vector<int64_t> two{2, 2}, none{0, 0, 0, 0};
    if (pool.intsAttr("size") != two || pool.intsAttr("stride") != two || pool.intsAttr("padding") != none) return false;
  }
  // The last row and column of tiles read the input up to row H and column
  // W of the result: inside the input's border (the bottom and right
  // padding may be anything the border covers).
  if (result.size() != 3 || in.shape.size() != 3 || result[1] > in.shape[1] - 1 + in.border ||
      result[2] > in.shape[2] - 1 + in.border)
    return false;
  return winogradApplies(convGeom(op, in.shape, result), result, machineShape(opts).lanes,
                         in.layout == Layout::ChannelsLast, in.border, op.fused.pool || out.layout == Layout::ChannelsLast);
}

bool convKernelsApply(const LowerOptions &opts) {
  return opts.schedule && opts.vectorize && !scheduleOverrides().baseline;
}

bool channelsInnermostApplies(const ConvGeom &c, const MachineShape &m, Layout outLayout) {
  return channelsInnermostApplies(m, c.groups, c.cin, c.cout, c.kh, c.kw, outLayout == Layout::ChannelsLast);
}

int convChannelBlock(const ConvProblem &p) {
  MachineShape m = machineShape(p.opts);
  if (p.winograd) return convWeightPacking(p.geom, p.outShape, m, p.opts.choice, true).block;
  if (!channelsInnermostApplies(p.geom, m, p.outLayout)) return 0;
  return convWeightPacking(p.geom, p.outShape, m, p.opts.choice).block;
}

Func lowerConvKernel(const ConvProblem &p) {
  const ConvGeom &c = p.geom;
  MachineShape m = machineShape(p.opts);
  if (p.winograd) return convWinograd(p, m);
  if (channelsInnermostApplies(c, m, p.outLayout)) return convChannelsInnermost(p, m);
  return convDirect(p, m);
}

// The packing of an op's weight when its forward kernel takes it prepacked:
// a conv2d on the channels-innermost kernel, or a dense layer
// (prepackedDenseWeight, with opts.prepackDenseWeights too), with
// opts.prepackConvWeights.
std::optional<ConvWeightPacking> prepackedConvWeight(const Graph &g, const Op &op, const LowerOptions &opts) {
  if (!opts.prepackConvWeights || !convKernelsApply(opts)) return std::nullopt;
  if (op.kind == OpKind::Dense) return opts.prepackDenseWeights ? prepackedDenseWeight(g, op, opts) : std::nullopt;
  if (op.kind != OpKind::Conv2D) return std::nullopt;
  const Value &out = g.value(op.output);
  const Shape &result = op.fused.pool ? op.fused.poolInput : out.shape;  // the convolution's own, before a fused pool
  ConvGeom c = convGeom(op, g.value(op.inputs.at(0)).shape, result);
  MachineShape m = machineShape(opts);
  if (convUsesWinograd(g, op, opts)) return convWeightPacking(c, result, m, opts.choice, true);
  if (!channelsInnermostApplies(c, m, out.layout)) return std::nullopt;
  return convWeightPacking(c, result, m, opts.choice);
}

// out(x, y, f, n) = bias(f) + sum over (kx, ky, ci) of
//   w(kx, ky, ci, f) * in(x*sw - pl + kx*dw, y*sh - pt + ky*dh, group(f)*Cg + ci, n),
// the input being zero outside.
Func lowerConv2D(const OpArgs &a) {
  if (a.op.fused.pool) return lowerPooledConv2D(a);  // Pool.cpp
  if (a.outDims().inner == 2 || !convKernelsApply(a.opts)) return lowerConv2DResult(a, nullptr).f;
  // A planar result of the channels-innermost kernel (an output at the API
  // boundary, or any conv of a training model): each row computed into a
  // few KB of whole channel vectors, then copied out with vectors of columns
  // (scheduleRowConsumer), instead of each lane of the tile's stores going
  // to a plane of its own. Not when the kernel's reduction runs in chunks
  // at the root (few pixels: its stores are few), which a row loop would undo.
  const ConvGeom c = geomOf(a);
  if (!planarRowsApply(c, a.outShape, a.opts)) return lowerConv2DResult(a, nullptr).f;
  Halide::LoopLevel at;  // the copy's row loop, set once the copy exists
  ConvResult r = lowerConv2DResult(a, &at);
  if (!r.block) return r.f;  // a softmax epilogue: computed at the root
  return copyPlanarRows(r.f, a.outDims(), r.block, c, at, a.opts, a.name("planar"));
}

bool planarRowsApply(const ConvGeom &c, const Shape &outShape, const LowerOptions &opts) {
  const MachineShape m = machineShape(opts);
  return channelsInnermostApplies(c, m, Layout::Planar) && convWeightPacking(c, outShape, m, opts.choice).chunks() == 1;
}

Func copyPlanarRows(Func result, const Dims &d, int block, const ConvGeom &c, Halide::LoopLevel at,
                    const LowerOptions &opts, const std::string &name) {
  Func out(name);
  out(d.vars) = result(d.vars);
  at.set(scheduleRowConsumer(out, d, block, convWeightBytes(c), opts));
  return out;
}

int64_t convWeightBytes(const ConvGeom &c) { return int64_t(4) * c.cinPerGroup * c.kh * c.kw * c.cout; }

ConvResult lowerConv2DResult(const OpArgs &a, const Halide::LoopLevel *at, const Halide::LoopLevel *storeAt) {
  ConvGeom c = geomOf(a);
  if (convKernelsApply(a.opts)) {
    const Halide::ImageParam &w = a.param(ParamRole::Weight);  // (kx, ky, ci, f)
    ConvProblem p{*a.inputs[0],
                  [w](Expr kx, Expr ky, Expr cg, Expr f) { return w(kx, ky, cg, f); },
                  nullptr,
                  c,
                  a.outShape,
                  [&a](Func raw, const std::function<void(Func)> &tile) { return scheduledEpilogue(a, raw, tile); },
                  preActivationName(a),
                  [&a](const std::string &s) { return a.name(s); },
                  a.opts,
                  a.g.value(a.op.output).layout};
    if (a.packedWeight) p.packedWeight = w;
    p.winograd = convUsesWinograd(a.g, a.op, a.opts);
    if (a.hasParam(ParamRole::Bias)) {
      const Halide::ImageParam &b = a.param(ParamRole::Bias);
      p.initial = [b](Expr f) { return b(f); };
    }
    const Attr &act = a.op.attr("activation");
    bool softmax = act.hasActivation && (act.act.kind == OpKind::Softmax || act.act.kind == OpKind::LogSoftmax);
    const int channelBlock = convChannelBlock(p);
    int block = at && !softmax ? channelBlock : 0;
    if (block) p.at = *at;
    if (block && storeAt) p.storeAt = *storeAt;
    return {lowerConvKernel(p), block, channelBlock > 0};
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
  return {applyFusedActivation(a, acc), 0};
}

// Input pixel (iy, ix) of channel ci reaches output (iy*sh - pt + ky*dh,
// ix*sw - pl + kx*dw) through w(kx, ky, f - group start, ci), the weight
// [C_in, F/g, kh, kw] being (kx, ky, fo, ci). As a gather: output (y, x)
// takes tap (ky, kx) from iy = (y + pt - ky*dh) / sh when that divides
// exactly (Halide's division floors, and the padding is zero below 0).
Func lowerConv2DTranspose(const OpArgs &a) {
  ConvGeom c = geomOf(a);
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
