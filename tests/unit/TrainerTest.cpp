// The trainer (runtime/trainer/Trainer.h) against fake models written here
// with the generated C API's shapes (NAME_create, NAME_train_step, ...):
// softmax regression learns separable blobs; a linear model with float
// targets fits a line; early stopping on a scripted validation curve stops at
// the right epoch and restores the best weights (through a file or a
// snapshot); the CSV log, the SVG plot and the progress output.
#include "runtime/trainer/Trainer.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace {

// ---- a fake compiled model: softmax regression, 2 features, 3 classes ----------
#define SOFTREG_MAX_BATCH 16
#define SOFTREG_X_SIZE 2
constexpr int kClasses = 3;

struct softreg {
  float w[kClasses][SOFTREG_X_SIZE] = {};
  float b[kClasses] = {};
  float lr = 0.5f;
  int steps = 0;
  uint64_t seed = 0;
  std::string error;
};

softreg *softreg_create(void) { return new softreg(); }
void softreg_destroy(softreg *m) { delete m; }
const char *softreg_last_error(const softreg *m) { return m ? m->error.c_str() : "null instance"; }

bool softregCheck(softreg *m, const char *fn, int batch, const float *x, const int32_t *labels) {
  m->error.clear();
  if (batch < 1 || batch > SOFTREG_MAX_BATCH) {
    m->error = std::string(fn) + ": batch " + std::to_string(batch) + " is outside 1..16";
    return false;
  }
  if (!x || !labels) {
    m->error = std::string(fn) + ": null argument";
    return false;
  }
  for (int n = 0; n < batch; ++n)
    if (labels[n] < 0 || labels[n] >= kClasses) {
      m->error = std::string(fn) + ": label of sample " + std::to_string(n) + " is out of range";
      return false;
    }
  return true;
}

// Probabilities of one sample; returns its cross-entropy.
float softregForward(const softreg *m, const float *x, int32_t label, float *p) {
  float z[kClasses], mx = -INFINITY, sum = 0;
  for (int k = 0; k < kClasses; ++k) {
    z[k] = m->b[k] + m->w[k][0] * x[0] + m->w[k][1] * x[1];
    mx = std::max(mx, z[k]);
  }
  for (int k = 0; k < kClasses; ++k) sum += (p[k] = std::exp(z[k] - mx));
  for (int k = 0; k < kClasses; ++k) p[k] /= sum;
  return -std::log(std::max(p[label], 1e-30f));
}

int softreg_train_step(softreg *m, int batch, const float *x, const int32_t *labels, float *loss) {
  if (!softregCheck(m, "softreg_train_step", batch, x, labels)) return 1;
  float gw[kClasses][SOFTREG_X_SIZE] = {}, gb[kClasses] = {}, total = 0;
  for (int n = 0; n < batch; ++n) {
    float p[kClasses];
    total += softregForward(m, x + 2 * n, labels[n], p);
    for (int k = 0; k < kClasses; ++k) {
      float d = p[k] - (k == labels[n] ? 1.f : 0.f);
      gb[k] += d / batch;
      gw[k][0] += d * x[2 * n] / batch;
      gw[k][1] += d * x[2 * n + 1] / batch;
    }
  }
  for (int k = 0; k < kClasses; ++k) {
    m->b[k] -= m->lr * gb[k];
    m->w[k][0] -= m->lr * gw[k][0];
    m->w[k][1] -= m->lr * gw[k][1];
  }
  ++m->steps;
  *loss = total / batch;
  return 0;
}

int softreg_evaluate(softreg *m, int batch, const float *x, const int32_t *labels, float *loss, int32_t *correct) {
  if (!softregCheck(m, "softreg_evaluate", batch, x, labels)) return 1;
  float total = 0;
  int32_t c = 0;
  for (int n = 0; n < batch; ++n) {
    float p[kClasses];
    total += softregForward(m, x + 2 * n, labels[n], p);
    c += static_cast<int32_t>(std::max_element(p, p + kClasses) - p) == labels[n];
  }
  *loss = total / batch;
  *correct = c;
  return 0;
}

