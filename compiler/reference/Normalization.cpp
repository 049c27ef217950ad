// Reference kernels of the normalization family: batchnorm in inference mode
// (running statistics) and the preprocess op the frontend inserts for a
// model's `preprocess` entry. Both act per channel of [C, H, W] or per
// feature of [F], i.e. along axis 0 of the per-sample shape.
#include "compiler/reference/Indexing.h"
#include "compiler/reference/Kernels.h"

#include <cmath>

namespace nncc {
namespace reference {
namespace {

bool sameShape(const KernelArgs &a, std::string &error) {
  if (a.in().shape == a.out.shape && a.in().shape.size() >= 2) return true;
  error = "input shape " + shapeStr(a.in().shape) + " differs from the output shape " + shapeStr(a.out.shape);
  return false;
}

}  // namespace

// y = (x - running_mean[c]) / sqrt(running_var[c] + epsilon) * weight[c] + bias[c].
bool runBatchNorm(const KernelArgs &a, std::string &error) {
  if (!sameShape(a, error)) return false;
  return batchNormInference(a, a.in(), a.out, error);
}

bool batchNormInference(const KernelArgs &a, const TensorF32 &in, TensorF32 &out, std::string &error) {
  AxisSplit s = splitAtAxis(in, 0);
  const ParamRole roles[] = {ParamRole::BNWeight, ParamRole::BNBias, ParamRole::RunningMean, ParamRole::RunningVar};
  for (ParamRole r : roles) {
    const TensorF32 *p = a.param(r);
    if (!p || p->shape != Shape{s.len}) {
      error = std::string("batchnorm parameter '") + paramRoleSuffix(r) + "' is missing or not of shape [" +
              std::to_string(s.len) + "]";
      return false;
    }
  }
  const auto &weight = a.param(ParamRole::BNWeight)->data, &bias = a.param(ParamRole::BNBias)->data;
  std::vector<double> mean(a.param(ParamRole::RunningMean)->data.begin(), a.param(ParamRole::RunningMean)->data.end());
  std::vector<double> var(a.param(ParamRole::RunningVar)->data.begin(), a.param(ParamRole::RunningVar)->data.end());
  if (a.training) {  // the batch's statistics, the variance biased
    double count = double(s.outer) * double(s.inner);
    for (int64_t c = 0; c < s.len; ++c) {
      double sum = 0, sq = 0;
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t k = 0; k < s.inner; ++k) sum += in.data[s.at(o, c, k)];
      mean[c] = sum / count;
      for (int64_t o = 0; o < s.outer; ++o)
        for (int64_t k = 0; k < s.inner; ++k) {
          double d = in.data[s.at(o, c, k)] - mean[c];
          sq += d * d;
        }
      var[c] = sq / count;
    }
  }
  double eps = a.op.kind == OpKind::BatchNorm ? a.op.floatAttr("epsilon") : a.op.fused.batchnormEpsilon;
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t c = 0; c < s.len; ++c) {
      double scale = double(weight[c]) / std::sqrt(var[c] + eps);
      for (int64_t k = 0; k < s.inner; ++k) {
        double x = in.data[s.at(o, c, k)];
        out.data[s.at(o, c, k)] = static_cast<float>((x - mean[c]) * scale + double(bias[c]));
      }
    }
  return true;
}

bool runPreprocess(const KernelArgs &a, std::string &error) {
  if (!sameShape(a, error)) return false;
  return preprocessTensor(a.in(), a.op.attr("mean").floats, a.op.attr("std").floats, a.out, error);
}

bool preprocessTensor(const TensorF32 &in, const std::vector<double> &mean, const std::vector<double> &stdev,
                      TensorF32 &out, std::string &error) {
  out.shape = in.shape;
  out.data.resize(in.data.size());
  AxisSplit s = splitAtAxis(in, 0);
  for (const auto *v : {&mean, &stdev}) {
    if (v->size() != 1 && static_cast<int64_t>(v->size()) != s.len) {
      error = "preprocess has " + std::to_string(v->size()) + " values for " + std::to_string(s.len) + " channels";
      return false;
    }
  }
  auto pick = [](const std::vector<double> &v, int64_t c) { return v.size() == 1 ? v[0] : v[static_cast<size_t>(c)]; };
  for (int64_t o = 0; o < s.outer; ++o)
    for (int64_t c = 0; c < s.len; ++c)
      for (int64_t k = 0; k < s.inner; ++k) {
        double x = in.data[s.at(o, c, k)];
        out.data[s.at(o, c, k)] = static_cast<float>((x - pick(mean, c)) / pick(stdev, c));
      }
  return true;
}

}  // namespace reference
}  // namespace nncc
