// Gradient rules of dense (see Gradients.h), with dz the output gradient
// through the fused activation (gradThroughFusedActivation):
//   dx(i, n) = sum over u of w(i, u) * dz(u, n)
//   dw(i, u) = sum over n of x(i, n) * dz(u, n)  (+ the regularization term)
//   db(u)    = sum over n of dz(u, n)
// Scheduled, dx and dw are GEMMs on the register tile of DenseGemm.h, both
// with the features as the vector lanes (contiguous in w and x, so nothing is
// repacked): dx with the batch as the tile's columns (dz broadcast), dw with
// the units (dz broadcast) and the batch as the reduction.
#include "compiler/lower/DenseGemm.h"
#include "compiler/lower/Gradients.h"

#include <algorithm>
#include <cmath>

namespace nncc {
namespace lower {

using Halide::Expr;
using Halide::Func;
using Halide::Var;

namespace {

bool scheduledGemm(const LowerOptions &opts) {
  return opts.schedule && opts.vectorize && !scheduleOverrides().baseline && machineShape(opts).lanes > 1;
}

// The batch from which dx's tile has its full columns (the smaller batches
// get a one-column tile).
constexpr int kInputGradientBatch = 8;

// Rows of the GEMMs' vector operand (the weight's for dx, the input's for
// dw) that start in fewer L1 sets than this are packed per block of
// features (GemmSpec::packA): with 4096 features, +10% for dx and dw at
// batch 32; with 784, where the rows spread over all sets, -13% for dx.
constexpr int kPackBelowSets = 8;

}  // namespace

Func denseInputGradient(const GradArgs &a) {
  LValue dz = gradThroughFusedActivation(a);
  Dims d = dimsOf(a.inputs[0].shape);
  Var i = d.vars[0], n = d.vars[1];
  const int features = d.extents[0], units = static_cast<int>(a.y.shape[0]);
  const Halide::ImageParam &w = a.param(ParamRole::Weight);  // (i, u)
  Func dx(a.name("dinput"));
  if (!scheduledGemm(a.opts)) {
    Halide::RDom r({Halide::Range(0, units)}, a.name("r"));
    dx(i, n) = 0.f;
    dx(i, n) += w(i, r.x) * dz.f(r.x, n);
    scheduleReduction(dx, d, {r.x}, a.opts);
    return dx;
  }
  MachineShape m = machineShape(a.opts);
  GemmSpec spec{a.name("dinput_acc"), Expr(units), [&](Expr v, Expr k) { return w(v, k); },
                [&](Expr c, Expr k) { return dz.f(k, c); }, {}};
  const double flopsPerSample = 2.0 * features * units;
  using Order = GemmTileFunc::Order;
  GemmTile wide = chooseGemmTile(m, features, kInputGradientBatch);
  GemmTileFunc one(spec, chooseGemmTile(m, features, 1), "_1");
  if (wide.cols == 1) {
    dx(i, n) = one(i, n);
  } else {
    // The full tiles read a packed panel of the weight when its rows fall
    // into few L1 sets; one column reads each weight row once anyway.
    spec.packA = l1SetsOfRows(features) < kPackBelowSets;
    GemmTileFunc full(spec, wide);
    dx(i, n) = Halide::select(a.batch >= wide.cols, full(i, n), one(i, n));
    full.tileStage(dx.specialize(a.batch >= wide.cols), i, n, Order::VOuter, worthParallel(flopsPerSample * wide.cols));
    full.computeAt(dx, Order::VOuter);
  }
  one.tileStage(dx, i, n, Order::VOuter, worthParallel(flopsPerSample, 4.0 * features * units));
  one.computeAt(dx, Order::VOuter);
  dx.compute_root();
  return dx;
}

Func denseParamGradient(const GradArgs &a, const Param &p) {
  LValue dz = gradThroughFusedActivation(a);
  Halide::RDom r({Halide::Range(0, a.batch)}, a.name("rn"));
  if (p.role == ParamRole::Bias) {
    Var u("u");
    Func db(a.name("dbias"));
    db(u) = 0.f;
    db(u) += dz.f(u, r.x);
    db.compute_root();
    return db;
  }
  Var i("i"), u("u");
  const int features = static_cast<int>(a.inputs[0].shape[0]), units = static_cast<int>(a.y.shape[0]);
  const Halide::ImageParam &w = a.param(ParamRole::Weight);
  Func dw(a.name("dweight"));
  if (!scheduledGemm(a.opts)) {
    Func sum(a.name("dweight_sum"));
    sum(i, u) = 0.f;
    sum(i, u) += dz.f(u, r.x) * a.inputs[0].f(i, r.x);
    Dims d;
    d.vars = {i, u};
    d.extents = {features, units};
    scheduleReduction(sum, d, {r.x}, a.opts);
    dw(i, u) = sum(i, u) + regularizationGradient(a, p, w(i, u));
    return dw;
  }
  MachineShape m = machineShape(a.opts);
  const LValue &x = a.inputs[0];
  GemmSpec spec{a.name("dweight_acc"), a.batch, [&](Expr v, Expr k) { return x.f(v, k); },
                [&](Expr c, Expr k) { return dz.f(c, k); }, {}, l1SetsOfRows(features) < kPackBelowSets};
  GemmTileFunc gemm(spec, chooseGemmTile(m, features, units));
  dw(i, u) = gemm(i, u) + regularizationGradient(a, p, w(i, u));
  // Parallel over blocks of features once the batch makes it worth it.
  using Order = GemmTileFunc::Order;
  const double flopsPerSample = 2.0 * features * units;
  const int parallelBatch = std::max(1, static_cast<int>(std::ceil(kParallelFlops / flopsPerSample)));
  if (parallelBatch > 1) gemm.tileStage(dw.specialize(a.batch >= parallelBatch), i, u, Order::VOuter, true);
  gemm.tileStage(dw, i, u, Order::VOuter, parallelBatch <= 1);
  gemm.computeAt(dw, Order::VOuter);
  dw.compute_root();
  return dw;
}

}  // namespace lower
}  // namespace nncc