int softreg_save_weights(const softreg *m, const char *path) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char *>(m->w), sizeof m->w);
  out.write(reinterpret_cast<const char *>(m->b), sizeof m->b);
  return out ? 0 : 2;
}

int softreg_load_weights(softreg *m, const char *path) {
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char *>(m->w), sizeof m->w);
  in.read(reinterpret_cast<char *>(m->b), sizeof m->b);
  if (!in) {
    m->error = std::string("softreg_load_weights: cannot read ") + path;
    return 2;
  }
  return 0;
}

int softreg_set_learning_rate(softreg *m, float lr) {
  m->lr = lr;
  return 0;
}
int softreg_set_seed(softreg *m, uint64_t seed) {
  m->seed = seed;
  return 0;
}

// ---- a fake compiled model with float targets: y = W x + b, mse ------------------
#define LINREG_MAX_BATCH 8
#define LINREG_X_SIZE 1
#define LINREG_Y_SIZE 2

struct linreg {
  float w[2] = {}, b[2] = {};
  float lr = 0.1f;
};
linreg *linreg_create(void) { return new linreg(); }
void linreg_destroy(linreg *m) { delete m; }
const char *linreg_last_error(const linreg *) { return ""; }
float linregCost(const linreg *m, int batch, const float *x, const float *t, float *gw, float *gb) {
  float total = 0;
  for (int n = 0; n < batch; ++n)
    for (int j = 0; j < 2; ++j) {
      float d = m->w[j] * x[n] + m->b[j] - t[2 * n + j];
      total += d * d;
      if (gw) gw[j] += 2 * d * x[n] / (2 * batch), gb[j] += 2 * d / (2 * batch);
    }
  return total / (2 * batch);  // the mean over every element, as PyTorch's mse
}
int linreg_train_step(linreg *m, int batch, const float *x, const float *t, float *loss) {
  if (batch < 1 || batch > LINREG_MAX_BATCH) return 1;
  float gw[2] = {}, gb[2] = {};
  *loss = linregCost(m, batch, x, t, gw, gb);
  for (int j = 0; j < 2; ++j) m->w[j] -= m->lr * gw[j], m->b[j] -= m->lr * gb[j];
  return 0;
}
int linreg_evaluate(linreg *m, int batch, const float *x, const float *t, float *loss, int32_t *correct) {
  if (batch < 1 || batch > LINREG_MAX_BATCH) return 1;
  *loss = linregCost(m, batch, x, t, nullptr, nullptr);
  *correct = 0;
  return 0;
}
int linreg_save_weights(const linreg *, const char *) { return 0; }
int linreg_load_weights(linreg *, const char *) { return 0; }
int linreg_set_learning_rate(linreg *m, float lr) {
  m->lr = lr;
  return 0;
}
int linreg_set_seed(linreg *, uint64_t) { return 0; }

}  // namespace

