// Gradient checks: for small models exercising every gradient rule and loss,
// the generated code's gradients (a compiled object, loaded as a shared
// library, NAME_compute_gradients + NAME_gradients) against central finite
// differences of the reference interpreter's cost (compiler/reference/Loss.h),
// and the reported loss against the reference cost.
#include "compiler/ir/DropoutMask.h"
#include "compiler/reference/Loss.h"
#include "compiler/weights/Safetensors.h"
#include "compiler/weights/WeightBinding.h"
#include "tests/unit/CompiledModel.h"

#include <cmath>
#include <random>
#include <set>

namespace nncc {
namespace {

using testing_support::CompiledModel;
using testing_support::compileModel;
using testing_support::prepareModel;

// Checks the gradients of the parameters named in `only` (all when empty):
// the finite differences of a parameter cost two reference runs per element.
void checkGradients(const std::string &json, int batch, double rtol = 2e-2, double atol = 2e-3,
                    const std::set<std::string> &only = {}) {
  Graph g = prepareModel(json);
  ASSERT_TRUE(g.training.has_value());
  TensorMap params;
  CompiledModel c;
  ASSERT_NO_FATAL_FAILURE(compileSeeded(g, params, c));
  ASSERT_NE(c.computeGradients, nullptr);

  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  std::vector<TensorF32> inputs;
  for (int in : g.inputs) {
    TensorF32 t;
    t.shape = g.value(in).shape;
    t.shape.insert(t.shape.begin(), batch);
    for (int64_t i = 0; i < numElements(t.shape); ++i) t.data.push_back(uni(rng));
    inputs.push_back(t);
  }
  std::vector<TrainingTarget> targets;
  std::vector<const void *> targetPtrs;
  for (const Loss &l : g.training->losses) {
    TrainingTarget t;
    const Shape &s = g.value(l.output).shape;
    if (l.kind == LossKind::SoftmaxCrossEntropy || l.kind == LossKind::CrossEntropy) {
      for (int n = 0; n < batch; ++n) t.labels.push_back(static_cast<int32_t>(rng() % static_cast<uint32_t>(s[0])));
    } else {
      t.values.shape = s;
      t.values.shape.insert(t.values.shape.begin(), batch);
      for (int64_t i = 0; i < numElements(t.values.shape); ++i) t.values.data.push_back((uni(rng) + 1.f) / 2.f);
    }
    targets.push_back(t);
  }
  for (const TrainingTarget &t : targets)
    targetPtrs.push_back(t.labels.empty() ? static_cast<const void *>(t.values.data.data()) : t.labels.data());
  ASSERT_EQ(inputs.size(), 1u);

  void *m = c.create();
  ASSERT_NE(m, nullptr);
  float loss = 0;
  int rc;
  if (targetPtrs.size() == 1)
    rc = reinterpret_cast<int (*)(void *, int, const float *, const void *, float *)>(c.computeGradients)(
        m, batch, inputs[0].data.data(), targetPtrs[0], &loss);
  else
    rc = reinterpret_cast<int (*)(void *, int, const float *, const void *, const void *, float *)>(c.computeGradients)(
        m, batch, inputs[0].data.data(), targetPtrs[0], targetPtrs[1], &loss);
  ASSERT_EQ(rc, 0) << c.lastError(m);

  // compute_gradients at step 0 with the model's seed: training mode
  // (batch statistics, dropout's mask) in the reference too.
  TrainingMode mode{g.seed, 0};
  double cost = 0;
  std::string error;
  ASSERT_TRUE(referenceCost(g, params, inputs, targets, cost, error, &mode)) << error;
  EXPECT_NEAR(loss, cost, 1e-4 * std::max(1.0, std::fabs(cost)));
  Graph subset = g;
  for (Param &p : subset.params) p.trainable = p.trainable && (only.empty() || only.count(p.name));
  TensorMap fd;
  ASSERT_TRUE(finiteDifferenceGradients(subset, params, inputs, targets, 1e-3, fd, error, &mode)) << error;
  const float *grads = c.gradients(m);
  size_t offset = 0;
  int checked = 0;
  for (const Param &p : g.params) {
    if (!p.trainable) continue;
    if (!fd.count(p.name)) {
      offset += static_cast<size_t>(numElements(p.shape));
      continue;
    }
    const std::vector<float> &want = fd.at(p.name).data;
    for (size_t i = 0; i < want.size(); ++i, ++offset) {
      EXPECT_NEAR(grads[offset], want[i], atol + rtol * std::fabs(want[i])) << p.name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
  c.destroy(m);
}

const char *kHead = R"({"nncc": 1, "name": "gc", "init": {"seed": 3, "bias": "glorot_uniform"}, "max_batch": 5, )";

TEST(GradientCheck, DenseActivationsMseWithRegularization) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [4]}],
    "layers": [{"type": "dense", "name": "a", "units": 5, "activation": "tanh"},
               {"type": "dense", "name": "b", "units": 4, "activation": "sigmoid"},
               {"type": "dense", "name": "c", "units": 3}, {"type": "leaky_relu", "name": "lr", "alpha": 0.1},
               {"type": "dense", "name": "d", "units": 3}, {"type": "elu", "name": "e"}],
    "outputs": ["e"],
    "training": {"loss": {"type": "mse"}, "optimizer": {"type": "sgd"},
                 "regularization": {"l2": 0.01, "l1": 0.003}}})", 3);
}

