// --autotune: candidate schedules of each distinct tunable kernel, compiled
// under Halide's JIT for this machine and timed on synthetic data (the
// timing does not depend on the values); the fastest wins. The untuned
// choice is always among the candidates, so tuning never makes a kernel
// slower than the measurement says.
#include "compiler/lower/Autotune.h"

#include "compiler/lower/ConvKernel.h"
#include "compiler/lower/LowerOps.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

namespace nncc {

namespace {

using Clock = std::chrono::steady_clock;

// A buffer of a value of per-sample shape `shape` (reversed, then the batch
// when `batched`) stored in `layout`, filled with small values; with a zero
// `border` (Value::border), the readers' view (x and y from -border) or the
// producer's (`interior`).
Halide::Buffer<float> syntheticBuffer(const Shape &shape, bool batched, int batch, unsigned seed,
                                      Layout layout = Layout::Planar, int border = 0, bool interior = false) {
  std::vector<int> extents, order;
  for (auto it = shape.rbegin(); it != shape.rend(); ++it) extents.push_back(static_cast<int>(*it));
  if (batched) extents.push_back(batch);
  for (size_t k = 0; k < extents.size(); ++k) order.push_back(static_cast<int>(k));
  if (layout == Layout::ChannelsLast && shape.size() == 3) order = {2, 0, 1, 3};
  const bool bordered = border > 0 && layout == Layout::ChannelsLast && shape.size() == 3;
  if (bordered) extents[0] += 2 * border, extents[1] += 2 * border;
  Halide::Buffer<float> b(extents, order);
  unsigned s = seed;
  b.for_each_value([&](float &v) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<float>((s >> 9) & 0xffff) / 65536.0f - 0.5f;
  });
  if (bordered) {
    b.translate({-border, -border});
    if (interior) b.crop({{0, extents[0] - 2 * border}, {0, extents[1] - 2 * border}});
  }
  return b;
}

// The best time of one kernel with schedule choice `c`, in milliseconds.
double timeKernel(const Graph &g, const Op &op, const LowerOptions &base, const ScheduleChoice &c, int batch,
                  double budgetMs) {
  LowerOptions o = base;
  o.choices = nullptr;
  o.choice = c;
  o.target = o.target.without_feature(Halide::Target::UserContext);
  LoweredKernel k = lowerOpKernel(g, op, o);
  std::vector<Halide::Buffer<float>> keep;
  size_t ip = 0;
  for (int in : op.inputs) {
    const Value &v = g.value(in);
    keep.push_back(syntheticBuffer(v.shape, true, batch, 17u + unsigned(ip), v.layout, v.border));
    k.imageParams[ip++].set(keep.back());
  }
  std::optional<Shape> packed = packedWeightShape(g, op, o);  // the kernel as compiled (prepackConvWeights)
  for (int p : op.params) {
    const Param &prm = g.params[static_cast<size_t>(p)];
    const Shape &shape = packed && prm.role == ParamRole::Weight ? *packed : prm.shape;
    keep.push_back(syntheticBuffer(shape, false, batch, 91u + unsigned(ip)));
    k.imageParams[ip++].set(keep.back());
  }
  const Value &result = g.value(op.output);
  Halide::Buffer<float> out = syntheticBuffer(result.shape, true, batch, 5u, result.layout, result.border, true);
  k.pipeline.compile_jit(o.target);
  k.pipeline.realize(out);  // warm-up: first-touch, caches
  double best = 1e30, spent = 0;
  for (int run = 0; run < 50 && (run < 3 || spent < budgetMs); ++run) {
    auto t0 = Clock::now();
    k.pipeline.realize(out);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    best = std::min(best, ms);
    spent += ms;
  }
  return best;
}

// The candidate choices of a kernel, the untuned one first; empty when the
// op has no choices.
std::vector<ScheduleChoice> candidatesFor(const Graph &g, const Op &op, const LowerOptions &opts, int count) {
  std::vector<ScheduleChoice> out;
  if (op.kind != OpKind::Conv2D || lower::convUsesWinograd(g, op, opts)) return out;  // (its tile: chooseWinogradTile)
  lower::MachineShape m = lower::machineShape(opts);
  const Shape &in = g.value(op.inputs[0]).shape, &o = g.value(op.output).shape;
  const auto &k = op.intsAttr("kernel");
  if (in.size() != 3 || o.size() != 3 ||
      !lower::channelsInnermostApplies(m, int(op.intAttr("groups")), int(in[0]), int(o[0]), int(k[0]), int(k[1]),
                                       g.value(op.output).layout == Layout::ChannelsLast))
    return out;
  for (const lower::ConvTile &t : lower::convTileCandidates(m, int(o[0]), int(o[2]))) {
    if (int(out.size()) >= count) break;
    ScheduleChoice c;
    c.convVectors = t.vectors, c.convCols = t.cols;
    out.push_back(c);
  }
  if (out.size() < 2) out.clear();  // nothing to choose
  return out;
}

std::string choiceStr(const ScheduleChoice &c) {
  return std::to_string(c.convVectors) + " vectors of channels x " + std::to_string(c.convCols) + " columns";
}

}  // namespace

int autotuneGraph(const Graph &g, const LowerOptions &opts, TuneCache &cache, const AutotuneOptions &ao) {
  const std::string target = opts.target.to_string();
  const int batch = ao.batch > 0 ? ao.batch : static_cast<int>(std::min<int64_t>(g.maxBatch, 32));
  // The distinct tunable kernels not in the cache, with their ops' names.
  std::vector<std::pair<const Op *, std::vector<ScheduleChoice>>> pending;
  std::map<std::string, std::vector<std::string>> names;
  for (const Op &op : g.ops) {
    std::string key = kernelKey(g, op);
    if (cache.find(target, key)) continue;
    std::vector<ScheduleChoice> cands = candidatesFor(g, op, opts, ao.candidates);
    if (cands.empty()) continue;
    if (names[key].empty()) pending.push_back({&op, cands});
    names[key].push_back(op.name);
  }
  int done = 0;
  for (const auto &item : pending) {
    const Op &op = *item.first;
    std::string key = kernelKey(g, op);
    TuneRecord best;
    double defaultMs = 0;
    for (size_t i = 0; i < item.second.size(); ++i) {
      double ms = timeKernel(g, op, opts, item.second[i], batch, ao.budgetMs);
      if (i == 0) defaultMs = ms;
      if (i == 0 || ms < best.ms) best.ms = ms, best.choice = item.second[i];
    }
    best.defaultMs = defaultMs;
    cache.put(target, key, best);
    ++done;
    if (ao.log) {
      const std::vector<std::string> &n = names[key];
      char line[512];
      std::snprintf(line, sizeof line,
                    "nncc: autotune [%d/%zu] %s%s (batch %d, %zu candidates): %s, %.3f ms (untuned %s: %.3f ms, %.2fx)\n",
                    done, pending.size(), n.front().c_str(),
                    n.size() > 1 ? (" and " + std::to_string(n.size() - 1) + " more").c_str() : "", batch,
                    item.second.size(), choiceStr(best.choice).c_str(), best.ms, choiceStr(item.second[0]).c_str(),
                    defaultMs, defaultMs / best.ms);
      *ao.log << line << std::flush;
    }
  }
  return done;
}

}  // namespace nncc
