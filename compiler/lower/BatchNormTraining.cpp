// Batchnorm in training mode, as PyTorch: normalize with the batch's mean and
// biased variance per channel (over N and the spatial axes), update the
// running statistics with `momentum` (the variance unbiased), and its
// gradients: with xhat = (x - mean) * invstd over the count M of each
// channel,
//   dx = weight * invstd * (dy - sum(dy) / M - xhat * sum(dy * xhat) / M)
//   dweight = sum(dy * xhat), dbias = sum(dy).
#include "compiler/lower/Gradients.h"

namespace nncc {
namespace lower {

using Halide::Expr;
using Halide::Func;

namespace {

// The channel statistics of x: the Halide dim of the channel axis and a
// reduction over every other dim (the batch's extent `batch`).
struct ChannelStats {
  Dims d;
  size_t k;           // the channel's Halide dim
  Halide::RDom r;     // over every other dim
  Halide::Var c{"c"};
  Expr count;         // elements per channel
  Func mean, var, invstd;

  // x's coordinates at reduction point r for channel c.
  std::vector<Expr> at() const {
    std::vector<Expr> e;
    int j = 0;
    for (size_t i = 0; i < d.size(); ++i) e.push_back(i == k ? Expr(c) : Expr(r[j++]));
    return e;
  }
};

ChannelStats channelStats(const Op &op, const LValue &x, Expr batch, double eps, Namer &namer) {
  ChannelStats s;
  s.d = dimsOf(x.shape);
  s.k = halideDim(x.shape.size(), 0);
  std::vector<Halide::Range> ranges;
  Expr count = batch;
  for (size_t i = 0; i + 1 < s.d.size(); ++i)
    if (i != s.k) {
      ranges.emplace_back(0, s.d.extents[i]);
      count = count * s.d.extents[i];
    }
  ranges.emplace_back(0, batch);
  s.r = Halide::RDom(ranges, namer.unique(op.name + "_r"));
  s.count = Halide::cast<float>(count);
  s.mean = Func(namer.unique(op.name + "_mean"));
  s.var = Func(namer.unique(op.name + "_var"));
  s.invstd = Func(namer.unique(op.name + "_invstd"));
  std::vector<Expr> at = s.at();
  s.mean(s.c) = Halide::sum(x.f(at)) / s.count;
  Expr dev = x.f(at) - s.mean(s.c);
  s.var(s.c) = Halide::sum(dev * dev) / s.count;
  s.invstd(s.c) = 1.f / Halide::sqrt(s.var(s.c) + f32(eps));
  s.mean.compute_root();
  s.var.compute_root();
  s.invstd.compute_root();
  return s;
}

// x's channel coordinate at the pure coordinates of a value's Func.
Expr channelOf(const Dims &d, size_t k) { return d.vars[k]; }

}  // namespace

BatchNormTrainFuncs batchNormTrainForward(const Op &op, const LValue &x,
                                          const std::map<ParamRole, Halide::ImageParam> &params, Expr batch,
                                          Namer &namer, const LowerOptions &opts) {
  double eps = op.floatAttr("epsilon"), momentum = op.floatAttr("momentum");
  ChannelStats s = channelStats(op, x, batch, eps, namer);
  const Halide::ImageParam &w = params.at(ParamRole::BNWeight), &b = params.at(ParamRole::BNBias);
  const Halide::ImageParam &rm = params.at(ParamRole::RunningMean), &rv = params.at(ParamRole::RunningVar);
  BatchNormTrainFuncs out{Func(namer.unique(op.name)), Func(namer.unique(op.name + "_running_mean")),
                          Func(namer.unique(op.name + "_running_var"))};
  Expr c = channelOf(s.d, s.k);
  out.y(s.d.vars) = (x.f(s.d.exprs()) - s.mean(c)) * s.invstd(c) * w(c) + b(c);
  schedulePointwise(out.y, s.d, opts);
  Halide::Var ch("ch");
  Expr unbiased = s.var(ch) * s.count / Halide::max(s.count - 1.f, 1.f);
  out.runningMean(ch) = (1.f - f32(momentum)) * rm(ch) + f32(momentum) * s.mean(ch);
  out.runningVar(ch) = (1.f - f32(momentum)) * rv(ch) + f32(momentum) * unbiased;
  return out;
}

Func batchNormInputGradient(const GradArgs &a) {
  const LValue &x = a.inputs[0];
  ChannelStats s = channelStats(a.op, x, a.batch, a.op.floatAttr("epsilon"), a.namer);
  LValue dz = gradThroughFusedActivation(a);
  std::vector<Expr> at = s.at();
  Func sdy(a.name("sum_dy")), sdyx(a.name("sum_dy_xhat")), dx(a.name("dinput"));
  sdy(s.c) = Halide::sum(dz.f(at));
  sdyx(s.c) = Halide::sum(dz.f(at) * (x.f(at) - s.mean(s.c)) * s.invstd(s.c));
  sdy.compute_root();
  sdyx.compute_root();
  Expr c = channelOf(s.d, s.k);
  Expr xhat = (x.f(s.d.exprs()) - s.mean(c)) * s.invstd(c);
  dx(s.d.vars) = a.param(ParamRole::BNWeight)(c) * s.invstd(c) *
                 (dz.f(s.d.exprs()) - sdy(c) / s.count - xhat * sdyx(c) / s.count);
  schedulePointwise(dx, s.d, a.opts);
  return dx;
}

Func batchNormParamGradient(const GradArgs &a, const Param &p) {
  const LValue &x = a.inputs[0];
  ChannelStats s = channelStats(a.op, x, a.batch, a.op.floatAttr("epsilon"), a.namer);
  LValue dz = gradThroughFusedActivation(a);
  std::vector<Expr> at = s.at();
  Func g(a.name(p.role == ParamRole::BNWeight ? "dweight" : "dbias"));
  if (p.role == ParamRole::BNWeight)
    g(s.c) = Halide::sum(dz.f(at) * (x.f(at) - s.mean(s.c)) * s.invstd(s.c));
  else
    g(s.c) = Halide::sum(dz.f(at));
  return g;
}

}  // namespace lower
}  // namespace nncc
