// The training entry points beyond the update rules: determinism (the same
// model and data give bit-identical weights after N steps on 1 and 2
// threads, in separate instances), evaluate's loss and correct count against
// the reference interpreter, compute_gradients + apply_gradients equal to
// train_step (whose weights' updates are fused into their gradient kernels),
// and argument checks (labels out of range, a null target).
#include "compiler/reference/Interpreter.h"
#include "compiler/reference/Loss.h"
#include "compiler/weights/Safetensors.h"
#include "compiler/weights/WeightBinding.h"
#include "tests/unit/CompiledModel.h"

#include <cmath>
#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>

namespace nncc {
namespace {

using testing_support::CompiledModel;
using testing_support::compileModel;
using testing_support::prepareModel;

using StepFn = int (*)(void *, int, const float *, const void *, float *);
using EvalFn = int (*)(void *, int, const float *, const void *, float *, int32_t *);

const char *kModel = R"({"nncc": 1, "name": "cnn", "init": {"seed": 5}, "max_batch": 8,
  "inputs": [{"name": "image", "shape": [1, 8, 8]}],
  "layers": [{"type": "conv2d", "name": "c1", "filters": 4, "kernel": 3, "padding": 1, "activation": "relu"},
             {"type": "maxpool2d", "name": "p1", "size": 2},
             {"type": "conv2d", "name": "c2", "filters": 6, "kernel": 3, "activation": "relu"},
             {"type": "flatten", "name": "f"}, {"type": "dense", "name": "logits", "units": 3}],
  "outputs": ["logits"],
  "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "adam", "learning_rate": 0.01},
               "regularization": {"l2": 0.001}}})";

struct Data {
  std::vector<float> x;
  std::vector<int32_t> labels;
};

Data makeData(int batch) {
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  Data d;
  for (int i = 0; i < batch * 64; ++i) d.x.push_back(uni(rng));
  for (int n = 0; n < batch; ++n) d.labels.push_back(static_cast<int32_t>(rng() % 3));
  return d;
}

class TrainingApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    graph_ = new Graph(prepareModel(kModel));
    Diagnostics diags;
    params_ = new TensorMap();
    ASSERT_TRUE(loadWeightsForGraph(*graph_, "", false, *params_, diags));
    model_ = new CompiledModel();
    std::string error;
    ASSERT_TRUE(compileModel(*graph_, *params_, *model_, error)) << error;
  }
  static void TearDownTestSuite() {
    delete model_;
    delete params_;
    delete graph_;
  }
  std::string saved(void *m) {
    std::string path = ::testing::TempDir() + "/api-" + std::to_string(::getpid()) + ".safetensors";
    EXPECT_EQ(model_->saveWeights(m, path.c_str()), 0);
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::remove(path.c_str());
    return bytes;
  }
  static Graph *graph_;
  static TensorMap *params_;
  static CompiledModel *model_;
};
Graph *TrainingApi::graph_;
TensorMap *TrainingApi::params_;
CompiledModel *TrainingApi::model_;

TEST_F(TrainingApi, DeterministicAcrossThreadsAndInstances) {
  Data d = makeData(8);
  auto setThreads = reinterpret_cast<int (*)(void *, int)>(model_->sym("set_threads"));
  std::vector<std::string> results;
  for (int threads : {1, 2, 2}) {
    void *m = model_->create();
    ASSERT_EQ(setThreads(m, threads), 0);
    for (int s = 0; s < 5; ++s) {
      float loss;
      ASSERT_EQ(reinterpret_cast<StepFn>(model_->trainStep)(m, 8, d.x.data(), d.labels.data(), &loss), 0);
    }
    results.push_back(saved(m));
    model_->destroy(m);
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[1], results[2]);
}

TEST_F(TrainingApi, EvaluateMatchesTheReference) {
  Data d = makeData(7);
  void *m = model_->create();
  float loss = 0;
  int32_t correct = -1;
  ASSERT_EQ(reinterpret_cast<EvalFn>(model_->evaluate)(m, 7, d.x.data(), d.labels.data(), &loss, &correct), 0);
  TensorF32 in;
  in.shape = {7, 1, 8, 8};
  in.data = d.x;
  std::vector<TrainingTarget> targets(1);
  targets[0].labels = d.labels;
  double cost;
  std::string error;
  ASSERT_TRUE(referenceCost(*graph_, *params_, {in}, targets, cost, error)) << error;
  EXPECT_NEAR(loss, cost, 1e-5 * std::max(1.0, cost));
  std::vector<TensorF32> outs;
  ASSERT_TRUE(runReference(*graph_, *params_, {in}, outs, error)) << error;
  int want = 0;
  for (int n = 0; n < 7; ++n) {
    const float *row = &outs[0].data[static_cast<size_t>(n) * 3];
    int best = static_cast<int>(std::max_element(row, row + 3) - row);
    want += best == d.labels[static_cast<size_t>(n)];
  }
  EXPECT_EQ(correct, want);
  model_->destroy(m);
}