namespace nncc {
namespace trainer {
namespace {

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "/trainer-" + std::to_string(::getpid()) + "-" + name;
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string readStream(std::FILE *f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t got;
  while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, got);
  return s;
}

// Three well-separated Gaussian blobs in 2-D.
Dataset blobs(int perClass, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.f, 0.4f);
  const float centers[kClasses][2] = {{-3, 0}, {3, 0}, {0, 4}};
  std::vector<float> x;
  std::vector<int32_t> y;
  for (int i = 0; i < perClass; ++i)
    for (int k = 0; k < kClasses; ++k) {
      x.push_back(centers[k][0] + noise(rng));
      x.push_back(centers[k][1] + noise(rng));
      y.push_back(k);
    }
  return Dataset::withLabels(2, x, y);
}

TrainOptions quiet() {
  TrainOptions o;
  o.progress = Progress::None;
  return o;
}

TEST(Trainer, SoftmaxRegressionLearnsSeparableBlobs) {
  Model model = NNCC_TRAINER_MODEL(softreg, SOFTREG, X);
  EXPECT_EQ(model.name, "softreg");
  EXPECT_EQ(model.maxBatch, 16);
  EXPECT_EQ(model.inputSize, 2);
  EXPECT_EQ(model.targetKind, TargetKind::Labels);
  Dataset data = blobs(100, 1);
  SplitOptions so;
  so.validation = 0.2;
  so.test = 0.2;
  so.seed = 3;
  Split split = splitDataset(data, so);
  const EvalResult before = evaluate(model, split.test);
  TrainOptions o = quiet();
  o.epochs = 8;
  o.batchSize = 16;
  o.seed = 11;
  TrainResult r = fit(model, split.train, &split.validation, o);
  ASSERT_EQ(r.history.size(), 8u);
  EXPECT_FALSE(r.stoppedEarly);
  // The loss falls epoch over epoch at first, and ends far below where it started.
  EXPECT_LT(r.history[1].trainLoss, r.history[0].trainLoss);
  EXPECT_LT(r.history.back().trainLoss, 0.25 * r.history[0].trainLoss);
  EXPECT_LT(r.history.back().validationLoss, 0.1);
  EXPECT_EQ(r.history.back().validationAccuracy, 1.0);
  EXPECT_GE(r.history.back().trainAccuracy, 0.99);
  const EvalResult after = evaluate(model, split.test, 7);
  EXPECT_GT(before.loss, 1.0);
  EXPECT_LT(after.loss, 0.1);
  EXPECT_EQ(after.samples, 60);
  EXPECT_EQ(after.correct, 60);
  EXPECT_EQ(after.accuracy, 1.0);
  // 180 training samples in batches of 16: 11 full batches + one of 4 per epoch.
  auto *m = static_cast<softreg *>(model.owner.get());
  EXPECT_EQ(m->steps, 8 * 12);
  EXPECT_EQ(r.history[0].samples, 180);
  EXPECT_TRUE(std::isnan(r.history[0].learningRate));  // the trainer left the rate alone
  EXPECT_EQ(m->lr, 0.5f);
}

TEST(Trainer, SameSeedSameRunDifferentSeedDifferentOrder) {
  auto run = [](uint64_t seed) {
    Model model = NNCC_TRAINER_MODEL(softreg, SOFTREG, X);
    TrainOptions o = quiet();
    o.epochs = 2;
    o.batchSize = 5;
    o.seed = seed;
    fit(model, blobs(20, 2), nullptr, o);
    auto *m = static_cast<softreg *>(model.owner.get());
    return std::vector<float>{m->w[0][0], m->w[1][1], m->b[2]};
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(Trainer, DropLastAndLearningRateOnRequest) {
  Model model = NNCC_TRAINER_MODEL(softreg, SOFTREG, X);
  auto *m = static_cast<softreg *>(model.owner.get());
  TrainOptions o = quiet();
  o.epochs = 3;
  o.batchSize = 16;
  o.dropLast = true;
  o.learningRate = 0.25f;
  o.learningRateAt = [](int epoch) { return epoch == 3 ? 0.125f : NAN; };
  o.setSeed = true;
  o.seed = 99;
  TrainResult r = fit(model, blobs(20, 3), nullptr, o);  // 60 samples: 3 full batches, 12 dropped
  EXPECT_EQ(m->steps, 9);
  EXPECT_EQ(r.history[0].samples, 48);
  EXPECT_EQ(r.history[0].learningRate, 0.25);
  EXPECT_EQ(r.history[2].learningRate, 0.125);
  EXPECT_EQ(m->lr, 0.125f);
  EXPECT_EQ(m->seed, 99u);
}

TEST(Trainer, FloatTargetsLinearModelFits) {
  Model model = NNCC_TRAINER_MODEL_T(linreg, LINREG, X, Y);
  model.correctPerSample = 0;  // mse: no accuracy
  EXPECT_EQ(model.targetKind, TargetKind::Floats);
  EXPECT_EQ(model.targetSize, 2);
  std::vector<float> x, t;
  for (int i = 0; i < 40; ++i) {
    float v = -1 + i / 20.f;
    x.push_back(v);
    t.push_back(2 * v + 1);
    t.push_back(-v + 0.5f);
  }
  Dataset d = Dataset::withTargets(1, x, 2, t);
  TrainOptions o = quiet();
  o.epochs = 60;
  o.batchSize = 8;
  TrainResult r = fit(model, d, &d, o);
  EXPECT_LT(r.history.back().trainLoss, 1e-3 * r.history[0].trainLoss);
  EXPECT_LT(r.history.back().validationLoss, 1e-4);
  EXPECT_TRUE(std::isnan(r.history.back().validationAccuracy));
  EXPECT_TRUE(std::isnan(r.history.back().trainAccuracy));
  auto *m = static_cast<linreg *>(model.owner.get());
  EXPECT_NEAR(m->w[0], 2, 0.02);
  EXPECT_NEAR(m->b[0], 1, 0.02);
  EXPECT_NEAR(m->w[1], -1, 0.02);
  EXPECT_NEAR(m->b[1], 0.5, 0.02);
  // The wrong kind of data set, or the wrong target size, is refused.
  Dataset labels = Dataset::withLabels(1, {0.f}, {0});
  EXPECT_THROW(fit(model, labels, nullptr, o), Error);
  Dataset wide = Dataset::withTargets(1, {0.f}, 3, {0.f, 0.f, 0.f});
  try {
    fit(model, wide, nullptr, o);
    FAIL();
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(), "training set: 3 target values per sample, but linreg takes 2");
  }
}

TEST(Trainer, BindsAnExistingInstanceWithoutOwningIt) {
  softreg *mine = softreg_create();
  {
    Model model = NNCC_TRAINER_BIND(softreg, mine, SOFTREG_MAX_BATCH, SOFTREG_X_SIZE, 0);
    TrainOptions o = quiet();
    o.epochs = 1;
    fit(model, blobs(10, 4), nullptr, o);
  }
  EXPECT_EQ(mine->steps, 2);  // 30 samples in batches of min(32, 16)
  softreg_destroy(mine);
}

TEST(Trainer, ArgumentErrors) {
  Model model = NNCC_TRAINER_MODEL(softreg, SOFTREG, X);
  Dataset d = blobs(5, 5);
  TrainOptions o = quiet();
  o.batchSize = 17;
  try {
    fit(model, d, nullptr, o);
    FAIL();
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(), "batch size 17 is larger than softreg's maximum batch 16");
  }
  o.batchSize = 4;
  Dataset three = Dataset::withLabels(3, {1, 2, 3}, {0});
  try {
    fit(model, three, nullptr, o);
    FAIL();
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(), "training set: 3 features per sample, but softreg takes 2");
  }
  // A failing entry point: its last_error is in the exception.
  Dataset bad = Dataset::withLabels(2, {1, 2}, {7});
  try {
    fit(model, bad, nullptr, o);
    FAIL();
  } catch (const Error &e) {
    EXPECT_STREQ(e.what(), "softreg: evaluate returned 1: softreg_evaluate: label of sample 0 is out of range");
  }
  o.epochs = 0;
  EXPECT_THROW(fit(model, d, nullptr, o), Error);
}

