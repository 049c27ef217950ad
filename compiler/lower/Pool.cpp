// Lowering of the pooling family, as PyTorch: maxpool2d (padded positions are
// -inf, so padding never wins; a NaN in the window wins), avgpool2d (zero
// padding; the divisor counts the padding with count_include_pad, but never a
// ceil_mode overhang beyond it; without it, only the in-bounds elements), and
// the global pools over H x W. And conv2d with a fused pool (fuse-pool): the
// pool of the convolution's rows as the convolution computes them.
#include "compiler/ir/FusedPool.h"
#include "compiler/lower/ConvKernel.h"

#include <limits>

namespace nncc {
namespace lower {
namespace {

using Halide::Expr;
using Halide::Func;

struct PoolGeom {
  int kh, kw, sh, sw, pt, pl, pb, pr, h, w;

  PoolGeom(const Op &op, const Shape &in, const Shape &out) {
    const auto &k = op.intsAttr("size");
    const auto &s = op.intsAttr("stride");
    const auto &p = op.intsAttr("padding");  // [t, l, b, r]
    if (in.size() != 3 || out.size() != 3) throw LoweringError(op.name + ": pooling needs images, got " + shapeStr(in));
    kh = int(k[0]), kw = int(k[1]), sh = int(s[0]), sw = int(s[1]);
    pt = int(p[0]), pl = int(p[1]), pb = int(p[2]), pr = int(p[3]);
    h = int(in[1]), w = int(in[2]);
  }
  explicit PoolGeom(const OpArgs &a) : PoolGeom(a.op, a.in().shape, a.outShape) {}
};

// The maximum as PyTorch takes it: v replaces m when larger or NaN.
Expr maxNaN(Expr m, Expr v) { return Halide::select(v > m || Halide::is_nan(v), v, m); }

// Windowed pools: the reduction over the window with the output width
// vectorized inside it, (channels x batch) parallel; the average's division
// is pointwise.
void scheduleWindowPool(Func acc, const Dims &d, const Halide::RDom &r, const LowerOptions &opts) {
  scheduleReduction(acc, d, {r.x, r.y}, opts);
}

// Global pools: the reduction over H x W, channels vectorized.
void scheduleGlobalPool(Func acc, const Dims &d, const Halide::RDom &r, const LowerOptions &opts) {
  scheduleReduction(acc, d, {r.x, r.y}, opts);
}

const LValue &imageInput(const OpArgs &a) {
  if (a.in().shape.size() != 3 || a.outShape.size() != 1)
    throw LoweringError(a.op.name + ": a global pool needs an image, got " + shapeStr(a.in().shape));
  return a.in();
}

// The window's maximum or sum as one expression of its taps tap(i, j),
// folded in the order of the reductions below (rows outer, columns inner):
// the same floats.
Expr foldWindow(OpKind kind, const PoolGeom &p, const std::function<Expr(int i, int j)> &tap) {
  Expr acc;
  for (int j = 0; j < p.kh; ++j)
    for (int i = 0; i < p.kw; ++i) {
      Expr v = tap(i, j);
      acc = !acc.defined() ? (kind == OpKind::MaxPool2D ? maxNaN(f32(-std::numeric_limits<float>::infinity()), v) : v)
                           : (kind == OpKind::MaxPool2D ? maxNaN(acc, v) : acc + v);
    }
  return acc;
}

// Windows of at most this many taps are one expression (foldWindow), a pure
// Func: no initial pass over the output, vectorized along the stored
// innermost dimension like any element-wise op.
constexpr int kMaxUnrolledWindow = 16;

// A fused pool computed row by row as the convolution computes its rows:
// a pure Func over the taps (foldWindow), the convolution's tile computed at
// its row loop (`at`), in registers and a few KB of whole channel vectors.
// Either the windows tile the convolution's result (stride = size, no
// padding, every window inside), so a pooled row's rows are new each time;
// or (`storeAt`, a max pool whose windows overlap or reach into its padding:
// ResNet's 3x3 stride-2 pool after its first convolution) the rows are
// stored for the whole task, so that Halide's sliding window computes each
// of them once as the pooled rows advance, in a ring of a window's rows
// rounded up to a power of two (Halide does not fold it by itself through
// the clamps), and taps outside the result are -inf, as the pool's padding.
Func lowerRowPool(const OpArgs &a, Func conv, int block, int64_t weightBytes, Halide::LoopLevel &at,
                  Halide::LoopLevel *storeAt) {
  PoolGeom p(a);
  Dims d = a.outDims();
  Halide::Var x = d.vars[0], y = d.vars[1], c = d.vars[2], n = d.vars[3];
  Expr acc = foldWindow(a.op.kind, p, [&](int i, int j) {
    Expr cx = x * p.sw - p.pl + i, cy = y * p.sh - p.pt + j;
    if (!storeAt) return Expr(conv(cx, cy, c, n));
    Expr inside = cx >= 0 && cx < p.w && cy >= 0 && cy < p.h;
    return Halide::select(inside, Expr(conv(Halide::clamp(cx, 0, p.w - 1), Halide::clamp(cy, 0, p.h - 1), c, n)),
                          f32(-std::numeric_limits<float>::infinity()));
  });
  if (a.op.kind == OpKind::AvgPool2D) acc = acc / f32(double(p.kh) * double(p.kw));
  Func out(a.name());
  out(x, y, c, n) = acc;
  at.set(scheduleRowConsumer(out, d, block, weightBytes, a.opts));
  if (storeAt) {
    storeAt->set(Halide::LoopLevel(out, Halide::Var("task")));  // scheduleRowTasks's parallel loop
    int fold = 1;
    while (fold < p.kh) fold *= 2;
    conv.fold_storage(conv.args()[1], fold);
  }
  return out;
}

bool poolTilesInput(const PoolGeom &p) {
  return p.kh == p.sh && p.kw == p.sw && p.pt == 0 && p.pl == 0 && p.pb == 0 && p.pr == 0;
}

}  // namespace

Func lowerMaxPool2D(const OpArgs &a) {
  PoolGeom p(a);
  Dims d = a.outDims();
  Halide::Var x = d.vars[0], y = d.vars[1], c = d.vars[2], n = d.vars[3];
  Func padded = padXY(a.in(), f32(-std::numeric_limits<float>::infinity()), a.name("padded"));
  Func out(a.name());
  if (p.kh * p.kw <= kMaxUnrolledWindow) {
    out(x, y, c, n) = foldWindow(OpKind::MaxPool2D, p, [&](int i, int j) {
      return padded(x * p.sw - p.pl + i, y * p.sh - p.pt + j, c, n);
    });
    schedulePointwise(out, d, a.opts);
    return out;
  }
  Halide::RDom r({{0, p.kw}, {0, p.kh}}, a.name("r"));
  out(x, y, c, n) = f32(-std::numeric_limits<float>::infinity());
  out(x, y, c, n) = maxNaN(out(x, y, c, n), padded(x * p.sw - p.pl + r.x, y * p.sh - p.pt + r.y, c, n));
  scheduleWindowPool(out, d, r, a.opts);
  return out;
}

Func lowerAvgPool2D(const OpArgs &a) {
  PoolGeom p(a);
  bool includePad = a.op.boolAttr("count_include_pad");
  Dims d = a.outDims();
  Halide::Var x = d.vars[0], y = d.vars[1], c = d.vars[2], n = d.vars[3];
  Func padded = padXY(a.in(), 0.f, a.name("padded"));
  Halide::RDom r({{0, p.kw}, {0, p.kh}}, a.name("r"));
  Func sum(a.name("sum")), out(a.name());
  Expr x0 = x * p.sw - p.pl, y0 = y * p.sh - p.pt;  // the window's start in the input
  const bool unrolled = p.kh * p.kw <= kMaxUnrolledWindow;
  if (unrolled) {
    sum(x, y, c, n) = foldWindow(OpKind::AvgPool2D, p, [&](int i, int j) { return padded(x0 + i, y0 + j, c, n); });
  } else {
    sum(x, y, c, n) = 0.f;
    sum(x, y, c, n) += padded(x0 + r.x, y0 + r.y, c, n);
  }
  // The window clipped to the padded input (count_include_pad) or to the input.
  Expr rows = includePad ? Halide::min(y0 + p.kh, p.h + p.pb) - y0
                         : Halide::min(y0 + p.kh, p.h) - Halide::max(y0, 0);
  Expr cols = includePad ? Halide::min(x0 + p.kw, p.w + p.pr) - x0
                         : Halide::min(x0 + p.kw, p.w) - Halide::max(x0, 0);
  Expr divisor = Halide::max(rows * cols, 1);
  out(x, y, c, n) = sum(x, y, c, n) / Halide::cast<float>(divisor);
  if (!unrolled) scheduleWindowPool(sum, d, r, a.opts);  // else inlined
  schedulePointwise(out, d, a.opts);
  return out;
}

Func lowerGlobalAvgPool2D(const OpArgs &a) {
  const LValue &in = imageInput(a);
  Dims d = dimsOf(a.outShape);
  Halide::Var c = d.vars[0], n = d.vars[1];
  int h = int(in.shape[1]), w = int(in.shape[2]);
  Halide::RDom r({{0, w}, {0, h}}, a.name("r"));
  Func sum(a.name("sum")), out(a.name());
  sum(c, n) = 0.f;
  sum(c, n) += in.f(r.x, r.y, c, n);
  out(c, n) = sum(c, n) / f32(double(h) * double(w));
  scheduleGlobalPool(sum, d, r, a.opts);
  schedulePointwise(out, d, a.opts);
  return out;
}

Func lowerGlobalMaxPool2D(const OpArgs &a) {
  const LValue &in = imageInput(a);
  Dims d = dimsOf(a.outShape);
  Halide::Var c = d.vars[0], n = d.vars[1];
  Halide::RDom r({{0, int(in.shape[2])}, {0, int(in.shape[1])}}, a.name("r"));
  Func out(a.name());
  out(c, n) = f32(-std::numeric_limits<float>::infinity());
  out(c, n) = maxNaN(out(c, n), in.f(r.x, r.y, c, n));
  scheduleGlobalPool(out, d, r, a.opts);
  return out;
}

Func lowerPooledConv2D(const OpArgs &a) {
  OpArgs conv = a;
  conv.outShape = a.op.fused.poolInput;
  Op poolOp = fusedPoolOp(a.op);
  PoolGeom geom(poolOp, conv.outShape, a.outShape);
  const bool rows = a.opts.schedule && a.opts.vectorize && poolTilesInput(geom) &&
                    (int64_t(a.outShape[1]) - 1) * geom.sh + geom.kh <= geom.h &&
                    (int64_t(a.outShape[2]) - 1) * geom.sw + geom.kw <= geom.w;
  // Else a max pool of at most kMaxUnrolledWindow taps slides over the rows.
  const bool slide = !rows && a.opts.schedule && a.opts.vectorize && poolOp.kind == OpKind::MaxPool2D &&
                     geom.kh * geom.kw <= kMaxUnrolledWindow && geom.sh <= geom.kh;
  Halide::LoopLevel at, storeAt;  // the pool's row and task loops, set once the pool exists
  ConvResult r = lowerConv2DResult(conv, rows || slide ? &at : nullptr, slide ? &storeAt : nullptr);
  LValue in{r.f, conv.outShape};
  OpArgs pa{a.g, poolOp, a.opts, a.namer, {&in}, {}, a.outShape};
  if (!r.block) {
    // The result whole, then the pool's own schedule. The channels-innermost
    // kernel's vectors are channels: stored so, its stores and a
    // channels-last pool's loads are whole vectors (stored planar, each
    // lane of a store and of a pool's load went to its own plane).
    if (r.channelsInnermost && a.outDims().inner == 2) r.f.reorder_storage(r.f.args()[2], r.f.args()[0], r.f.args()[1], r.f.args()[3]);
    return lowererFor(poolOp.kind)(pa);
  }
  // The tasks in the convolution's order (convSamplesOuter; vgg's conv3_2,
  // 2.4 MB, blocks outer: 15.8 -> 14.7 ms at batch 32; its conv2_2, 0.6 MB,
  // keeps each sample's input in L2).
  const int64_t weightBytes = convWeightBytes(convGeom(conv.op, conv.in().shape, conv.outShape));
  return lowerRowPool(pa, r.f, r.block, weightBytes, at, slide ? &storeAt : nullptr);
}

}  // namespace lower
}  // namespace nncc
