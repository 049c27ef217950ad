// Tile choice and the scheduled epilogue shared by the conv2d and dense
// schedules (docs/schedules.md).
#include "compiler/lower/ConvSchedule.h"

#include "compiler/lower/ConvKernel.h"

#include <algorithm>

namespace nncc {
namespace lower {

MachineShape machineShape(const LowerOptions &opts) {
  MachineShape m;
  m.lanes = std::max(1, opts.target.natural_vector_size(Halide::Float(32)));
  bool wide = opts.target.has_feature(Halide::Target::AVX512) || opts.target.arch == Halide::Target::ARM;
  m.registers = wide ? 32 : 16;
  return m;
}

void unrollReduction(Halide::Stage s, const Halide::RVar &r, int extent) {
  int u = extent <= 8 ? extent : 1;
  for (int f : {8, 4, 2})
    if (u == 1 && extent % f == 0) u = f;
  if (u <= 1) return;
  Halide::RVar ro(r.name() + "_o"), ri(r.name() + "_i");
  s.split(r, ro, ri, u).unroll(ri);
}

ScheduleOverrides &scheduleOverrides() {
  static ScheduleOverrides o;
  return o;
}

namespace {

// Cycles of one reduction step of a tile with `accs` accumulators and `loads`
// vector loads or broadcasts: two FMA and two load ports, and an FMA latency
// of 4 (fewer than 8 independent accumulators leave the FMA units idle).
double stepCycles(int accs, int loads) {
  return std::max({accs / 2.0, loads / 2.0, 4.0});
}

// The work computed for `extent` items in tiles of `tile` with the last tile
// shifted inwards, relative to the work needed.
double waste(int extent, int tile) {
  int tiles = (extent + tile - 1) / tile;
  return double(tiles) * tile / extent;
}

}  // namespace

std::vector<ConvTile> convTileCandidates(const MachineShape &m, int cout, int width) {
  std::vector<std::pair<double, ConvTile>> scored;
  for (int vc = 1; vc <= 4 && vc * m.lanes <= cout; ++vc) {
    if (cout % (vc * m.lanes)) continue;  // whole blocks of channels
    for (int tx = 1; tx <= std::min(width, 16); ++tx) {
      int accs = vc * tx;
      // At most 3/4 of the registers hold accumulators: the rest take the
      // weight vectors and the broadcast input.
      if (accs * 4 > m.registers * 3 || accs + vc + 2 > m.registers) continue;
      double eff = (accs / 2.0) / stepCycles(accs, vc + tx);
      double score = eff / (waste(cout, vc * m.lanes) * waste(width, tx));
      // Ties: fewer weight loads per FMA (the weights stream from L2, the
      // broadcast input from L1): more columns.
      score -= 1e-3 / tx;
      // Except that a tile holding every output channel (cout = 4 vectors,
      // one block) wins a tie: its tasks read each sample's input once,
      // and each output pixel is written whole by one tile (ResNet-18's
      // first conv and layer 1 at batch 8: 1.10-1.17x, timed by --autotune).
      if (vc * m.lanes == cout && vc == 4) score += 2e-3;
      scored.push_back({score, ConvTile{vc, tx}});
    }
  }
  // Best first; among equal scores the one found first (fewer vectors).
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto &a, const auto &b) { return a.first > b.first + 1e-9; });
  std::vector<ConvTile> out;
  for (const auto &s : scored) out.push_back(s.second);
  return out;
}

bool channelsInnermostApplies(const MachineShape &m, int groups, int cin, int cout, int kh, int kw,
                              bool channelsLastOutput) {
  constexpr int kMinReduction = 64;
  return groups == 1 && m.lanes > 1 && cout % m.lanes == 0 && (channelsLastOutput || cin * kh * kw >= kMinReduction) &&
         !scheduleOverrides().forceDirect;
}

ConvTile chooseConvTile(const MachineShape &m, int cout, int width, const ScheduleChoice &choice) {
  const ScheduleOverrides &o = scheduleOverrides();
  std::vector<ConvTile> candidates = convTileCandidates(m, cout, width);
  ConvTile best = candidates.empty() ? ConvTile{} : candidates.front();
  // A tuned choice (--autotune) when it is still a valid tile for the shape.
  for (const ConvTile &t : candidates)
    if (t.vectors == choice.convVectors && t.cols == choice.convCols) best = t;
  if (o.convVectors > 0 && cout % (o.convVectors * m.lanes) == 0) best.vectors = o.convVectors;
  if (o.convCols > 0 && o.convCols <= width) best.cols = o.convCols;
  return best;
}

int rowBands(int blocks, int rows) {
  constexpr int kTasksPerSample = 4, kMinRows = 4;
  return std::max(1, std::min(rows / kMinRows, (kTasksPerSample + blocks - 1) / std::max(1, blocks)));
}

bool convSamplesOuter(int64_t weightBytes) {
  constexpr int64_t kMaxWeightBytes = int64_t(1) << 20;  // half of a 2 MB L2
  return weightBytes <= kMaxWeightBytes;
}

void scheduleRowTasks(Halide::Func out, std::vector<Halide::VarOrRVar> inside, const Halide::Var &y,
                      const Halide::Var &co, const Halide::Var &n, int blocks, int height, int64_t weightBytes) {
  const bool samplesOuter = convSamplesOuter(weightBytes);
  Halide::Var outer = samplesOuter ? n : co, inner = samplesOuter ? co : n, task("task");
  const int bands = rowBands(blocks, height);
  if (bands > 1) {
    Halide::Var yb("yb"), task0("task0");
    out.split(y, yb, y, (height + bands - 1) / bands, Halide::TailStrategy::ShiftInwards);
    inside.insert(inside.end(), {yb, inner, outer});
    out.reorder(inside).fuse(yb, inner, task0).fuse(task0, outer, task).parallel(task);
  } else {
    inside.insert(inside.end(), {inner, outer});
    out.reorder(inside).fuse(inner, outer, task).parallel(task);
  }
}