// ---- early stopping on a scripted validation curve -------------------------------
// Its "weights" are the number of steps taken; the validation loss of epoch e
// (after e epochs of steps) is script[e - 1].
struct Scripted {
  std::vector<double> script;
  int stepsPerEpoch = 0;
  int steps = 0;
  int snapshot = -1;
  Model model(bool withSnapshot) {
    Model m;
    m.name = "scripted";
    m.maxBatch = 4;
    m.inputSize = 1;
    m.trainStep = [this](int, const float *, const int32_t *, const float *, float *loss) {
      ++steps;
      *loss = 1.0f / steps;
      return 0;
    };
    m.evaluate = [this](int batch, const float *, const int32_t *, const float *, float *loss, int32_t *correct) {
      const int epoch = steps / stepsPerEpoch;
      *loss = static_cast<float>(epoch >= 1 ? script[epoch - 1] : 9.0);
      *correct = static_cast<int32_t>(std::lround(batch * (1.0 - *loss)));  // accuracy = 1 - loss
      return 0;
    };
    if (withSnapshot) {
      m.snapshot = [this] { snapshot = steps; };
      m.restore = [this] { steps = snapshot; };
    } else {
      m.saveWeights = [this](const std::string &path) {
        std::ofstream(path) << steps;
        return 0;
      };
      m.loadWeights = [this](const std::string &path) {
        std::ifstream in(path);
        return (in >> steps) ? 0 : 1;
      };
    }
    return m;
  }
};

