// Numerical safety of the training kernels (issue 6): the losses and their
// gradients stay finite on extreme logits (+-1e4, +-3e38), on probabilities
// that are exactly 0 or 1, and batchnorm in training mode on a constant
// batch (zero variance). The model's first layer is a dense layer set to the
// identity, so the inputs reach the loss unchanged.
#include "compiler/weights/WeightBinding.h"
#include "tests/unit/CompiledModel.h"

#include <cmath>

namespace nncc {
namespace {

using testing_support::CompiledModel;
using testing_support::compileModel;
using testing_support::prepareModel;

using StepFn = int (*)(void *, int, const float *, const void *, float *);

std::string model(const std::string &tail, const std::string &loss) {
  return R"({"nncc": 1, "name": "num", "max_batch": 8, "inputs": [{"name": "x", "shape": [4]}],
    "layers": [{"type": "dense", "name": "id", "units": 4})" + tail + R"(],
    "training": {"loss": )" + loss + R"(, "optimizer": {"type": "sgd"}}})";
}

// Compiles with id = identity, runs compute_gradients, checks the loss and
// every gradient are finite; returns the loss.
float lossOf(const std::string &json, const std::vector<float> &x, const void *targets, int batch) {
  Graph g = prepareModel(json);
  Diagnostics diags;
  TensorMap params;
  EXPECT_TRUE(loadWeightsForGraph(g, "", false, params, diags));
  for (size_t i = 0; i < 16; ++i) params.at("id.weight").data[i] = i % 5 == 0 ? 1.f : 0.f;
  for (float &b : params.at("id.bias").data) b = 0.f;
  CompiledModel c;
  std::string error;
  EXPECT_TRUE(compileModel(g, params, c, error)) << error;
  if (!c.lib) return NAN;
  void *m = c.create();
  float loss = NAN;
  EXPECT_EQ(reinterpret_cast<StepFn>(c.computeGradients)(m, batch, x.data(), targets, &loss), 0) << c.lastError(m);
  const float *grads = c.gradients(m);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(std::isfinite(grads[i])) << "gradient " << i << " = " << grads[i];
  EXPECT_TRUE(std::isfinite(loss));
  c.destroy(m);
  return loss;
}

TEST(TrainingNumerics, SoftmaxCrossEntropyOnExtremeLogits) {
  std::vector<float> x = {1e4f, -1e4f, 1e4f, -1e4f, -1e4f, -1e4f, -1e4f, -1e4f,
                          3e38f, -3e38f, 0.f, 0.f, 5.f, 5.f, 5.f, 5.f};
  std::vector<int32_t> labels = {1, 2, 0, 3};
  float loss = lossOf(model("", R"({"type": "softmax_cross_entropy"})"), x, labels.data(), 4);
  // Per sample: log-sum-exp minus the label's logit: (1e4 + ln 2) - (-1e4)
  // (label on a -1e4 logit next to two 1e4 ones), ln 4, 0 (label on the
  // 3e38 logit), ln 4; mean over 4.
  EXPECT_NEAR(loss, (2e4 + std::log(2.0) + std::log(4.0) + 0 + std::log(4.0)) / 4, 1e-2);
}

TEST(TrainingNumerics, CrossEntropyOnZeroProbabilities) {
  std::vector<float> x = {1e4f, -1e4f, 0.f, 0.f};
  std::vector<int32_t> labels = {1};
  // softmax gives exactly 0 for the labelled class: the log is clamped at
  // -100, as PyTorch's BCE does, so the cost is 100 and finite.
  float loss = lossOf(model(R"(, {"type": "softmax", "name": "p"})", R"({"type": "cross_entropy"})"), x, labels.data(), 1);
  EXPECT_NEAR(loss, 100.0, 1e-3);
}

TEST(TrainingNumerics, BinaryCrossEntropyAtZeroAndOne) {
  std::vector<float> x = {1e4f, -1e4f, 80.f, -80.f};
  std::vector<float> t = {0.f, 1.f, 1.f, 0.f};
  // sigmoid(+-1e4) is exactly 1 or 0 in float: the wrong ones cost 100 each
  // (clamped logs), the right ones ~0.
  float loss = lossOf(model(R"(, {"type": "sigmoid", "name": "p"})", R"({"type": "binary_cross_entropy"})"), x, t.data(), 1);
  EXPECT_NEAR(loss, (100.0 + 100.0) / 4, 1e-2);
}

TEST(TrainingNumerics, MseOnHugeValuesAndBatchNormOnAConstantBatch) {
  std::vector<float> x(8 * 4, 3.f);  // every sample the same: zero batch variance
  std::vector<float> t(8 * 4, 1.f);
  float loss = lossOf(model(R"(, {"type": "batchnorm", "name": "bn"})", R"({"type": "mse"})"), x, t.data(), 8);
  // (3 - 3) / sqrt(0 + eps) * 1 + 0 = 0 everywhere: the cost is (0 - 1)^2 = 1.
  EXPECT_NEAR(loss, 1.0, 1e-6);
}

}  // namespace
}  // namespace nncc
