// Loss kernels, as the model format defines them: softmax_cross_entropy on
// logits (a stable log-sum-exp) and cross_entropy on probabilities, both with
// int32 class labels and averaged over the batch; binary_cross_entropy and
// mse averaged over every element, as PyTorch's reduction='mean' (BCE clamps
// its logs at -100 as PyTorch does). Each gives the cost, the gradient of the
// cost with respect to the output, and the number of correct predictions
// (classification: arg-max equals the label, first maximum on ties;
// binary_cross_entropy: elements on the right side of 0.5; mse: none).
#include "compiler/lower/TrainKernels.h"

namespace nncc {
namespace lower {

using Halide::Expr;
using Halide::Func;

LossFuncs lowerLoss(LossKind kind, const LValue &y, const LValue &target, Expr batch, Namer &namer,
                    const LowerOptions &opts) {
  LossFuncs out{Func(namer.unique("cost")), Func(namer.unique("doutput")), Func(namer.unique("correct"))};
  Dims d = dimsOf(y.shape);
  Halide::Var j("j");
  Expr nf = Halide::cast<float>(batch);
  if (kind == LossKind::SoftmaxCrossEntropy || kind == LossKind::CrossEntropy) {
    if (y.shape.size() != 1) throw LoweringError("a classification loss needs a vector output, got " + shapeStr(y.shape));
    int classes = static_cast<int>(y.shape[0]);
    Halide::Var i = d.vars[0], n = d.vars[1];
    Halide::RDom rc({Halide::Range(0, classes)}, namer.unique("rc"));
    Halide::RDom rn({Halide::Range(0, batch)}, namer.unique("rn"));
    Func label(namer.unique("label"));
    label(n) = Halide::clamp(target.f(n), 0, classes - 1);  // checked by the runtime; clamped for safety
    Func best(namer.unique("argmax"));
    best(n) = Halide::argmax(rc, y.f(rc.x, n));
    best.compute_root();
    Func term(namer.unique("loss_term"));
    if (kind == LossKind::SoftmaxCrossEntropy) {
      Func mx(namer.unique("max")), se(namer.unique("sumexp")), lse(namer.unique("logsumexp"));
      mx(n) = Halide::maximum(y.f(rc.x, n));
      se(n) = Halide::sum(Halide::exp(y.f(rc.x, n) - mx(n)));
      lse(n) = mx(n) + Halide::log(se(n));
      lse.compute_root();
      term(n) = lse(n) - y.f(label(n), n);
      out.doutput(i, n) = (Halide::exp(y.f(i, n) - lse(n)) - Halide::select(i == label(n), 1.f, 0.f)) / nf;
    } else {
      Expr p = y.f(label(n), n);
      Expr lp = Halide::log(p);
      term(n) = -Halide::max(lp, -100.f);
      Expr pi = y.f(i, n);
      out.doutput(i, n) = Halide::select(i == label(n) && Halide::log(pi) >= -100.f, -1.f / pi, 0.f) / nf;
    }
    term.compute_root();
    out.cost(j) = 0.f;
    out.cost(j) += term(rn.x) / nf;
    out.correct(j) = 0.f;
    out.correct(j) += Halide::select(best(rn.x)[0] == label(rn.x), 1.f, 0.f);
    schedulePointwise(out.doutput, d, opts);
    return out;
  }
  // Element-wise losses over every element of the batch.
  std::vector<Halide::Range> ranges;
  for (size_t k = 0; k + 1 < d.size(); ++k) ranges.emplace_back(0, d.extents[k]);
  ranges.emplace_back(0, batch);
  Halide::RDom r(ranges, namer.unique("r"));
  std::vector<Expr> at;
  for (int k = 0; k < r.dimensions(); ++k) at.push_back(r[k]);
  Expr numel = nf * f32(static_cast<double>(numElements(y.shape)));
  Expr yv = y.f(d.exprs()), tv = target.f(d.exprs());
  Expr yr = y.f(at), tr = target.f(at);
  out.cost(j) = 0.f;
  out.correct(j) = 0.f;
  if (kind == LossKind::BinaryCrossEntropy) {
    Expr lp = Halide::max(Halide::log(yr), -100.f), l1p = Halide::max(Halide::log(1.f - yr), -100.f);
    out.cost(j) += -(tr * lp + (1.f - tr) * l1p) / numel;
    out.doutput(d.vars) = (yv - tv) / Halide::max((1.f - yv) * yv, 1e-12f) / numel;
    out.correct(j) += Halide::select((yr > 0.5f) == (tr > 0.5f), 1.f, 0.f);
  } else {
    out.cost(j) += (yr - tr) * (yr - tr) / numel;
    out.doutput(d.vars) = 2.f * (yv - tv) / numel;
  }
  schedulePointwise(out.doutput, d, opts);
  return out;
}

Func lowerRegularizationCost(const Halide::ImageParam &w, int64_t numel, double l1, double l2, Namer &namer) {
  Halide::RDom r({Halide::Range(0, static_cast<int>(numel))}, namer.unique("r"));
  Halide::Var j("j");
  Func cost(namer.unique("regularization"));
  Expr v = w(r.x);
  cost(j) = 0.f;
  cost(j) += f32(l2 / 2) * v * v + f32(l1) * Halide::abs(v);
  return cost;
}

}  // namespace lower
}  // namespace nncc