TEST(GradientCheck, SoftmaxCrossEntropyOnLogits) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [6]}],
    "layers": [{"type": "dense", "name": "h", "units": 7, "activation": "relu"},
               {"type": "dense", "name": "logits", "units": 4}],
    "outputs": ["logits"],
    "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "adam"}}})", 5);
}

TEST(GradientCheck, CrossEntropyOnSoftmaxAndLogSoftmax) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [5]}],
    "layers": [{"type": "dense", "name": "h", "units": 6}, {"type": "log_softmax", "name": "ls"},
               {"type": "dense", "name": "o", "units": 3}, {"type": "softmax", "name": "probs"}],
    "outputs": ["probs"],
    "training": {"loss": {"type": "cross_entropy"}, "optimizer": {"type": "sgd"}}})", 4);
}

TEST(GradientCheck, BinaryCrossEntropy) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [3]}],
    "layers": [{"type": "dense", "name": "h", "units": 4, "activation": "relu"},
               {"type": "dense", "name": "p", "units": 2, "activation": "sigmoid"}],
    "outputs": ["p"],
    "training": {"loss": {"type": "binary_cross_entropy"}, "optimizer": {"type": "sgd"}}})", 4);
}

TEST(GradientCheck, ConvStrideDilationAsymmetricPadding) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [2, 7, 6]}],
    "layers": [{"type": "conv2d", "name": "c1", "filters": 3, "kernel": [3, 2], "stride": [2, 1],
                "padding": [1, 0, 2, 1], "dilation": [1, 2], "activation": "tanh"},
               {"type": "conv2d", "name": "c2", "filters": 4, "kernel": 2, "stride": 1, "padding": 0},
               {"type": "flatten", "name": "f"}, {"type": "dense", "name": "o", "units": 3}],
    "outputs": ["o"],
    "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "sgd"},
                 "regularization": {"l2": 0.02}}})", 2);
}

// Few filters x channels (6 x 1 and 4 x 6): the weight gradient vectorized
// over the output columns (conv2dWeightGradientPixels), rows of 19 columns
// (a partial second vector on AVX-512) and stride 2 in y.
TEST(GradientCheck, ConvWeightGradientOverColumns) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [1, 6, 19]}],
    "layers": [{"type": "conv2d", "name": "c1", "filters": 6, "kernel": 5, "padding": 2, "activation": "tanh"},
               {"type": "conv2d", "name": "c2", "filters": 2, "kernel": [2, 3], "stride": [2, 1]},
               {"type": "flatten", "name": "f"}, {"type": "dense", "name": "o", "units": 3}],
    "outputs": ["o"],
    "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "sgd"}}})", 2);
}