TEST_F(TrainingApi, ComputeThenApplyEqualsTrainStep) {
  Data d = makeData(4);
  void *a = model_->create(), *b = model_->create();
  for (int s = 0; s < 3; ++s) {
    float la, lb;
    ASSERT_EQ(reinterpret_cast<StepFn>(model_->trainStep)(a, 4, d.x.data(), d.labels.data(), &la), 0);
    ASSERT_EQ(reinterpret_cast<StepFn>(model_->computeGradients)(b, 4, d.x.data(), d.labels.data(), &lb), 0);
    ASSERT_EQ(model_->applyGradients(b), 0);
    EXPECT_EQ(la, lb);
  }
  EXPECT_EQ(saved(a), saved(b));
  model_->destroy(a);
  model_->destroy(b);
}

// train_step fuses each weight's optimizer update into the weight's gradient
// kernel (run after the op's data gradient, which reads the weight);
// compute_gradients + apply_gradients keep the gradient array and the
// separate update kernels. Both give the same weights and optimizer state,
// to float rounding, for sgd with momentum (and nesterov) and adam, on convs
// of 16 channels (the channels-innermost data gradient) and dense layers.
TEST(FusedUpdate, TrainStepEqualsComputeThenApply) {
  const char *optimizers[] = {R"({"type": "sgd", "learning_rate": 0.05, "momentum": 0.9})",
                              R"({"type": "sgd", "learning_rate": 0.05, "momentum": 0.8, "nesterov": true})",
                              R"({"type": "adam", "learning_rate": 0.01})"};
  for (const char *opt : optimizers) {
    Graph g = prepareModel(std::string(R"({"nncc": 1, "name": "fused", "init": {"seed": 7}, "max_batch": 4,
      "inputs": [{"name": "image", "shape": [3, 8, 8]}],
      "layers": [{"type": "conv2d", "name": "c1", "filters": 16, "kernel": 3, "padding": 1, "activation": "relu"},
                 {"type": "conv2d", "name": "c2", "filters": 16, "kernel": 3, "padding": 1, "activation": "relu"},
                 {"type": "maxpool2d", "name": "p", "size": 2}, {"type": "flatten", "name": "f"},
                 {"type": "dense", "name": "h", "units": 10, "activation": "tanh"},
                 {"type": "dense", "name": "logits", "units": 3}],
      "outputs": ["logits"],
      "training": {"loss": {"type": "softmax_cross_entropy"}, "regularization": {"l2": 0.001}, "optimizer": )") +
                           opt + "}}");
    TensorMap params;
    CompiledModel c;
    ASSERT_NO_FATAL_FAILURE(compileSeeded(g, params, c));
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> uni(-1.f, 1.f);
    std::vector<float> x(4 * 3 * 64);
    for (float &v : x) v = uni(rng);
    std::vector<int32_t> labels = {0, 2, 1, 2};
    void *a = c.create(), *b = c.create();
    for (int s = 0; s < 4; ++s) {
      float la, lb;
      ASSERT_EQ(reinterpret_cast<StepFn>(c.trainStep)(a, 4, x.data(), labels.data(), &la), 0) << c.lastError(a);
      ASSERT_EQ(reinterpret_cast<StepFn>(c.computeGradients)(b, 4, x.data(), labels.data(), &lb), 0);
      ASSERT_EQ(c.applyGradients(b), 0);
      EXPECT_NEAR(la, lb, 1e-5 * std::max(1.f, std::fabs(lb))) << opt << " step " << s;
    }
    // The fused path is the one taken: train_step never stores a weight's
    // gradient (the array stays as created, zeros), only the biases'.
    const float *grads = c.gradients(a);
    for (const Param &p : g.params) {
      const float *end = grads + numElements(p.shape);
      EXPECT_EQ(std::all_of(grads, end, [](float v) { return v == 0.f; }), p.role == ParamRole::Weight) << p.name;
      grads = end;
    }
    TensorMap wa, wb;
    for (auto [m, w] : {std::pair<void *, TensorMap *>{a, &wa}, {b, &wb}}) {
      std::string path = ::testing::TempDir() + "/fused-" + std::to_string(::getpid()) + ".safetensors";
      ASSERT_EQ(c.saveWeights(m, path.c_str()), 0);
      Diagnostics diags;
      ASSERT_TRUE(readSafetensors(path, *w, diags));
      std::remove(path.c_str());
    }
    EXPECT_EQ(wa.size(), params.size() * (std::string(opt).find("adam") != std::string::npos ? 3 : 2));
    for (const auto &kv : wb) {
      ASSERT_TRUE(wa.count(kv.first)) << kv.first;
      const std::vector<float> &va = wa.at(kv.first).data, &vb = kv.second.data;
      ASSERT_EQ(va.size(), vb.size());
      for (size_t i = 0; i < vb.size(); ++i)
        ASSERT_NEAR(va[i], vb[i], 1e-5 * std::max(1.f, std::fabs(vb[i]))) << opt << " " << kv.first << "[" << i << "]";
    }
    c.destroy(a);
    c.destroy(b);
  }
}

// A checkpoint (save_weights after training: parameters, Adam's moments as
// "<param>.exp_avg"/"<param>.exp_avg_sq" and the step count) resumes
// training exactly: a fresh instance that loads it and the original take the
// same next steps bit for bit. Before any step, only the parameters are saved.
TEST_F(TrainingApi, CheckpointResumesExactly) {
  Data d = makeData(4);
  auto step = reinterpret_cast<StepFn>(model_->trainStep);
  auto load = reinterpret_cast<int (*)(void *, const char *)>(model_->sym("load_weights"));
  void *a = model_->create();
  std::string path = ::testing::TempDir() + "/ckpt-" + std::to_string(::getpid()) + ".safetensors";
  ASSERT_EQ(model_->saveWeights(a, path.c_str()), 0);
  Diagnostics diags;
  TensorMap fresh;
  SafetensorsMetadata meta;
  ASSERT_TRUE(readSafetensors(path, fresh, diags, &meta));
  EXPECT_EQ(fresh.size(), graph_->params.size());
  float loss;
  for (int s = 0; s < 3; ++s) ASSERT_EQ(step(a, 4, d.x.data(), d.labels.data(), &loss), 0);
  ASSERT_EQ(model_->saveWeights(a, path.c_str()), 0);
  TensorMap ckpt;
  ASSERT_TRUE(readSafetensors(path, ckpt, diags, &meta));
  EXPECT_EQ(ckpt.size(), 6u + 2 * 6);  // c1, c2, logits: weight and bias, each with two moments
  EXPECT_TRUE(ckpt.count("c1.weight.exp_avg") && ckpt.count("logits.bias.exp_avg_sq"));
  void *b = model_->create();
  ASSERT_EQ(load(b, path.c_str()), 0) << model_->lastError(b);
  for (int s = 0; s < 2; ++s) {
    float la, lb;
    ASSERT_EQ(step(a, 4, d.x.data(), d.labels.data(), &la), 0);
    ASSERT_EQ(step(b, 4, d.x.data(), d.labels.data(), &lb), 0);
    EXPECT_EQ(la, lb);
  }
  EXPECT_EQ(saved(a), saved(b));
  // The compiler takes a checkpoint as weights (the optimizer state ignored).
  TensorMap bound;
  EXPECT_TRUE(loadWeightsForGraph(*graph_, path, false, bound, diags));
  EXPECT_EQ(bound.size(), graph_->params.size());
  std::remove(path.c_str());
  model_->destroy(a);
  model_->destroy(b);
}

TEST_F(TrainingApi, BadArgumentsAreErrors) {
  Data d = makeData(2);
  void *m = model_->create();
  float loss;
  std::vector<int32_t> bad = {1, 3};
  EXPECT_NE(reinterpret_cast<StepFn>(model_->trainStep)(m, 2, d.x.data(), bad.data(), &loss), 0);
  EXPECT_STREQ(model_->lastError(m), "cnn_train_step: label 3 of sample 1 is outside 0..2");
  EXPECT_NE(reinterpret_cast<StepFn>(model_->trainStep)(m, 2, d.x.data(), nullptr, &loss), 0);
  EXPECT_STREQ(model_->lastError(m), "cnn_train_step: target 'logits_labels' is null");
  EXPECT_NE(reinterpret_cast<StepFn>(model_->trainStep)(m, 9, d.x.data(), d.labels.data(), &loss), 0);
  EXPECT_STREQ(model_->lastError(m), "cnn_train_step: batch 9 is outside 1..8");
  auto setLr = reinterpret_cast<int (*)(void *, float)>(model_->sym("set_learning_rate"));
  EXPECT_NE(setLr(m, -1.f), 0);
  EXPECT_NE(setLr(m, NAN), 0);
  EXPECT_EQ(setLr(m, 0.5f), 0);
  EXPECT_EQ(reinterpret_cast<StepFn>(model_->trainStep)(nullptr, 2, d.x.data(), d.labels.data(), &loss), 1);
  model_->destroy(m);
}

}  // namespace
}  // namespace nncc