Dataset tiny(int n) {
  std::vector<float> x(n);
  std::vector<int32_t> y(n, 0);
  return Dataset::withLabels(1, x, y);
}

TEST(TrainerEarlyStopping, StopsAfterPatienceAndRestoresTheBestWeightsFromAFile) {
  Scripted s;
  s.script = {0.9, 0.7, 0.5, 0.55, 0.52, 0.6, 0.1, 0.1};
  s.stepsPerEpoch = 3;  // 10 samples in batches of 4
  Model model = s.model(false);
  TrainOptions o = quiet();
  o.epochs = 8;
  o.batchSize = 4;
  o.patience = 3;
  o.trainAccuracy = false;
  const std::string ckpt = tempPath("best.weights");
  o.checkpointPath = ckpt;
  std::vector<int> seenEpochs;
  o.onEpoch = [&](const EpochStats &e) { seenEpochs.push_back(e.epoch); };
  Dataset train = tiny(10), val = tiny(4);
  TrainResult r = fit(model, train, &val, o);
  EXPECT_TRUE(r.stoppedEarly);
  EXPECT_EQ(r.history.size(), 6u);  // epochs 4, 5, 6 did not beat epoch 3
  EXPECT_EQ(seenEpochs, (std::vector<int>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(r.bestEpoch, 3);
  EXPECT_NEAR(r.bestValue, 0.5, 1e-6);
  EXPECT_TRUE(r.restoredBest);
  EXPECT_EQ(s.steps, 3 * 3);  // the weights of epoch 3
  EXPECT_NEAR(evaluate(model, val).loss, 0.5, 1e-6);
  EXPECT_NEAR(r.history[3].validationLoss, 0.55, 1e-6);
  std::remove(ckpt.c_str());
}

TEST(TrainerEarlyStopping, SnapshotMinDeltaAndTemporaryCheckpoint) {
  {
    Scripted s;
    // Epoch 4 improves on epoch 2 by less than minDelta: not an improvement.
    s.script = {0.9, 0.5, 0.6, 0.495, 0.49, 0.3};
    s.stepsPerEpoch = 1;
    Model model = s.model(true);
    TrainOptions o = quiet();
    o.epochs = 6;
    o.patience = 3;
    o.minDelta = 0.02;
    TrainResult r = fit(model, tiny(4), std::make_unique<Dataset>(tiny(2)).get(), o);
    EXPECT_TRUE(r.stoppedEarly);
    EXPECT_EQ(r.history.size(), 5u);
    EXPECT_EQ(r.bestEpoch, 2);
    EXPECT_EQ(s.steps, 2);
    EXPECT_EQ(s.snapshot, 2);
  }
  {
    // Accuracy monitored (1 - loss here), best at the last epoch: nothing to restore.
    Scripted s;
    s.script = {0.75, 0.5, 0.25, 0.0};
    s.stepsPerEpoch = 1;
    Model model = s.model(false);
    TrainOptions o = quiet();
    o.epochs = 4;
    o.patience = 1;
    o.monitor = Monitor::ValidationAccuracy;
    Dataset val = tiny(10);
    TrainResult r = fit(model, tiny(4), &val, o);
    EXPECT_FALSE(r.stoppedEarly);
    EXPECT_EQ(r.bestEpoch, 4);
    EXPECT_EQ(r.bestValue, 1.0);
    EXPECT_EQ(r.history[1].validationAccuracy, 0.5);
    EXPECT_FALSE(r.restoredBest);
    EXPECT_EQ(s.steps, 4);
  }
  {
    // Without a validation set the training loss is monitored; it falls every epoch.
    Scripted s;
    s.script = {1, 1, 1};
    s.stepsPerEpoch = 1;
    Model model = s.model(false);
    TrainOptions o = quiet();
    o.epochs = 3;
    o.patience = 1;
    TrainResult r = fit(model, tiny(4), nullptr, o);
    EXPECT_EQ(r.bestEpoch, 3);
  }
  {
    // restoreBest without any way to keep weights is an error; without it, fine.
    Scripted s;
    s.script = {1};
    s.stepsPerEpoch = 1;
    Model model = s.model(true);
    model.snapshot = nullptr;
    TrainOptions o = quiet();
    o.epochs = 1;
    EXPECT_THROW(fit(model, tiny(4), nullptr, o), Error);
    o.restoreBest = false;
    EXPECT_NO_THROW(fit(model, tiny(4), nullptr, o));
  }
}

// ---- reports --------------------------------------------------------------------

std::vector<EpochStats> history(int n, bool val) {
  std::vector<EpochStats> h;
  for (int e = 1; e <= n; ++e) {
    EpochStats s;
    s.epoch = e;
    s.trainLoss = 2.0 / e;
    s.trainAccuracy = 1 - 0.5 / e;
    if (val) s.validationLoss = 2.2 / e + 0.01 * e, s.validationAccuracy = 1 - 0.6 / e;
    s.seconds = 0.5;
    s.samples = 100;
    h.push_back(s);
  }
  return h;
}

// A small checker of SVG's XML (no std::regex: GCC 12's sanitizer build warns
// inside it): every tag closed in order, one root <svg>, attributes
// name="value", no stray '<' or '>' in text; returns the element names in
// document order.
bool isNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == ':' || c == '_'; }

std::vector<std::string> checkXml(const std::string &doc) {
  std::vector<std::string> names, stack;
  EXPECT_EQ(doc.rfind("<?xml", 0), 0u);
  size_t i = doc.find("?>");
  EXPECT_NE(i, std::string::npos);
  if (i == std::string::npos) return names;
  i += 2;
  while (i < doc.size()) {
    if (doc[i] == '>') {
      ADD_FAILURE() << "stray '>' at " << i;
      return names;
    }
    if (doc[i] != '<') {
      ++i;
      continue;
    }
    ++i;
    const bool closing = i < doc.size() && doc[i] == '/';
    if (closing) ++i;
    size_t b = i;
    while (i < doc.size() && isNameChar(doc[i])) ++i;
    const std::string name = doc.substr(b, i - b);
    EXPECT_FALSE(name.empty()) << "at " << b;
    if (name.empty()) return names;
    bool selfClosing = false;
    for (;;) {
      while (i < doc.size() && std::isspace(static_cast<unsigned char>(doc[i]))) ++i;
      if (i >= doc.size()) {
        ADD_FAILURE() << "unterminated tag " << name;
        return names;
      }
      if (doc[i] == '>') {
        ++i;
        break;
      }
      if (doc[i] == '/' && i + 1 < doc.size() && doc[i + 1] == '>' && !closing) {
        selfClosing = true;
        i += 2;
        break;
      }
      EXPECT_FALSE(closing) << "attributes in </" << name << ">";
      size_t a = i;
      while (i < doc.size() && isNameChar(doc[i])) ++i;
      if (i == a || i + 1 >= doc.size() || doc[i] != '=' || doc[i + 1] != '"') {
        ADD_FAILURE() << "bad attribute in <" << name << "> at " << a;
        return names;
      }
      size_t q = doc.find('"', i + 2);
      if (q == std::string::npos || doc.substr(i + 2, q - i - 2).find('<') != std::string::npos) {
        ADD_FAILURE() << "bad attribute value in <" << name << ">";
        return names;
      }
      i = q + 1;
    }
    if (closing) {
      EXPECT_FALSE(stack.empty()) << "</" << name << "> closes nothing";
      if (stack.empty()) return names;
      EXPECT_EQ(stack.back(), name);
      stack.pop_back();
      if (stack.empty()) {
        EXPECT_EQ(doc.substr(i), "\n") << "after the root element";
        break;
      }
    } else {
      if (names.empty()) {
        EXPECT_EQ(name, "svg");
      } else {
        EXPECT_FALSE(stack.empty()) << "a second root element <" << name << ">";
      }
      names.push_back(name);
      if (!selfClosing) stack.push_back(name);
    }
  }
  EXPECT_TRUE(stack.empty());
  EXPECT_FALSE(names.empty());
  return names;
}

// The points="..." of every <polyline>, by its class.
std::vector<std::pair<std::string, std::string>> polylines(const std::string &svg) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t p = svg.find("<polyline class=\""); p != std::string::npos; p = svg.find("<polyline class=\"", p + 1)) {
    size_t c = p + std::strlen("<polyline class=\""), ce = svg.find('"', c);
    size_t end = svg.find('>', p);
    size_t pts = svg.find(" points=\"", p);
    if (ce == std::string::npos || end == std::string::npos || pts == std::string::npos || pts > end) {
      ADD_FAILURE() << "polyline without points";
      continue;
    }
    pts += std::strlen(" points=\"");
    out.emplace_back(svg.substr(c, ce - c), svg.substr(pts, svg.find('"', pts) - pts));
  }
  return out;
}