TEST(GradientCheck, GroupedConvAndPools) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [4, 9, 9]}],
    "layers": [{"type": "conv2d", "name": "g", "filters": 6, "kernel": 3, "padding": 1, "groups": 2,
                "activation": "relu"},
               {"type": "maxpool2d", "name": "mp", "size": 3, "stride": 2, "padding": 1, "ceil_mode": true},
               {"type": "conv2d", "name": "dw", "filters": 6, "kernel": 2, "groups": 6},
               {"type": "avgpool2d", "name": "ap", "size": 2, "stride": 1, "padding": 1, "count_include_pad": false},
               {"type": "global_avgpool2d", "name": "gap"}, {"type": "dense", "name": "o", "units": 3}],
    "outputs": ["o"],
    "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "sgd"}}})", 3);
}

TEST(GradientCheck, ResidualAddConcatGlobalMaxAndTwoLosses) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [2, 5, 5]}],
    "layers": [{"type": "conv2d", "name": "a", "filters": 3, "kernel": 3, "padding": 1, "activation": "relu"},
               {"type": "conv2d", "name": "b", "filters": 3, "kernel": 3, "padding": 1},
               {"type": "add", "name": "s", "inputs": ["a", "b"]}, {"type": "relu", "name": "r"},
               {"type": "conv2d", "name": "c", "filters": 2, "kernel": 1, "inputs": ["x"]},
               {"type": "concat", "name": "cat", "inputs": ["r", "c"], "axis": 0},
               {"type": "global_maxpool2d", "name": "gmp"},
               {"type": "avgpool2d", "name": "ap", "size": 2, "inputs": ["cat"], "count_include_pad": true},
               {"type": "flatten", "name": "fl"}, {"type": "dense", "name": "o2", "units": 2},
               {"type": "dense", "name": "o1", "units": 4, "inputs": ["gmp"]}],
    "outputs": ["o1", "o2"],
    "training": {"loss": [{"type": "softmax_cross_entropy", "output": "o1"}, {"type": "mse", "output": "o2"}],
                 "optimizer": {"type": "sgd"}}})", 2);
}

TEST(GradientCheck, BatchNormTrainingAndDropout) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [2, 5, 5]}],
    "layers": [{"type": "conv2d", "name": "c", "filters": 3, "kernel": 3, "padding": 1},
               {"type": "batchnorm", "name": "bn", "momentum": 0.2},
               {"type": "tanh", "name": "t"}, {"type": "dropout", "name": "drop", "rate": 0.3},
               {"type": "flatten", "name": "f"}, {"type": "dense", "name": "d", "units": 6},
               {"type": "batchnorm", "name": "bn1"}, {"type": "sigmoid", "name": "s"},
               {"type": "dense", "name": "o", "units": 3}],
    "outputs": ["o"],
    "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "sgd"}}})", 4);
}

TEST(GradientCheck, TransposedConvolutions) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [4, 3, 4]}],
    "layers": [{"type": "conv2d_transpose", "name": "up", "filters": 3, "kernel": 3, "stride": 2,
                "padding": [1, 0, 1, 1], "output_padding": [1, 0], "activation": "tanh"},
               {"type": "conv2d_transpose", "name": "g", "filters": 4, "kernel": 2, "dilation": 2, "groups": 1},
               {"type": "conv2d_transpose", "name": "grp", "filters": 4, "kernel": 2, "groups": 2},
               {"type": "global_avgpool2d", "name": "gap"}, {"type": "dense", "name": "o", "units": 3}],
    "outputs": ["o"],
    "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "sgd"},
                 "regularization": {"l2": 0.05}}})", 2);
}

