// The trainer on models compiled by nncc (the objects linked as shared
// libraries and loaded with dlopen, tests/unit/CompiledModel.h), bound with
// bindGenerated as NNCC_TRAINER_MODEL does: an MLP with softmax cross-entropy
// on int32 labels and a logistic unit with binary cross-entropy on float
// targets learn separable data; early stopping keeps the best epoch's
// weights through the generated save_weights/load_weights.
#include "compiler/weights/WeightBinding.h"
#include "runtime/trainer/Trainer.h"
#include "tests/unit/CompiledModel.h"

#include <random>

namespace nncc {
namespace {

using testing_support::CompiledModel;
using testing_support::compileModel;
using testing_support::prepareModel;

struct Instance;  // the compiled model's opaque type

template <class T>
trainer::Model bind(const CompiledModel &c, int maxBatch, int64_t inputSize, int64_t targetSize) {
  auto fn = [&](const char *name, auto type) {
    void *p = c.sym(name);
    EXPECT_NE(p, nullptr) << name;
    return reinterpret_cast<decltype(type)>(p);
  };
  using Step = int (*)(Instance *, int, const float *, const T *, float *);
  using Eval = int (*)(Instance *, int, const float *, const T *, float *, int32_t *);
  return trainer::bindGenerated<Instance, T>(
      c.name.c_str(), nullptr, fn("create", static_cast<Instance *(*)()>(nullptr)),
      fn("destroy", static_cast<void (*)(Instance *)>(nullptr)), fn("train_step", static_cast<Step>(nullptr)),
      fn("evaluate", static_cast<Eval>(nullptr)),
      fn("save_weights", static_cast<int (*)(const Instance *, const char *)>(nullptr)),
      fn("load_weights", static_cast<int (*)(Instance *, const char *)>(nullptr)),
      fn("set_learning_rate", static_cast<int (*)(Instance *, float)>(nullptr)),
      fn("set_seed", static_cast<int (*)(Instance *, uint64_t)>(nullptr)),
      fn("last_error", static_cast<const char *(*)(const Instance *)>(nullptr)), maxBatch, inputSize, targetSize);
}

void compile(const char *json, CompiledModel &c) {
  Graph g = prepareModel(json);
  TensorMap params;
  ASSERT_NO_FATAL_FAILURE(compileSeeded(g, params, c));
}

// Three Gaussian blobs in 2-D; `binary`: class 2 vs the others as a float target.
trainer::Dataset blobs(int perClass, bool binary) {
  std::mt19937_64 rng(17);
  std::normal_distribution<float> noise(0.f, 0.5f);
  const float centers[3][2] = {{-2, -1}, {2, -1}, {0, 2.5f}};
  std::vector<float> x, t;
  std::vector<int32_t> y;
  for (int i = 0; i < perClass; ++i)
    for (int k = 0; k < 3; ++k) {
      x.push_back(centers[k][0] + noise(rng));
      x.push_back(centers[k][1] + noise(rng));
      y.push_back(k);
      t.push_back(k == 2 ? 1.f : 0.f);
    }
  return binary ? trainer::Dataset::withTargets(2, x, 1, t) : trainer::Dataset::withLabels(2, x, y);
}

TEST(TrainerCompiled, MlpOnLabelsWithEarlyStopping) {
  CompiledModel c;
  compile(R"({"nncc": 1, "name": "blobs_mlp", "init": {"seed": 3}, "max_batch": 16,
    "inputs": [{"name": "x", "shape": [2]}],
    "layers": [{"type": "dense", "name": "hidden", "units": 8, "activation": "relu"},
               {"type": "dense", "name": "logits", "units": 3}],
    "outputs": ["logits"],
    "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "sgd", "learning_rate": 0.1}}})",
          c);
  if (::testing::Test::HasFatalFailure()) return;
  trainer::Model model = bind<int32_t>(c, 16, 2, 0);
  trainer::SplitOptions so;
  so.validation = 0.2;
  so.test = 0.2;
  so.seed = 1;
  trainer::Split split = trainer::splitDataset(blobs(100, false), so);
  const trainer::EvalResult before = trainer::evaluate(model, split.test);
  trainer::TrainOptions o;
  o.progress = trainer::Progress::None;
  o.epochs = 25;
  o.batchSize = 10;  // 180 samples: 18 batches of 10
  o.patience = 4;
  o.seed = 2;
  trainer::TrainResult r = trainer::fit(model, split.train, &split.validation, o);
  ASSERT_FALSE(r.history.empty());
  EXPECT_LT(r.history.back().trainLoss, 0.5 * r.history[0].trainLoss);
  const trainer::EvalResult after = trainer::evaluate(model, split.test);
  EXPECT_LT(after.loss, before.loss);
  EXPECT_GE(after.accuracy, 0.97) << "test accuracy";
  EXPECT_EQ(after.samples, 60);
  // The model holds the best epoch's weights: its validation loss, bit for bit.
  const trainer::EvalResult val = trainer::evaluate(model, split.validation, o.batchSize);
  EXPECT_EQ(val.loss, r.history[r.bestEpoch - 1].validationLoss);
  EXPECT_EQ(r.restoredBest, r.bestEpoch != r.history.back().epoch);
  // An entry point's error reaches the exception: labels out of range.
  trainer::Dataset bad = trainer::Dataset::withLabels(2, {0, 0}, {5});
  try {
    trainer::evaluate(model, bad);
    FAIL();
  } catch (const trainer::Error &e) {
    EXPECT_NE(std::string(e.what()).find("blobs_mlp: evaluate returned"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("5"), std::string::npos) << e.what();
  }
}

TEST(TrainerCompiled, LogisticUnitOnFloatTargets) {
  CompiledModel c;
  compile(R"({"nncc": 1, "name": "blobs_logistic", "init": {"seed": 4}, "max_batch": 8,
    "inputs": [{"name": "x", "shape": [2]}],
    "layers": [{"type": "dense", "name": "out", "units": 1, "activation": "sigmoid"}],
    "outputs": ["out"],
    "training": {"loss": {"type": "binary_cross_entropy", "output": "out"},
                 "optimizer": {"type": "sgd", "learning_rate": 0.5}}})",
          c);
  if (::testing::Test::HasFatalFailure()) return;
  trainer::Model model = bind<float>(c, 8, 2, 1);
  EXPECT_EQ(model.targetKind, trainer::TargetKind::Floats);
  EXPECT_EQ(model.correctUnits(), 1);
  trainer::Split split = trainer::splitDataset(blobs(60, true), trainer::SplitOptions());
  trainer::TrainOptions o;
  o.progress = trainer::Progress::None;
  o.epochs = 15;
  o.learningRate = 0.3f;  // through the generated set_learning_rate
  trainer::TrainResult r = trainer::fit(model, split.train, &split.validation, o);
  EXPECT_LT(r.history.back().trainLoss, 0.5 * r.history[0].trainLoss);
  EXPECT_GE(r.history.back().validationAccuracy, 0.95);
  EXPECT_EQ(r.history.back().learningRate, 0.3f);
}

}  // namespace
}  // namespace nncc