Halide::LoopLevel scheduleRowConsumer(Halide::Func out, const Dims &d, int block, int64_t weightBytes,
                                      const LowerOptions &opts) {
  Halide::Var x = d.vars[0], y = d.vars[1], c = d.vars[2], n = d.vars[3], co("co"), ci("ci");
  out.compute_root().split(c, co, ci, block);
  // Whole vectors of channels when they are stored innermost. A planar
  // result instead writes each channel's row with whole vectors of columns
  // (vectors of channels would send each lane to a plane of its own, which
  // at 32 x 32 are 4 KB apart and share an L1 set).
  const bool channels = d.inner == 2;
  std::vector<Halide::VarOrRVar> inside{ci, x, y};
  if (!channels) inside = {x, ci, y};
  scheduleRowTasks(out, inside, y, co, n, d.extents[2] / block, d.extents[1], weightBytes);
  if (channels) {
    out.vectorize(ci, std::min(machineShape(opts).lanes, block));
  } else {
    const int v = vectorFactor(opts, d.extents[0]);
    if (v > 1) out.vectorize(x, v, Halide::TailStrategy::ShiftInwards);
  }
  return Halide::LoopLevel(out, y);
}

void scheduleChannelGather(Halide::Func f, const Halide::Var &c, const Halide::Var &x, int channels, int lanes) {
  const int half = std::max(1, lanes / 2);
  if (half < 2 || channels < half) return;
  Halide::Var co(c.name() + "_o"), cv(c.name() + "_v");
  f.split(c, co, cv, half, Halide::TailStrategy::ShiftInwards).reorder(cv, x, co).vectorize(cv);
}

DirectTile chooseDirectTile(const MachineShape &m, int cout, int width) {
  DirectTile t;
  t.vec = 1;
  while (t.vec * 2 <= m.lanes && t.vec * 2 <= width) t.vec *= 2;
  if (t.vec < 4) t.vec = 1;
  // Two vectors of columns when the row holds them without much waste.
  t.xvecs = t.vec > 1 && width >= 2 * t.vec && waste(width, 2 * t.vec) <= waste(width, t.vec) * 1.1 ? 2 : 1;
  int room = m.registers - 2 * t.xvecs - 2;
  t.filters = std::max(1, std::min(cout, room / t.xvecs));
  t.filters = std::min(t.filters, 8);
  // Fewest wasted filters: the largest tile size with the least waste.
  int bestF = t.filters;
  for (int f = t.filters; f >= std::max(1, t.filters / 2); --f)
    if (waste(cout, f) < waste(cout, bestF) - 1e-9) bestF = f;
  t.filters = bestF;
  return t;
}

namespace {

// Per-channel tables (1-D Funcs, such as the folded batchnorm's scale) that
// the unscheduled epilogue reads become compute_root; the walk goes through
// the epilogue's element-wise Funcs, not into the raw result or the op's
// inputs (`stop`).
void rootTables(const Halide::Internal::Function &f, std::set<std::string> &stop) {
  for (const auto &kv : Halide::Internal::find_direct_calls(f)) {
    const Halide::Internal::Function &g = kv.second;
    if (!stop.insert(g.name()).second || g.has_update_definition()) continue;
    if (g.dimensions() == 1)
      Halide::Func(g).compute_root();
    else
      rootTables(g, stop);
  }
}

}  // namespace

Halide::Func scheduledEpilogue(const OpArgs &a, Halide::Func raw, const std::function<void(Halide::Func)> &tile) {
  const Attr &attr = a.op.attr("activation");
  bool softmax = attr.hasActivation && (attr.act.kind == OpKind::Softmax || attr.act.kind == OpKind::LogSoftmax);
  if (softmax) {
    tile(raw);
    return applyFusedActivation(a, raw);
  }
  LowerOptions unscheduled = a.opts;
  unscheduled.schedule = false;
  OpArgs b{a.g, a.op, unscheduled, a.namer, a.inputs, a.params, a.outShape};
  Halide::Func residual;
  Halide::Func out = applyFusedActivation(b, raw, &residual);
  std::set<std::string> stop{raw.name()};
  for (const LValue *in : a.inputs) stop.insert(in->f.name());
  if (residual.defined()) stop.insert(residual.name());
  rootTables(out.function(), stop);
  tile(out);
  // A fused residual operand stored channels-last is copied a row at a time
  // at the result's row loop (the tile's block of channels x the row's
  // columns, a few KB) and the tiles read it from L1. Read in each tile's
  // epilogue instead, its 16 lines came from L3 one tile apart, too sparse
  // for the prefetchers: resnet18's layer-1 second convs took 5-10% more
  // than the first (docs/schedules.md, "Residual operands by rows").
  const MachineShape m = machineShape(a.opts);
  if (residual.defined() && a.op.kind == OpKind::Conv2D && a.inputs.back()->channelsLast &&
      channelsInnermostApplies(convGeom(a.op, a.in().shape, a.outShape), m, a.g.value(a.op.output).layout)) {
    std::vector<Halide::Var> o = out.args(), r = residual.args();  // (x, y, c, n)
    residual.compute_at(out, o[1])
        .reorder_storage(r[2], r[0], r[1], r[3])
        .reorder(r[2], r[0], r[1], r[3])
        .vectorize(r[2], m.lanes, Halide::TailStrategy::GuardWithIf);
  }
  return out;
}

}  // namespace lower
}  // namespace nncc