// conv2d's data gradient on the scheduled kernels (a forward convolution of
// the output gradient with the flipped, transposed weights): channels
// innermost at stride 1 with padding, dilation (c, its fused relu's mask
// inlined into the repack), an asymmetric kernel and padding (d), at stride
// 2 through the spread output gradient (e); the direct tile for 12 channels
// (b's data gradient). Every data gradient reaches a's parameters.
TEST(GradientCheck, ConvDataGradientsOnTheConvKernels) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [4, 6, 6]}],
    "layers": [{"type": "conv2d", "name": "a", "filters": 12, "kernel": 3, "padding": 1, "activation": "tanh"},
               {"type": "conv2d", "name": "b", "filters": 16, "kernel": 3, "padding": 1},
               {"type": "conv2d", "name": "c", "filters": 16, "kernel": 3, "padding": 2, "dilation": 2,
                "activation": "relu"},
               {"type": "conv2d", "name": "d", "filters": 32, "kernel": [3, 2], "padding": [1, 0, 1, 1],
                "activation": "tanh"},
               {"type": "conv2d", "name": "e", "filters": 16, "kernel": 3, "stride": 2, "padding": 1},
               {"type": "global_avgpool2d", "name": "gap"}, {"type": "dense", "name": "o", "units": 3}],
    "outputs": ["o"],
    "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "sgd"},
                 "regularization": {"l2": 0.01}}})",
                 2, 2e-2, 2e-3, {"a.weight", "a.bias", "c.bias", "o.weight"});
}

// The conv weight gradient reduced in chunks of samples, the partial sums
// added over the chunks: per sample at 16 x 16 output pixels (b: 8 input
// channels, blocks of 6 shifted inwards), regularized; 4 samples per chunk
// at 8 x 8 (c), the batch of 5 ending in a chunk padded with 3 samples of
// zeros.
TEST(GradientCheck, ConvWeightGradientInChunks) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [3, 16, 16]}],
    "layers": [{"type": "conv2d", "name": "a", "filters": 8, "kernel": 3, "padding": 1, "activation": "tanh"},
               {"type": "conv2d", "name": "b", "filters": 8, "kernel": 3, "padding": 1, "activation": "relu"},
               {"type": "conv2d", "name": "c", "filters": 16, "kernel": 2, "stride": 2, "activation": "tanh"},
               {"type": "global_avgpool2d", "name": "gap"}, {"type": "dense", "name": "o", "units": 3}],
    "outputs": ["o"],
    "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "sgd"},
                 "regularization": {"l2": 0.02}}})",
                 5, 2e-2, 2e-3, {"b.weight", "c.weight"});
}

// A data gradient reduced over chunks of input channels: b's (64 output
// channels, so its data gradient reduces over 64 channels of 4 x 4 pixels,
// ConvWeightPacking::chunk); c's forward pass too. a's parameters see it.
TEST(GradientCheck, ConvDataGradientInInputChannelChunks) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [3, 4, 4]}],
    "layers": [{"type": "conv2d", "name": "a", "filters": 16, "kernel": 3, "padding": 1, "activation": "tanh"},
               {"type": "conv2d", "name": "b", "filters": 64, "kernel": 3, "padding": 1, "activation": "tanh"},
               {"type": "conv2d", "name": "c", "filters": 16, "kernel": 3, "padding": 1},
               {"type": "global_avgpool2d", "name": "gap"}, {"type": "dense", "name": "o", "units": 3}],
    "outputs": ["o"],
    "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "sgd"}}})",
                 3, 2e-2, 2e-3, {"a.weight", "a.bias", "b.bias"});
}

// Strided data gradients on the direct tile: grouped at stride 2, and
// stride 2 x 2 with dilation 2 across and asymmetric padding.
TEST(GradientCheck, StridedConvDataGradientsOnTheDirectTile) {
  checkGradients(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [3, 9, 9]}],
    "layers": [{"type": "conv2d", "name": "a", "filters": 6, "kernel": 3, "padding": 1, "activation": "tanh"},
               {"type": "conv2d", "name": "g", "filters": 6, "kernel": 3, "stride": 2, "padding": 1, "groups": 3,
                "activation": "elu"},
               {"type": "conv2d", "name": "s", "filters": 4, "kernel": 3, "stride": 2, "padding": [1, 0, 0, 1],
                "dilation": [1, 2]},
               {"type": "flatten", "name": "f"}, {"type": "dense", "name": "o", "units": 3}],
    "outputs": ["o"],
    "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "sgd"}}})", 2);
}

