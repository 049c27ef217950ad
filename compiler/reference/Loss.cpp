// The reference training cost (see Loss.h). Each loss is written the obvious
// way, in double: softmax_cross_entropy through log-sum-exp, cross_entropy
// and binary_cross_entropy with PyTorch's clamp of the logs at -100, mse as
// the mean square; regularization as l2/2 sum w^2 + l1 sum |w| over the
// regularized weights.
#include "compiler/reference/Loss.h"

#include <algorithm>
#include <cmath>

namespace nncc {
namespace {

double lossOf(LossKind kind, const TensorF32 &y, const TrainingTarget &t, std::string &error) {
  int64_t n = y.shape[0], per = static_cast<int64_t>(y.data.size()) / std::max<int64_t>(n, 1);
  double total = 0;
  if (kind == LossKind::SoftmaxCrossEntropy || kind == LossKind::CrossEntropy) {
    if (static_cast<int64_t>(t.labels.size()) != n) {
      error = "expected one label per sample";
      return 0;
    }
    for (int64_t s = 0; s < n; ++s) {
      const float *row = &y.data[static_cast<size_t>(s * per)];
      int32_t l = t.labels[static_cast<size_t>(s)];
      if (l < 0 || l >= per) {
        error = "label out of range";
        return 0;
      }
      if (kind == LossKind::SoftmaxCrossEntropy) {
        double mx = *std::max_element(row, row + per), se = 0;
        for (int64_t i = 0; i < per; ++i) se += std::exp(double(row[i]) - mx);
        total += mx + std::log(se) - row[l];
      } else {
        total += -std::max(std::log(double(row[l])), -100.0);
      }
    }
    return total / double(n);
  }
  if (t.values.data.size() != y.data.size()) {
    error = "target size differs from the output's";
    return 0;
  }
  for (size_t i = 0; i < y.data.size(); ++i) {
    double p = y.data[i], q = t.values.data[i];
    if (kind == LossKind::BinaryCrossEntropy)
      total += -(q * std::max(std::log(p), -100.0) + (1 - q) * std::max(std::log(1 - p), -100.0));
    else
      total += (p - q) * (p - q);
  }
  return total / double(y.data.size());
}

}  // namespace

bool referenceCost(const Graph &g, const TensorMap &params, const std::vector<TensorF32> &inputs,
                   const std::vector<TrainingTarget> &targets, double &cost, std::string &error,
                   const TrainingMode *mode) {
  if (!g.training) {
    error = "the model has no training section";
    return false;
  }
  const TrainingConfig &tc = *g.training;
  if (targets.size() != tc.losses.size()) {
    error = "expected one target per loss";
    return false;
  }
  // Every value a loss reads becomes an output of the run.
  Graph h = g;
  h.outputs.clear();
  for (const Loss &l : tc.losses) h.outputs.push_back(l.output);
  std::vector<TensorF32> outs;
  if (!runReference(h, params, inputs, outs, error, mode)) return false;
  cost = 0;
  for (size_t k = 0; k < tc.losses.size(); ++k) {
    cost += lossOf(tc.losses[k].kind, outs[k], targets[k], error);
    if (!error.empty()) return false;
  }
  for (const Param &p : g.params) {
    if (!p.trainable || !p.regularized) continue;
    for (float w : params.at(p.name).data) cost += tc.l2 / 2 * double(w) * double(w) + tc.l1 * std::fabs(double(w));
  }
  return true;
}

bool finiteDifferenceGradients(const Graph &g, const TensorMap &params, const std::vector<TensorF32> &inputs,
                               const std::vector<TrainingTarget> &targets, double h, TensorMap &grads,
                               std::string &error, const TrainingMode *mode) {
  TensorMap work = params;
  for (const Param &p : g.params) {
    if (!p.trainable) continue;
    TensorF32 grad;
    grad.shape = p.shape;
    std::vector<float> &w = work.at(p.name).data;
    for (size_t i = 0; i < w.size(); ++i) {
      float original = w[i];
      double step = h * std::max(1.0, std::fabs(double(original)));
      float up = static_cast<float>(original + step), down = static_cast<float>(original - step);
      double cUp = 0, cDown = 0;
      w[i] = up;
      if (!referenceCost(g, work, inputs, targets, cUp, error, mode)) return false;
      w[i] = down;
      if (!referenceCost(g, work, inputs, targets, cDown, error, mode)) return false;
      w[i] = original;
      grad.data.push_back(static_cast<float>((cUp - cDown) / (double(up) - double(down))));
    }
    grads[p.name] = grad;
  }
  return true;
}

}  // namespace nncc