int count(const std::string &s, const std::string &what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(TrainerReport, CsvLogOneRowPerEpoch) {
  std::string csv = learningCurveCsv(history(3, true));
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds");
  EXPECT_EQ(lines[1], "1,2,0.5,2.21,0.4,,0.500");
  EXPECT_EQ(lines[2], "2,1,0.75,1.12,0.7,,0.500");
  // No validation: empty fields.
  EXPECT_EQ(learningCurveCsv(history(1, false)), "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n1,2,0.5,,,,0.500\n");
}

TEST(TrainerReport, SvgIsWellFormedWithAPointPerEpoch) {
  for (int n : {1, 2, 7, 23}) {
    std::string svg = learningCurveSvg(history(n, true), "net <a&b>");
    std::vector<std::string> names = checkXml(svg);
    EXPECT_EQ(count(svg, "<circle class=\"train-loss\""), n);
    EXPECT_EQ(count(svg, "<circle class=\"val-loss\""), n);
    EXPECT_EQ(count(svg, "<circle class=\"train-acc\""), n);
    EXPECT_EQ(count(svg, "<circle class=\"val-acc\""), n);
    EXPECT_EQ(count(svg, "<polyline"), 4);
    // Each polyline has one point per epoch.
    std::vector<std::pair<std::string, std::string>> lines = polylines(svg);
    EXPECT_EQ(lines.size(), 4u);
    for (const auto &l : lines) {
      std::istringstream ps(l.second);
      std::string p;
      int k = 0;
      while (ps >> p) {
        EXPECT_NE(p.find(','), std::string::npos);
        ++k;
      }
      EXPECT_EQ(k, n) << l.first;
    }
    EXPECT_EQ(count(svg, "class=\"panel\""), 2);
    EXPECT_EQ(count(svg, "class=\"legend\""), 2);
    EXPECT_GE(count(svg, "class=\"tick\""), 2 * (3 + 2));
    EXPECT_NE(svg.find(">loss</text>"), std::string::npos);
    EXPECT_NE(svg.find(">accuracy</text>"), std::string::npos);
    EXPECT_EQ(count(svg, ">epoch</text>"), 2);
    EXPECT_EQ(count(svg, ">validation</text>"), 2);
    EXPECT_NE(svg.find("net &lt;a&amp;b&gt;: learning curves"), std::string::npos);
  }
  // Without validation or accuracy: train curves only, and a note.
  std::vector<EpochStats> h = history(4, false);
  for (auto &e : h) e.trainAccuracy = NAN;
  std::string svg = learningCurveSvg(h);
  checkXml(svg);
  EXPECT_EQ(count(svg, "<polyline"), 1);
  EXPECT_EQ(count(svg, "<circle class=\"train-loss\""), 4);
  EXPECT_NE(svg.find("no accuracy for this loss"), std::string::npos);
}

TEST(TrainerReport, FitWritesTheLogAndThePlotEveryEpoch) {
  Model model = NNCC_TRAINER_MODEL(softreg, SOFTREG, X);
  TrainOptions o = quiet();
  o.epochs = 5;
  o.batchSize = 8;
  o.csvLog = tempPath("curves.csv");
  o.svgPlot = tempPath("curves.svg");
  int rowsSeen = 0;
  o.onEpoch = [&](const EpochStats &e) {
    rowsSeen = count(readAll(o.csvLog), "\n") - 1;
    EXPECT_EQ(rowsSeen, e.epoch);
  };
  Dataset d = blobs(10, 6);
  fit(model, d, &d, o);
  EXPECT_EQ(rowsSeen, 5);
  const std::string csv = readAll(o.csvLog), svg = readAll(o.svgPlot);
  EXPECT_EQ(count(csv, "\n"), 6);
  checkXml(svg);
  EXPECT_EQ(count(svg, "<circle class=\"val-acc\""), 5);
  EXPECT_NE(svg.find("softreg: learning curves"), std::string::npos);
  std::remove(o.csvLog.c_str());
  std::remove(o.svgPlot.c_str());
}

// ---- progress ----------------------------------------------------------------------

TEST(TrainerProgress, BarOnATerminalLinesOtherwise) {
  Dataset d = blobs(40, 7);  // 120 samples, 15 batches of 8
  for (Progress mode : {Progress::Bar, Progress::Lines, Progress::Auto}) {
    Model model = NNCC_TRAINER_MODEL(softreg, SOFTREG, X);
    std::FILE *f = std::tmpfile();
    ASSERT_NE(f, nullptr);
    TrainOptions o;
    o.epochs = 2;
    o.batchSize = 8;
    o.progress = mode;
    o.progressStream = f;
    o.learningRate = 0.5f;
    fit(model, d, &d, o);
    const std::string out = readStream(f);
    std::fclose(f);
    if (mode == Progress::Bar) {
      // Drawn in place: carriage returns, the bar, steps, loss, accuracy, rate, ETA.
      EXPECT_NE(out.find("\repoch 1/2 ["), std::string::npos) << out;
      EXPECT_NE(out.find("] 15/15 loss "), std::string::npos) << out;
      EXPECT_NE(out.find(" acc "), std::string::npos);
      EXPECT_NE(out.find(" samples/s ETA "), std::string::npos);
      EXPECT_NE(out.find("\x1b[K"), std::string::npos);
    } else {
      // Not a terminal: plain lines, no carriage return or escape.
      EXPECT_EQ(out.find('\r'), std::string::npos) << out;
      EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
    }
    EXPECT_EQ(count(out, "epoch 1/2: loss "), 1) << out;
    EXPECT_EQ(count(out, "epoch 2/2: loss "), 1) << out;
    EXPECT_NE(out.find("| val_loss "), std::string::npos);
    EXPECT_NE(out.find(" val_acc "), std::string::npos);
    EXPECT_NE(out.find("| lr 0.5 |"), std::string::npos);
  }
}

TEST(TrainerProgress, AutoIsABarOnAPseudoTerminal) {
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) GTEST_SKIP() << "no pseudo-terminals here";
  const char *name = ptsname(master);
  ASSERT_NE(name, nullptr);
  std::FILE *slave = std::fopen(name, "w");
  ASSERT_NE(slave, nullptr);
  EXPECT_TRUE(ProgressReporter(slave, Progress::Auto).isBar());
  EXPECT_FALSE(ProgressReporter(slave, Progress::Lines).isBar());
  std::FILE *file = std::tmpfile();
  EXPECT_FALSE(ProgressReporter(file, Progress::Auto).isBar());
  std::fclose(file);
  std::fclose(slave);
  close(master);
}

TEST(TrainerProgress, Durations) {
  EXPECT_EQ(formatDuration(7.4), "0:07");
  EXPECT_EQ(formatDuration(62), "1:02");
  EXPECT_EQ(formatDuration(3723), "1:02:03");
  EXPECT_EQ(formatDuration(NAN), "?");
}

}  // namespace
}  // namespace trainer
}  // namespace nncc