// One training step updates batchnorm's running statistics as PyTorch:
// running = (1 - momentum) * running + momentum * batch statistic, the
// variance unbiased; here on the input itself, so the statistics are the
// input's, computed in this test.
TEST(GradientCheck, BatchNormRunningStatistics) {
  Graph g = prepareModel(std::string(kHead) + R"("inputs": [{"name": "x", "shape": [2, 3, 3]}],
    "layers": [{"type": "batchnorm", "name": "bn", "momentum": 0.25}, {"type": "flatten", "name": "f"},
               {"type": "dense", "name": "o", "units": 2}],
    "outputs": ["o"], "training": {"loss": {"type": "mse"}, "optimizer": {"type": "sgd"}}})");
  TensorMap params;
  CompiledModel c;
  ASSERT_NO_FATAL_FAILURE(compileSeeded(g, params, c));
  const int batch = 3;
  std::vector<float> x(batch * 18), t(batch * 2, 0.5f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7 * double(i)) * 2 + double(i % 3);
  void *m = c.create();
  float loss;
  ASSERT_EQ(reinterpret_cast<int (*)(void *, int, const float *, const void *, float *)>(c.trainStep)(
                m, batch, x.data(), t.data(), &loss),
            0);
  std::string path = ::testing::TempDir() + "/bn-" + std::to_string(::getpid()) + ".safetensors";
  ASSERT_EQ(c.saveWeights(m, path.c_str()), 0);
  TensorMap saved;
  Diagnostics diags;
  ASSERT_TRUE(readSafetensors(path, saved, diags));
  std::remove(path.c_str());
  for (int ch = 0; ch < 2; ++ch) {
    double sum = 0, sq = 0;
    for (int n = 0; n < batch; ++n)
      for (int k = 0; k < 9; ++k) sum += x[static_cast<size_t>(n * 18 + ch * 9 + k)];
    double mean = sum / 27;
    for (int n = 0; n < batch; ++n)
      for (int k = 0; k < 9; ++k) sq += std::pow(x[static_cast<size_t>(n * 18 + ch * 9 + k)] - mean, 2);
    EXPECT_NEAR(saved.at("bn.running_mean").data[static_cast<size_t>(ch)], 0.25 * mean, 1e-5);
    EXPECT_NEAR(saved.at("bn.running_var").data[static_cast<size_t>(ch)], 0.75 + 0.25 * sq / 26, 1e-5);
  }
  c.destroy(m);
}

// The dropout mask drops a fraction `rate` of the elements (within six
// standard errors over 200,000 draws), differs between steps and seeds, and
// is a pure function of its key.
TEST(DropoutMask, RateAndKeys) {
  for (double rate : {0.1, 0.5, 0.9}) {
    int dropped = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) dropped += !dropoutKeeps(42, 7, dropoutSalt("drop"), static_cast<uint32_t>(i), rate);
    double se = std::sqrt(rate * (1 - rate) / n);
    EXPECT_NEAR(double(dropped) / n, rate, 6 * se) << rate;
  }
  int sameStep = 0, sameSeed = 0;
  for (uint32_t i = 0; i < 10000; ++i) {
    bool a = dropoutKeeps(1, 0, 5, i, 0.5);
    sameStep += a == dropoutKeeps(1, 1, 5, i, 0.5);
    sameSeed += a == dropoutKeeps(2, 0, 5, i, 0.5);
    EXPECT_EQ(a, dropoutKeeps(1, 0, 5, i, 0.5));
  }
  EXPECT_NEAR(sameStep, 5000, 300);  // independent masks agree half the time
  EXPECT_NEAR(sameSeed, 5000, 300);
}

}  // namespace
}  // namespace nncc
