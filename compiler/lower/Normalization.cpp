// Lowering of the normalization family: batchnorm in inference mode (running
// statistics) and the preprocess op the frontend inserts for a model's
// `preprocess` entry. Both act per channel of [C, H, W] or per feature of
// [F]: axis 0 of the per-sample shape, the outermost Halide dimension before
// the batch.
#include "compiler/lower/LowerOps.h"

#include <cmath>

namespace nncc {
namespace lower {
namespace {

using Halide::Expr;
using Halide::Func;

// The per-channel scale is tiny: computed once (compute_root, serial); the
// normalized value is pointwise.
void scheduleBatchNorm(Func scale, Func out, const Dims &d, const LowerOptions &opts) {
  if (opts.schedule) scale.compute_root();
  schedulePointwise(out, d, opts);
}

void schedulePreprocess(Func out, const Dims &d, const LowerOptions &opts) { schedulePointwise(out, d, opts); }

void checkSameShape(const OpArgs &a) {
  if (a.in().shape != a.outShape || a.outShape.empty())
    throw LoweringError(a.op.name + ": input shape " + shapeStr(a.in().shape) + " differs from the output shape " +
                        shapeStr(a.outShape));
}

// One value for every channel, or a constant table indexed by the channel.
Expr perChannel(const std::vector<double> &v, int channels, const Halide::Var &c, const std::string &what,
                const std::string &op) {
  if (v.size() == 1) return f32(v[0]);
  if (static_cast<int>(v.size()) != channels)
    throw LoweringError(op + ": preprocess has " + std::to_string(v.size()) + " " + what + " values for " +
                        std::to_string(channels) + " channels");
  Halide::Buffer<float> table(channels, op + "_" + what);
  for (int k = 0; k < channels; ++k) table(k) = static_cast<float>(v[static_cast<size_t>(k)]);
  return table(c);
}

}  // namespace

// y = (x - running_mean[c]) * (weight[c] / sqrt(running_var[c] + epsilon)) + bias[c].
Func lowerBatchNorm(const OpArgs &a) {
  checkSameShape(a);
  Dims d = a.outDims();
  Halide::Var c = d.vars[halideDim(a.outShape.size(), 0)];
  const Halide::ImageParam &beta = a.param(ParamRole::BNBias), &mean = a.param(ParamRole::RunningMean);
  Func scale = batchNormScale(a, a.op.floatAttr("epsilon")), out(a.name());
  out(d.vars) = (a.in().f(d.exprs()) - mean(c)) * scale(c) + beta(c);
  scheduleBatchNorm(scale, out, d, a.opts);
  return out;
}

Func batchNormScale(const OpArgs &a, double epsilon) {
  Halide::Var c("c");
  Func scale(a.name("scale"));
  scale(c) = a.param(ParamRole::BNWeight)(c) / Halide::sqrt(a.param(ParamRole::RunningVar)(c) + f32(epsilon));
  return scale;
}

LValue preprocessed(const LValue &in, const std::vector<double> &meanValues, const std::vector<double> &stdValues,
                    Namer &namer, const std::string &name) {
  Dims d = dimsOf(in.shape);
  Halide::Var c = d.vars[halideDim(in.shape.size(), 0)];
  int channels = static_cast<int>(in.shape[0]);
  std::string base = namer.unique(name + "_table");
  Expr mean = perChannel(meanValues, channels, c, "mean", base);
  Expr stdev = perChannel(stdValues, channels, c, "std", base);
  Func out(namer.unique(name));
  out(d.vars) = (in.f(d.exprs()) - mean) / stdev;
  return {out, in.shape};
}

// y = (x - mean[c]) / std[c].
Func lowerPreprocess(const OpArgs &a) {
  checkSameShape(a);
  LValue out = preprocessed(a.in(), a.op.attr("mean").floats, a.op.attr("std").floats, a.namer, a.op.name);
  schedulePreprocess(out.f, dimsOf(a.outShape), a.opts);
  return out.f;
}

}  // namespace lower
}  // namespace nncc
