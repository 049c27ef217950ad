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
// reduction over every other dim (the batch's extent `batch`). With
// `split` (a scheduled image, x innermost), the sums are two-level: a
// partial sum per (lane, sample, channel) over the spatial dims, the
// innermost in steps of `lanes` (a vector accumulator in registers), then
// those partial sums added up per channel, the channels in parallel; in a
// fixed order, so the same floats on any number of threads. (One serial
// scalar loop per channel took a tenth of vgg_cifar's training step; a
// standalone sum over 32 x 64 x 32 x 32 floats: 0.54 ms that way, 0.29 ms
// split on 1 thread, 0.14 ms on 2. Halide's rfactor of the same sum kept
// the partial sums in memory: 1.55 ms.)
struct ChannelStats {
  Dims d;
  size_t k;           // the channel's Halide dim
  Halide::RDom r;     // split: the spatial dims; else every dim but the channel, the batch last
  Halide::Var c{"c"}, u{"lane"}, n{"sample"};
  bool split = false;
  int lanes = 1;
  Expr batch;
  Expr count;         // elements per channel
  Func mean, var, invstd;
  std::string name;

  // x's coordinates at reduction point r (lane u, sample n) for channel c.
  std::vector<Expr> at() const {
    std::vector<Expr> e;
    int j = 0;
    for (size_t i = 0; i < d.size(); ++i) {
      if (i == k) e.push_back(c);
      else if (split && i + 1 == d.size()) e.push_back(n);
      else if (split && i == 0) e.push_back(r[j++] * lanes + u);
      else e.push_back(r[j++]);
    }
    return e;
  }
};

// The sum over the reduction of `e` (an expression of at()'s coordinates)
// per channel, computed at the root.
Func channelSum(const ChannelStats &s, Expr e, Namer &namer, const std::string &suffix) {
  Func f(namer.unique(s.name + "_" + suffix));
  if (!s.split) {
    f(s.c) = Halide::sum(e);
    f.compute_root();
    return f;
  }
  Func part(namer.unique(s.name + "_" + suffix + "_part"));
  part(s.u, s.n, s.c) = 0.f;
  part(s.u, s.n, s.c) += e;
  Halide::RDom rf({{0, s.lanes}, {0, s.batch}}, namer.unique(s.name + "_" + suffix + "_r"));
  f(s.c) = 0.f;
  f(s.c) += part(rf.x, rf.y, s.c);
  f.compute_root();
  f.update().parallel(s.c);
  part.compute_at(f, rf.y).bound_extent(s.u, s.lanes);
  std::vector<Halide::VarOrRVar> order{s.u};
  for (int i = 0; i < s.r.dimensions(); ++i) order.emplace_back(s.r[i]);
  part.update().reorder(order);
  if (s.lanes > 1) {
    part.vectorize(s.u);
    part.update().vectorize(s.u);
  }
  return f;
}

ChannelStats channelStats(const Op &op, const LValue &x, Expr batch, double eps, Namer &namer,
                          const LowerOptions &opts) {
  ChannelStats s;
  s.d = dimsOf(x.shape);
  s.k = halideDim(x.shape.size(), 0);
  s.batch = batch;
  s.name = op.name;
  s.split = opts.schedule && opts.vectorize && s.k != 0 && s.d.size() >= 3;
  if (s.split) {
    int natural = opts.target.natural_vector_size(Halide::Float(32));
    while (s.lanes * 2 <= natural && s.d.extents[0] % (s.lanes * 2) == 0) s.lanes *= 2;
  }
  std::vector<Halide::Range> ranges;
  Expr count = batch;
  for (size_t i = 0; i + 1 < s.d.size(); ++i)
    if (i != s.k) {
      ranges.emplace_back(0, i == 0 && s.split ? s.d.extents[i] / s.lanes : s.d.extents[i]);
      count = count * s.d.extents[i];
    }
  if (!s.split) ranges.emplace_back(0, batch);
  s.r = Halide::RDom(ranges, namer.unique(op.name + "_r"));
  s.count = Halide::cast<float>(count);
  s.mean = Func(namer.unique(op.name + "_mean"));
  s.var = Func(namer.unique(op.name + "_var"));
  s.invstd = Func(namer.unique(op.name + "_invstd"));
  std::vector<Expr> at = s.at();
  Func sum = channelSum(s, x.f(at), namer, "sum");
  s.mean(s.c) = sum(s.c) / s.count;
  s.mean.compute_root();
  Expr dev = x.f(at) - s.mean(s.c);
  Func sq = channelSum(s, dev * dev, namer, "sumsq");
  s.var(s.c) = sq(s.c) / s.count;
  s.invstd(s.c) = 1.f / Halide::sqrt(s.var(s.c) + f32(eps));
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
  ChannelStats s = channelStats(op, x, batch, eps, namer, opts);
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
  ChannelStats s = channelStats(a.op, x, a.batch, a.op.floatAttr("epsilon"), a.namer, a.opts);
  LValue dz = gradThroughFusedActivation(a);
  std::vector<Expr> at = s.at();
  Func sdy = channelSum(s, dz.f(at), a.namer, "sum_dy");
  Func sdyx = channelSum(s, dz.f(at) * (x.f(at) - s.mean(s.c)) * s.invstd(s.c), a.namer, "sum_dy_xhat");
  Func dx(a.name("dinput"));
  Expr c = channelOf(s.d, s.k);
  Expr xhat = (x.f(s.d.exprs()) - s.mean(c)) * s.invstd(c);
  dx(s.d.vars) = a.param(ParamRole::BNWeight)(c) * s.invstd(c) *
                 (dz.f(s.d.exprs()) - sdy(c) / s.count - xhat * sdyx(c) / s.count);
  schedulePointwise(dx, s.d, a.opts);
  return dx;
}

Func batchNormParamGradient(const GradArgs &a, const Param &p) {
  const LValue &x = a.inputs[0];
  ChannelStats s = channelStats(a.op, x, a.batch, a.op.floatAttr("epsilon"), a.namer, a.opts);
  LValue dz = gradThroughFusedActivation(a);
  std::vector<Expr> at = s.at();
  const bool weight = p.role == ParamRole::BNWeight;
  Func sum = channelSum(s, weight ? dz.f(at) * (x.f(at) - s.mean(s.c)) * s.invstd(s.c) : dz.f(at), a.namer,
                        weight ? "dweight_sum" : "dbias_sum");
  Func g(a.name(weight ? "dweight" : "dbias"));
  g(s.c) = sum(s.c);
  return g;
}

}  // namespace lower
}  // namespace nncc
