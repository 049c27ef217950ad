// Optimizer update kernels, as torch.optim 1.13 (weight_decay 0: the
// regularization is part of the cost and its gradient), one element-wise
// kernel per parameter size computing the new parameter and the new state in
// one loop (a Tuple), in place:
//   sgd:      v = momentum*v + g; step = nesterov ? g + momentum*v : v (v unused without momentum)
//   adagrad:  s += g^2; p -= lr * g / (sqrt(s) + eps)
//   adadelta: s = rho*s + (1-rho) g^2; d = sqrt(a + eps) / sqrt(s + eps) * g;
//             a = rho*a + (1-rho) d^2; p -= lr * d
//   rmsprop:  s = alpha*s + (1-alpha) g^2; p -= lr * g / (sqrt(s) + eps)
//   adam:     m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//             p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), bc = 1 - beta^t
// The learning rate and Adam's bias corrections are scalar arguments the
// runtime computes per step (schedules, step count). The same update, on the
// gradient Func itself, ends a weight-gradient kernel in train_step
// (TrainKernels.cpp, lowerFusedUpdateKernel).
#include "compiler/lower/TrainKernels.h"

namespace nncc {
namespace lower {

using Halide::Expr;

std::vector<std::string> optimizerStateNames(const std::string &optimizer, const std::map<std::string, double> &args) {
  if (optimizer == "sgd")
    return args.count("momentum") && args.at("momentum") != 0.0 ? std::vector<std::string>{"momentum_buffer"}
                                                                : std::vector<std::string>{};
  if (optimizer == "adagrad") return {"sum"};
  if (optimizer == "rmsprop") return {"square_avg"};
  if (optimizer == "adadelta") return {"square_avg", "acc_delta"};
  if (optimizer == "adam") return {"exp_avg", "exp_avg_sq"};
  throw LoweringError("unknown optimizer '" + optimizer + "'");
}

int optimizerStates(const std::string &optimizer, const std::map<std::string, double> &args) {
  return static_cast<int>(optimizerStateNames(optimizer, args).size());
}

Halide::Func lowerOptimizerUpdate(const TrainingConfig &t, const std::vector<Halide::Var> &at, const Expr &pv,
                                  const Expr &gv, const std::vector<Expr> &states, const UpdateScalars &sc, Namer &namer) {
  auto arg = [&](const char *name) { return f32(t.optimizerArgs.at(name)); };
  std::vector<Expr> next;
  const std::string &o = t.optimizer;
  if (o == "sgd") {
    if (states.empty()) {
      next = {pv - sc.lr * gv};
    } else {
      Expr m = arg("momentum");
      Expr v = m * states[0] + gv;
      bool nesterov = t.optimizerArgs.count("nesterov") && t.optimizerArgs.at("nesterov") != 0.0;
      Expr step = nesterov ? gv + m * v : v;
      next = {pv - sc.lr * step, v};
    }
  } else if (o == "adagrad") {
    Expr s = states[0] + gv * gv;
    next = {pv - sc.lr * gv / (Halide::sqrt(s) + arg("epsilon")), s};
  } else if (o == "adadelta") {
    Expr rho = arg("rho"), eps = arg("epsilon");
    Expr s = rho * states[0] + (1.f - rho) * gv * gv;
    Expr delta = Halide::sqrt(states[1] + eps) / Halide::sqrt(s + eps) * gv;
    Expr acc = rho * states[1] + (1.f - rho) * delta * delta;
    next = {pv - sc.lr * delta, s, acc};
  } else if (o == "rmsprop") {
    Expr alpha = arg("alpha");
    Expr s = alpha * states[0] + (1.f - alpha) * gv * gv;
    next = {pv - sc.lr * gv / (Halide::sqrt(s) + arg("epsilon")), s};
  } else if (o == "adam") {
    Expr b1 = arg("beta1"), b2 = arg("beta2");
    Expr m = b1 * states[0] + (1.f - b1) * gv;
    Expr v = b2 * states[1] + (1.f - b2) * gv * gv;
    Expr denom = Halide::sqrt(v) / Halide::sqrt(sc.bc2) + arg("epsilon");
    next = {pv - (sc.lr / sc.bc1) * m / denom, m, v};
  } else {
    throw LoweringError("unknown optimizer '" + o + "'");
  }
  Halide::Func upd(namer.unique("update"));
  if (next.size() == 1) upd(at) = next[0];
  else upd(at) = Halide::Tuple(next);
  return upd;
}

Halide::Func lowerOptimizerUpdate(const TrainingConfig &t, const Halide::ImageParam &p, const Halide::ImageParam &g,
                                  const std::vector<Halide::ImageParam> &states, const UpdateScalars &sc,
                                  Namer &namer) {
  Halide::Var i("i");
  std::vector<Expr> s;
  for (const Halide::ImageParam &st : states) s.push_back(st(i));
  return lowerOptimizerUpdate(t, {i}, p(i), g(i), s, sc, namer);
}

}  // namespace lower
}  // namespace nncc
