// Lowering of dense (PyTorch's Linear): y(u, n) = b(u) + sum_i w(i, u) * x(i, n)
// with the weight [units, F] seen as (i, u), then the fused activation.
// Scheduled (docs/schedules.md, "Dense"): with the weight prepacked in
// blocks of a vector of units (a compiled model's kernels), a register-tiled
// GEMV of 4 vectors of units x 4 samples (1 below batch 4); otherwise, from
// half a vector of samples on, a register-tiled GEMM (DenseGemm.h) with the
// batch as the vector lanes, and below, dot products along the features.
#include "compiler/lower/ConvKernel.h"
#include "compiler/lower/DenseGemm.h"

#include <algorithm>

namespace nncc {
namespace lower {
namespace {

using Halide::Expr;
using Halide::Func;
using Halide::TailStrategy;
using Halide::Var;

// The reduction over the input features: units vectorized inside it,
// parallel over the batch.
void scheduleDense(Func acc, const Dims &d, const Halide::RDom &r, const LowerOptions &opts) {
  scheduleReduction(acc, d, {r.x}, opts);
}

// The number of units in one register tile of the dot products: up to 8 rows
// of the weight, each with its own vector accumulator, sharing the input's
// vector loads.
int unitTile(const MachineShape &m, int units) {
  if (scheduleOverrides().denseUnits > 0) return std::min(units, scheduleOverrides().denseUnits);
  int most = std::min(units, std::max(1, std::min(8, m.registers - 4)));
  int best = most;
  for (int u = most; u >= std::max(1, most / 2); --u) {
    auto waste = [&](int t) { return double((units + t - 1) / t * t) / units; };
    if (waste(u) < waste(best) - 1e-9) best = u;
  }
  return best;
}

// Dot products along the features, which are innermost in both the weight
// (i, u) and the input (i, n), so nothing is repacked: part(l, u, n) holds
// `lanes` partial sums of unit u (l = feature mod lanes), a tile of units
// accumulating together over the feature chunks; then the lanes are summed
// and the leftover features added. Returns the value at (u, n); `part` is
// scheduled by scheduleDot.
struct DenseDot {
  Func part;
  Expr value;
  Var l{"l"};
  Halide::RDom rk;
  int tile = 1, lanes = 1;
};

DenseDot denseDot(const OpArgs &a, int features, const MachineShape &m, Var u, Var n) {
  DenseDot dd;
  const LValue &in = a.in();
  dd.lanes = features >= m.lanes ? m.lanes : 1;
  const int lanes = dd.lanes, chunks = features / lanes, rest = features % lanes;
  dd.tile = unitTile(m, a.outExtent(0));
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  dd.rk = Halide::RDom(0, chunks, a.name("rk"));
  dd.part = Func(a.name("part"));
  Var l = dd.l;
  dd.part(l, u, n) = 0.f;
  dd.part(l, u, n) += w(dd.rk * lanes + l, u) * in.f(dd.rk * lanes + l, n);
  std::vector<Expr> terms;
  for (int k = 0; k < lanes; ++k) terms.push_back(dd.part(k, u, n));
  for (int k = 0; k < rest; ++k) terms.push_back(w(chunks * lanes + k, u) * in.f(chunks * lanes + k, n));
  while (terms.size() > 1) {  // a balanced tree of sums
    std::vector<Expr> next;
    for (size_t k = 0; k + 1 < terms.size(); k += 2) next.push_back(terms[k] + terms[k + 1]);
    if (terms.size() % 2) next.push_back(terms.back());
    terms.swap(next);
  }
  dd.value = terms[0];
  return dd;
}

// The dot products' schedule on `stage` of the output: tiles of units
// (shifted inwards), each batch row its own task, parallel over (row, unit
// tile) when `parallel`.
void scheduleDot(const DenseDot &dd, Halide::Stage stage, const Func &out, Var ou, Var on, bool parallel) {
  Var uo("uo"), ui("ui"), task("task");
  stage.split(ou, uo, ui, dd.tile, TailStrategy::ShiftInwards).reorder(ui, on, uo).unroll(ui).fuse(on, uo, task);
  if (parallel) stage.parallel(task);
  Func part = dd.part;
  Var u = part.args()[1], n = part.args()[2];
  part.compute_at(out, task).bound_extent(dd.l, dd.lanes).bound_extent(u, dd.tile).unroll(u);
  part.update().reorder(dd.l, u, dd.rk.x, n).unroll(u);
  if (dd.lanes > 1) {
    part.vectorize(dd.l);
    part.update().vectorize(dd.l);
  }
}

// With the weight prepacked (prepackedDenseWeight): blocks of `lanes` units,
// each block's features one contiguous stream, packed(l, i, 0, ub) =
// weight(ub * lanes + l, i). At every batch, a tile of `blocks` vectors of
// units x `samples` samples accumulates over the features in registers: per
// feature `blocks` aligned vector loads of the weight and `samples`
// broadcasts of the input, `blocks x samples` FMAs. At batch 1 it streams
// the weight once (the MLP's 784 -> 256: one stream, no horizontal sums,
// 5.5 -> about 4.5 us); from 4 samples on the weight's loads are shared by
// 4 samples, FMA-bound: batch 8 ran about 4x faster than the half-vector
// GEMM, bound by its 12 weight rows' broadcasts.
struct PackedGemv {
  Func acc;
  Var l{"l"}, ub{"ub"}, n{"n"};
  Halide::RDom r;
  int lanes = 1, blocks = 1, samples = 1;
  bool samplesInner = false;
  Expr operator()(Expr u, Expr sample) const { return acc(u % lanes, u / lanes, sample); }
};

PackedGemv packedGemv(const OpArgs &a, int features, int lanes, int blocks, int samples, const std::string &suffix) {
  PackedGemv g;
  g.lanes = lanes, g.blocks = blocks, g.samples = samples;
  g.samplesInner = int64_t(4) * features * a.outExtent(0) > (int64_t(2) << 20);
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  g.r = Halide::RDom(0, features, a.name("rf" + suffix));
  g.acc = Func(a.name("gemv" + suffix));
  g.acc(g.l, g.ub, g.n) = 0.f;
  g.acc(g.l, g.ub, g.n) += w(g.l, g.r, 0, g.ub) * a.in().f(g.r, g.n);
  return g;
}

// The GEMV's tile on `stage` of the output (units ou, batch on): ou split by
// the tile's units (which divide the layer's), on by its samples (shifted
// inwards: the batch must be at least that), parallel over (unit tile,
// sample tile) when `parallel`; the accumulator computed per task. The
// sample tiles are the inner ones when the weight does not fit in half of a
// 4 MB L2 (samplesInner): a unit tile's weight (1 MB for VGG's 4096 -> 256)
// is then read from L2 by all the batch's tiles in turn, where the other
// order streamed the whole weight from L3 per sample tile (that layer at
// batch 32: 1.43 -> 0.86 ms, perf in the network); below, the unit tiles
// (the MLP's 0.8 MB at batch 32 on 2 threads: 0.060 ms with the samples
// inner, 0.056 without).
void schedulePackedGemv(const PackedGemv &g, Halide::Stage stage, const Func &out, Var ou, Var on, bool parallel) {
  Var uo("uo"), ui("ui"), no("no"), ni("ni"), task("task");
  stage.split(ou, uo, ui, g.lanes * g.blocks, TailStrategy::RoundUp)
      .split(on, no, ni, g.samples, TailStrategy::ShiftInwards)
      .reorder(ui, ni, g.samplesInner ? no : uo, g.samplesInner ? uo : no)
      .vectorize(ui, g.lanes)
      .unroll(ui)
      .unroll(ni)
      .fuse(g.samplesInner ? no : uo, g.samplesInner ? uo : no, task);
  if (parallel) stage.parallel(task);
  Func acc = g.acc;
  acc.compute_at(out, task).bound_extent(g.l, g.lanes).vectorize(g.l).unroll(g.ub).unroll(g.n);
  acc.update().reorder(g.l, g.ub, g.n, g.r.x).vectorize(g.l).unroll(g.ub).unroll(g.n);
}

// The most blocks of units (of `lanes`) one GEMV tile holds: 4, or the
// largest fewer that divides the layer's blocks.
int gemvBlocks(int units, int lanes) {
  for (int b = 4; b > 1; --b)
    if (units / lanes % b == 0) return b;
  return 1;
}

// The most weight rows one GEMM tile reads at a time: at most 8 per L1 set
// (l1SetsOfRows), which leaves the input panel its ways.
int maxWeightRows(int features) { return 8 * l1SetsOfRows(features); }

// The scheduled dense. From half a vector of samples on, a GEMM with v = the
// batch (the vector lanes), c = the units (the tile's columns), k = the
// features: the input transposed once per call (input_t(n, i), the batch
// innermost), the weight read as broadcast scalars from `cols` rows at a
// time, the bias and the fused epilogue applied in registers; tiles of half
// a vector, one vector and two vectors of samples, each from its width on;
// parallel over unit tiles when the layer is big enough. Below, the dot
// products (a GEMV at batch 1, memory-bound).
Func denseScheduled(const OpArgs &a, int features, const MachineShape &m) {
  const LValue &in = a.in();
  Dims d = dimsOf(a.outShape);
  Var u = d.vars[0], n = d.vars[1];
  const int units = d.extents[0];
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  const bool packed = a.packedWeight;  // (prepackedDenseWeight: units whole vectors)
  auto bias = [&](Expr unit) {
    return a.hasParam(ParamRole::Bias) ? Expr(a.param(ParamRole::Bias)(unit)) : Expr(0.f);
  };
  const double flopsPerSample = 2.0 * features * units;
  const Expr batch = batchExtentOf(in.f);
  const int lanes = std::max(m.lanes, 4);
  const bool gemmOn = batch.defined() && m.lanes > 1;

  // The input transposed, the batch innermost: computed only when a GEMM
  // runs (batch >= the narrowest tile), but Halide's bounds on the input's
  // batch include the tiles' shift below it, hence the promise.
  Var nb("nb"), k("k");
  Func xBlock(a.name("input_block")), xT(a.name("input_t"));
  xBlock(k, nb) = gemmOn ? in.f(k, Halide::unsafe_promise_clamped(nb, 0, batch - 1)) : in.f(k, nb);
  xT(nb, k) = xBlock(k, nb);
  GemmSpec spec{a.name("acc"), Expr(features), [&](Expr v, Expr kk) { return xT(v, kk); },
                [&](Expr c, Expr kk) { return w(kk, c); }, [&](Expr, Expr c) { return bias(c); }};
  // The GEMM's tiles, widest first; each is used from its width on. With a
  // prepacked weight the packed GEMV below takes every batch instead: its
  // tile of 4 vectors of units x 4 samples ran the MLP's 784 -> 256 at 182
  // GFLOP/s at batch 32 (the 2 x 12 GEMM tile in the network: about 168),
  // and needs no transposed input.
  std::vector<GemmTileFunc> gemms;
  if (gemmOn && !packed) {
    for (int width : {2 * lanes, lanes, lanes / 2}) {
      if (width < 4) continue;
      GemmTile t = chooseGemmTile(m, width, units, maxWeightRows(features));
      if (t.width() != width) continue;
      gemms.emplace_back(spec, t, "_" + std::to_string(t.width()));
    }
  }
  // When each tile runs (the first that applies, widest first). A batch
  // that is not a multiple of the tile's width recomputes the overlap of
  // the last tile, shifted inwards: batch 33 in tiles of 32 computes 64
  // samples, in tiles of 16 only 48. So the two-vector tile takes a batch
  // only when it leaves more than half a tile over (else the one-vector
  // tile, at 0.9 of its speed, does less work), and the half-vector tile
  // (ymm, half the speed) likewise against the dot products (0.4): batch 8
  // and 13-15, not 9-12. Conditions of at most two terms: Halide's
  // substitution of a specialization's condition into the definition
  // (simplify_specializations) misses longer ones.
  std::vector<Expr> when;
  for (const GemmTileFunc &g : gemms) {
    const GemmTile &t = g.tile();
    const int width = t.width(), half = width / 2;
    bool full = t.vectors == 1 && t.lanes == m.lanes;
    when.push_back(full ? batch >= width : batch >= width && (batch + half - 1) % width < half);
  }
  // Below the GEMMs (or instead of them): with a prepacked weight the
  // packed GEMV, 4 samples a tile from batch 4 on, else 1; without, the dot
  // products.
  const int kGemvSamples = 4;
  std::vector<PackedGemv> gemvs;
  if (packed) {
    const int blocks = gemvBlocks(units, m.lanes);
    if (batch.defined()) gemvs.push_back(packedGemv(a, features, m.lanes, blocks, kGemvSamples, "4"));
    gemvs.push_back(packedGemv(a, features, m.lanes, blocks, 1, "1"));
  }
  const Expr gemv4When = batch.defined() ? batch >= kGemvSamples : Expr(false);
  DenseDot dot;
  if (!packed) dot = denseDot(a, features, m, u, n);
  // The value below the GEMMs (or instead of them), each path's raw value
  // passed through `wrap` (as it is, or through its own epilogue).
  using Wrap = std::function<Expr(const std::string &, Expr)>;
  auto rest = [&](const Wrap &wrap) {
    if (!packed) return wrap("dot", bias(u) + dot.value);
    Expr value = wrap("gemv_out1", bias(u) + gemvs.back()(u, n));
    if (gemvs.size() > 1) value = Halide::select(gemv4When, wrap("gemv_out4", bias(u) + gemvs[0](u, n)), value);
    return value;
  };
  // The value from the GEMM of each width (read by `via`) or the one below.
  auto choose = [&](const std::function<Expr(size_t)> &via, Expr below) {
    Expr value = below;
    for (size_t g = gemms.size(); g-- > 0;) value = Halide::select(when[g], via(g), value);
    return value;
  };
  auto schedule = [&](Func out) {
    std::vector<Var> v = out.args();
    Var ou = v[0], on = v[1];
    out.compute_root();
    if (packed) out.bound(ou, 0, units);
    for (const GemmTileFunc &g : gemms) {
      const int width = g.tile().width();
      g.tileStage(out.specialize(when[&g - gemms.data()]), on, ou, GemmTileFunc::Order::COuter,
                  worthParallel(flopsPerSample * width));
      g.computeAt(out, GemmTileFunc::Order::COuter);
    }
    if (!gemms.empty()) {
      Var ko("ko"), ki("ki");
      // The transposition in blocks of `narrowest` samples x `lanes`
      // features: the block read with whole vectors along the features,
      // written with whole vectors along the batch (the shuffles between
      // them on registers).
      const int narrowest = gemms.back().tile().width();
      Var nbo("nbo"), nbi("nbi");
      xT.compute_root().split(nb, nbo, nbi, narrowest, TailStrategy::ShiftInwards);
      if (features >= lanes) {
        xT.split(k, ko, ki, lanes, TailStrategy::ShiftInwards).reorder(nbi, ki, ko, nbo).vectorize(nbi).unroll(ki);
        xBlock.compute_at(xT, ko).vectorize(k, lanes).unroll(nb);
      } else {
        xT.reorder(nbi, k, nbo).vectorize(nbi);
      }
      if (worthParallel(features * narrowest * 8.0)) xT.parallel(nbo);
    }
    const bool streamParallel = worthParallel(flopsPerSample, 4.0 * features * units);
    if (packed) {
      // (the 4-sample tiles' loop always parallel: the model runtime runs
      // it on one thread when the call's batch makes too little work)
      if (gemvs.size() > 1) schedulePackedGemv(gemvs[0], out.specialize(gemv4When), out, ou, on, true);
      schedulePackedGemv(gemvs.back(), out, out, ou, on, streamParallel);
    } else {
      scheduleDot(dot, out, out, ou, on, streamParallel);
    }
  };
  // Halide simplifies a specialization's condition into the specialized
  // Func's own definition only, so the choice between the tiles is made in
  // the Func that is scheduled: the raw result for a softmax (which has its
  // own schedule after it), else the output, with the epilogue inlined into
  // each side.
  const Attr &attr = a.op.attr("activation");
  if ((gemms.empty() && gemvs.size() < 2) ||
      (attr.hasActivation && (attr.act.kind == OpKind::Softmax || attr.act.kind == OpKind::LogSoftmax))) {
    Func raw(preActivationName(a));
    raw(u, n) = choose([&](size_t g) { return gemms[g](n, u); }, rest([](const std::string &, Expr v) { return v; }));
    return scheduledEpilogue(a, raw, schedule);
  }
  // Each path's value through its own epilogue, unscheduled (inlined into
  // the output).
  auto withEpilogue = [&](const std::string &suffix, Expr value) {
    Func raw(a.name(suffix));
    raw(u, n) = value;
    return scheduledEpilogue(a, raw, [](Func) {})(u, n);
  };
  Func out(a.name());
  out(u, n) = choose([&](size_t g) { return withEpilogue("gemm" + std::to_string(gemms[g].tile().width()), gemms[g](n, u)); },
                     rest(withEpilogue));
  schedule(out);
  return out;
}

}  // namespace

std::optional<ConvWeightPacking> prepackedDenseWeight(const Graph &g, const Op &op, const LowerOptions &opts) {
  const MachineShape m = machineShape(opts);
  const Shape &in = g.value(op.inputs.at(0)).shape, &out = g.value(op.output).shape;
  if (m.lanes <= 1 || in.size() != 1 || out.size() != 1 || out[0] % m.lanes != 0) return std::nullopt;
  ConvWeightPacking wp;
  wp.block = m.lanes, wp.cin = static_cast<int>(in[0]), wp.kh = 1, wp.kw = 1, wp.cout = static_cast<int>(out[0]);
  return wp;
}

Func lowerDense(const OpArgs &a) {
  const LValue &in = a.in();
  if (in.shape.size() != 1 || a.outShape.size() != 1)
    throw LoweringError(a.op.name + ": dense needs a vector input, got " + shapeStr(in.shape));
  int features = static_cast<int>(in.shape[0]);
  if (a.opts.schedule && a.opts.vectorize && !scheduleOverrides().baseline) {
    MachineShape m = machineShape(a.opts);
    if (m.lanes > 1) return denseScheduled(a, features, m);
  }
  Dims d = dimsOf(a.outShape);
  Var u = d.vars[0], n = d.vars[1];
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  Halide::RDom r({Halide::Range(0, features)}, a.name("r"));
  Func acc(preActivationName(a));
  acc(u, n) = a.hasParam(ParamRole::Bias) ? Expr(a.param(ParamRole::Bias)(u)) : Expr(0.f);
  acc(u, n) += w(r.x, u) * in.f(r.x, n);
  scheduleDense(acc, d, r, a.opts);
  return applyFusedActivation(a, acc);
}

}  // namespace lower
}  // namespace nncc
