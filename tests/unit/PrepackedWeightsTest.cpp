// The compiled model's cache of prepacked conv and dense weights (docs/runtime.md,
// "Prepacked weights"): every way the weights change (load_weights,
// train_step, apply_gradients) must reach the packed copies the forward
// kernels read. Each test changes the weights and then checks forward and
// evaluate against the reference interpreter run on the new weights: a
// stale packed copy would give the old weights' results.
#include "compiler/lower/Lowering.h"
#include "compiler/reference/Interpreter.h"
#include "compiler/reference/Loss.h"
#include "compiler/weights/Safetensors.h"
#include "compiler/weights/WeightBinding.h"
#include "tests/unit/CompiledModel.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace nncc {
namespace {

using testing_support::CompiledModel;
using testing_support::compileSeeded;
using testing_support::prepareModel;

using ForwardFn = int (*)(void *, int, const float *, float *);
using StepFn = int (*)(void *, int, const float *, const void *, float *);
using EvalFn = int (*)(void *, int, const float *, const void *, float *, int32_t *);
using LoadFn = int (*)(void *, const char *);

// Two channels-innermost convs (16 -> 32 -> 48 channels, 3x3), a dense
// layer of 32 units (whole vectors: prepacked too) and a dense head of 5
// (not).
std::string convNet(const std::string &training) {
  return std::string(R"({"nncc": 1, "name": "packed", "init": {"seed": 11}, "max_batch": 4,
    "inputs": [{"name": "image", "shape": [16, 6, 6]}],
    "layers": [{"type": "conv2d", "name": "c1", "filters": 32, "kernel": 3, "padding": 1, "activation": "relu"},
               {"type": "conv2d", "name": "c2", "filters": 48, "kernel": 3, "activation": "relu"},
               {"type": "flatten", "name": "f"}, {"type": "dense", "name": "hidden", "units": 32, "activation": "relu"},
               {"type": "dense", "name": "logits", "units": 5}],
    "outputs": ["logits"])") +
         training + "}";
}

// The test is only meaningful when the compiled convs take packed weights,
// and the hidden dense layer too in a model that does not train (one that
// trains keeps its dense weights as given: Lowering.h, prepackDenseWeights).
void expectPrepacked(const Graph &g) {
  LowerOptions lo;
  lo.prepackConvWeights = true;
  lo.prepackDenseWeights = !g.training.has_value();
  int packed = 0;
  for (const Op &op : g.ops) packed += packedWeightShape(g, op, lo).has_value();
  EXPECT_EQ(packed, g.training ? 2 : 3) << "the convs or the hidden dense layer are not prepacked on this target";
}

std::vector<float> randomInput(int batch, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  std::vector<float> x(static_cast<size_t>(batch) * 16 * 36);
  for (float &v : x) v = uni(rng);
  return x;
}

// The compiled forward of `m` against the reference interpreter on `params`.
void expectForwardMatches(const CompiledModel &c, void *m, const Graph &g, const TensorMap &params,
                          const std::vector<float> &x, int batch, std::vector<float> *got = nullptr) {
  std::vector<float> out(static_cast<size_t>(batch) * 5);
  ASSERT_EQ(reinterpret_cast<ForwardFn>(c.forward)(m, batch, x.data(), out.data()), 0) << c.lastError(m);
  TensorF32 in;
  in.shape = {batch, 16, 6, 6};
  in.data.assign(x.begin(), x.begin() + batch * 16 * 36);
  std::vector<TensorF32> ref;
  std::string error;
  ASSERT_TRUE(runReference(g, params, {in}, ref, error)) << error;
  ASSERT_EQ(ref[0].data.size(), out.size());
  for (size_t i = 0; i < out.size(); ++i)
    ASSERT_NEAR(out[i], ref[0].data[i], 1e-4 * std::max(1.f, std::fabs(ref[0].data[i]))) << "logit " << i;
  if (got) *got = out;
}

// The instance's current parameters, through save_weights (a checkpoint:
// loadWeightsForGraph drops the optimizer state).
TensorMap currentWeights(const CompiledModel &c, void *m, const Graph &g) {
  std::string path = ::testing::TempDir() + "/prepacked-" + std::to_string(::getpid()) + ".safetensors";
  EXPECT_EQ(c.saveWeights(m, path.c_str()), 0);
  TensorMap w;
  Diagnostics diags;
  EXPECT_TRUE(loadWeightsForGraph(g, path, false, w, diags));
  std::remove(path.c_str());
  return w;
}

double maxDifference(const TensorMap &a, const TensorMap &b, const std::string &name) {
  double d = 0;
  const std::vector<float> &x = a.at(name).data, &y = b.at(name).data;
  for (size_t i = 0; i < x.size(); ++i) d = std::max(d, double(std::fabs(x[i] - y[i])));
  return d;
}

// forward, load_weights of other weights, forward: each time the reference's
// result on the weights loaded; then the first weights again.
TEST(PrepackedWeights, LoadWeightsRepacks) {
  Graph g = prepareModel(convNet(""));
  ASSERT_NO_FATAL_FAILURE(expectPrepacked(g));
  TensorMap first;
  CompiledModel c;
  ASSERT_NO_FATAL_FAILURE(compileSeeded(g, first, c));
  TensorMap second = first;
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> uni(-0.2f, 0.2f);
  for (auto &kv : second)
    for (float &v : kv.second.data) v = -v + uni(rng);
  std::string dir = ::testing::TempDir() + "/prepacked-" + std::to_string(::getpid());
  std::string firstPath = dir + "-a.safetensors", secondPath = dir + "-b.safetensors", error;
  ASSERT_TRUE(writeSafetensors(firstPath, first, error)) << error;
  ASSERT_TRUE(writeSafetensors(secondPath, second, error)) << error;
  auto load = reinterpret_cast<LoadFn>(c.sym("load_weights"));
  std::vector<float> x = randomInput(3, 5), before, after;

  void *m = c.create();
  ASSERT_NO_FATAL_FAILURE(expectForwardMatches(c, m, g, first, x, 3, &before));
  ASSERT_EQ(load(m, secondPath.c_str()), 0) << c.lastError(m);
  ASSERT_NO_FATAL_FAILURE(expectForwardMatches(c, m, g, second, x, 3, &after));
  double change = 0;
  for (size_t i = 0; i < before.size(); ++i) change = std::max(change, double(std::fabs(before[i] - after[i])));
  EXPECT_GT(change, 1e-2) << "the two weight sets give the same logits: the test cannot see a stale cache";
  ASSERT_NO_FATAL_FAILURE(expectForwardMatches(c, m, g, second, x, 2));  // unchanged: no repack needed
  // A load that fails (a missing file) leaves the weights as they were.
  EXPECT_NE(load(m, (dir + "-missing.safetensors").c_str()), 0);
  ASSERT_NO_FATAL_FAILURE(expectForwardMatches(c, m, g, second, x, 3));
  ASSERT_EQ(load(m, firstPath.c_str()), 0) << c.lastError(m);
  ASSERT_NO_FATAL_FAILURE(expectForwardMatches(c, m, g, first, x, 3));
  c.destroy(m);
  std::remove(firstPath.c_str());
  std::remove(secondPath.c_str());
}

// train_step (the weights' updates fused into their gradient kernels, after
// the forward steps read the packed copies) and compute_gradients +
// apply_gradients: forward and evaluate afterwards see the updated weights.
TEST(PrepackedWeights, TrainingRepacks) {
  Graph g = prepareModel(convNet(R"(, "training": {"loss": {"type": "softmax_cross_entropy"},
      "optimizer": {"type": "sgd", "learning_rate": 0.2, "momentum": 0.9}})"));
  ASSERT_NO_FATAL_FAILURE(expectPrepacked(g));
  TensorMap initial;
  CompiledModel c;
  ASSERT_NO_FATAL_FAILURE(compileSeeded(g, initial, c));
  std::vector<float> x = randomInput(4, 8);
  std::vector<int32_t> labels = {0, 3, 1, 4};
  TensorF32 in;
  in.shape = {4, 16, 6, 6};
  in.data = x;
  std::vector<TrainingTarget> targets(1);
  targets[0].labels = labels;
  auto expectEvaluateMatches = [&](void *m, const TensorMap &w) {
    float loss = 0;
    int32_t correct = -1;
    ASSERT_EQ(reinterpret_cast<EvalFn>(c.evaluate)(m, 4, x.data(), labels.data(), &loss, &correct), 0);
    double cost;
    std::string error;
    ASSERT_TRUE(referenceCost(g, w, {in}, targets, cost, error)) << error;
    EXPECT_NEAR(loss, cost, 1e-4 * std::max(1.0, cost));
  };

  void *m = c.create();
  ASSERT_NO_FATAL_FAILURE(expectForwardMatches(c, m, g, initial, x, 4));
  float loss;
  for (int s = 0; s < 3; ++s)
    ASSERT_EQ(reinterpret_cast<StepFn>(c.trainStep)(m, 4, x.data(), labels.data(), &loss), 0) << c.lastError(m);
  TensorMap stepped = currentWeights(c, m, g);
  EXPECT_GT(maxDifference(stepped, initial, "c2.weight"), 1e-3);
  ASSERT_NO_FATAL_FAILURE(expectForwardMatches(c, m, g, stepped, x, 4));
  ASSERT_NO_FATAL_FAILURE(expectEvaluateMatches(m, stepped));

  // compute_gradients' loss (the train program's forward steps) on the
  // stepped weights.
  ASSERT_EQ(reinterpret_cast<StepFn>(c.computeGradients)(m, 4, x.data(), labels.data(), &loss), 0);
  {
    double cost;
    std::string error;
    ASSERT_TRUE(referenceCost(g, stepped, {in}, targets, cost, error)) << error;
    EXPECT_NEAR(loss, cost, 1e-4 * std::max(1.0, cost));
  }
  ASSERT_EQ(c.applyGradients(m), 0);
  TensorMap applied = currentWeights(c, m, g);
  EXPECT_GT(maxDifference(applied, stepped, "c1.weight"), 1e-4);
  ASSERT_NO_FATAL_FAILURE(expectEvaluateMatches(m, applied));
  ASSERT_NO_FATAL_FAILURE(expectForwardMatches(c, m, g, applied, x, 4));

  // train_step then evaluate before any forward.
  ASSERT_EQ(reinterpret_cast<StepFn>(c.trainStep)(m, 4, x.data(), labels.data(), &loss), 0);
  ASSERT_NO_FATAL_FAILURE(expectEvaluateMatches(m, currentWeights(c, m, g)));
  c.destroy(m);
}

}  // namespace
}  // namespace nncc
