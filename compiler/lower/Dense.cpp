// Lowering of dense (PyTorch's Linear): y(u, n) = b(u) + sum_i w(i, u) * x(i, n)
// with the weight [units, F] seen as (i, u), then the fused activation.
#include "compiler/lower/ConvSchedule.h"

#include <algorithm>

namespace nncc {
namespace lower {
namespace {

// The reduction over the input features: units vectorized inside it,
// parallel over the batch.
void scheduleDense(Halide::Func acc, const Dims &d, const Halide::RDom &r, const LowerOptions &opts) {
  scheduleReduction(acc, d, {r.x}, opts);
}

// The number of units in one register tile: up to 8 rows of the weight,
// each with its own vector accumulator, sharing the input's vector loads.
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
// accumulating together over the feature chunks; then the lanes are summed,
// the leftover features added, and the epilogue applied per unit. At batch 1
// this is a streaming GEMV over the weight; parallel over (unit block, batch).
Halide::Func denseDot(const OpArgs &a, int features, const MachineShape &m) {
  using Halide::Expr;
  using Halide::TailStrategy;
  using Halide::Var;
  const LValue &in = a.in();
  Dims d = dimsOf(a.outShape);
  Var u = d.vars[0], n = d.vars[1], l("l");
  const int lanes = m.lanes, chunks = features / lanes, rest = features % lanes;
  const int tile = unitTile(m, d.extents[0]);
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  Halide::RDom rk(0, chunks, a.name("rk"));
  Halide::Func part(a.name("part"));
  part(l, u, n) = 0.f;
  part(l, u, n) += w(rk * lanes + l, u) * in.f(rk * lanes + l, n);
  std::vector<Expr> terms;
  for (int k = 0; k < lanes; ++k) terms.push_back(part(k, u, n));
  for (int k = 0; k < rest; ++k) terms.push_back(w(chunks * lanes + k, u) * in.f(chunks * lanes + k, n));
  while (terms.size() > 1) {  // a balanced tree of sums
    std::vector<Expr> next;
    for (size_t k = 0; k + 1 < terms.size(); k += 2) next.push_back(terms[k] + terms[k + 1]);
    if (terms.size() % 2) next.push_back(terms.back());
    terms.swap(next);
  }
  Expr bias = a.hasParam(ParamRole::Bias) ? Expr(a.param(ParamRole::Bias)(u)) : Expr(0.f);
  Halide::Func raw(preActivationName(a));
  raw(u, n) = bias + terms[0];
  return scheduledEpilogue(a, raw, [&](Halide::Func out) {
    std::vector<Var> v = out.args();
    Var ou = v[0], on = v[1], uo("uo"), ui("ui"), task("task");
    out.compute_root()
        .split(ou, uo, ui, tile, TailStrategy::ShiftInwards)
        .reorder(ui, on, uo)
        .unroll(ui)
        .fuse(on, uo, task)
        .parallel(task);
    part.compute_at(out, task).bound_extent(l, lanes).bound_extent(u, tile).vectorize(l).unroll(u);
    part.update().reorder(l, u, rk, n).vectorize(l).unroll(u);
  });
}

}  // namespace

Halide::Func lowerDense(const OpArgs &a) {
  const LValue &in = a.in();
  if (in.shape.size() != 1 || a.outShape.size() != 1)
    throw LoweringError(a.op.name + ": dense needs a vector input, got " + shapeStr(in.shape));
  int features = static_cast<int>(in.shape[0]);
  if (a.opts.schedule && a.opts.vectorize && !scheduleOverrides().baseline) {
    MachineShape m = machineShape(a.opts);
    if (m.lanes > 1 && features >= m.lanes) return denseDot(a, features, m);
  }
  Dims d = dimsOf(a.outShape);
  Halide::Var u = d.vars[0], n = d.vars[1];
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  Halide::RDom r({Halide::Range(0, features)}, a.name("r"));
  Halide::Func acc(preActivationName(a));
  acc(u, n) = a.hasParam(ParamRole::Bias) ? Halide::Expr(a.param(ParamRole::Bias)(u)) : Halide::Expr(0.f);
  acc(u, n) += w(r.x, u) * in.f(r.x, n);
  scheduleDense(acc, d, r, a.opts);
  return applyFusedActivation(a, acc);
}

}  // namespace lower
}  // namespace nncc
