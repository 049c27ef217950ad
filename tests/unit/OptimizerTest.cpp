// Optimizers and learning-rate schedules: a few training steps of a linear
// model with mse (whose gradient is worked out by hand here) against the
// update rules of torch.optim 1.13, written out independently in this test in
// double precision. Also the reported loss, evaluate's count, and
// determinism across instances and thread counts.
#include "compiler/weights/Safetensors.h"
#include "compiler/weights/WeightBinding.h"
#include "tests/unit/CompiledModel.h"

#include <cmath>
#include <functional>
#include <map>

namespace nncc {
namespace {

using testing_support::CompiledModel;
using testing_support::compileModel;
using testing_support::prepareModel;

using TrainFn = int (*)(void *, int, const float *, const void *, float *);

// The model: y = w . x + b, x in R^2, one output, mse.
std::string model(const std::string &optimizer, const std::string &schedule = "") {
  return R"({"nncc": 1, "name": "lin", "init": {"seed": 11, "bias": "glorot_uniform"}, "max_batch": 4,
    "inputs": [{"name": "x", "shape": [2]}], "layers": [{"type": "dense", "name": "fc", "units": 1}],
    "outputs": ["fc"], "training": {"loss": {"type": "mse"}, "optimizer": )" +
         optimizer + (schedule.empty() ? "" : ", \"schedule\": " + schedule) + "}}";
}

const float kX[4] = {1.0f, 2.0f, -1.0f, 0.5f};  // two samples
const float kT[2] = {0.5f, 1.0f};

struct State {
  double w[3];  // w0, w1, b
};

// d(mse)/d(w0, w1, b) on the two samples, and the cost.
void gradient(const State &s, double g[3], double &cost) {
  g[0] = g[1] = g[2] = 0;
  cost = 0;
  for (int n = 0; n < 2; ++n) {
    double r = s.w[0] * kX[2 * n] + s.w[1] * kX[2 * n + 1] + s.w[2] - kT[n];
    cost += r * r / 2;
    g[0] += r * kX[2 * n];  // 2 r x / numel, numel = 2
    g[1] += r * kX[2 * n + 1];
    g[2] += r;
  }
}

// The instance's weights, through save_weights and a safetensors file.
void savedWeights(CompiledModel &c, void *m, const std::string &stem, TensorMap &saved) {
  std::string path = ::testing::TempDir() + "/" + stem + "-" + std::to_string(::getpid()) + ".safetensors";
  ASSERT_EQ(c.saveWeights(m, path.c_str()), 0) << c.lastError(m);
  Diagnostics diags;
  ASSERT_TRUE(readSafetensors(path, saved, diags));
  std::remove(path.c_str());
}

// One update of torch.optim 1.13 (the rule given by name) on every element.
using Rule = std::function<void(State &, const double g[3], int step, std::vector<double> &buf)>;

void run(const std::string &optimizer, const std::string &schedule, int steps, const Rule &rule) {
  Graph g = prepareModel(model(optimizer, schedule));
  TensorMap params;
  CompiledModel c;
  ASSERT_NO_FATAL_FAILURE(compileSeeded(g, params, c));
  State s{{params.at("fc.weight").data[0], params.at("fc.weight").data[1], params.at("fc.bias").data[0]}};
  std::vector<double> buf(6, 0.0);
  void *m = c.create();
  ASSERT_NE(m, nullptr);
  for (int t = 0; t < steps; ++t) {
    double grad[3], cost;
    gradient(s, grad, cost);
    float loss = -1;
    ASSERT_EQ(reinterpret_cast<TrainFn>(c.trainStep)(m, 2, kX, kT, &loss), 0) << c.lastError(m);
    EXPECT_NEAR(loss, cost, 1e-5 * std::max(1.0, cost)) << "step " << t;
    rule(s, grad, t, buf);
  }
  TensorMap saved;
  ASSERT_NO_FATAL_FAILURE(savedWeights(c, m, "lin", saved));
  double got[3] = {saved.at("fc.weight").data[0], saved.at("fc.weight").data[1], saved.at("fc.bias").data[0]};
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(got[k], s.w[k], 2e-5 * std::max(1.0, std::fabs(s.w[k]))) << optimizer << " w" << k;
  c.destroy(m);
}

TEST(Optimizer, Sgd) {
  run(R"({"type": "sgd", "learning_rate": 0.1})", "", 5, [](State &s, const double g[3], int, std::vector<double> &) {
    for (int k = 0; k < 3; ++k) s.w[k] -= 0.1 * g[k];
  });
}

TEST(Optimizer, SgdMomentum) {
  run(R"({"type": "sgd", "learning_rate": 0.1, "momentum": 0.9})", "", 5,
      [](State &s, const double g[3], int t, std::vector<double> &v) {
        for (int k = 0; k < 3; ++k) {
          v[k] = t == 0 ? g[k] : 0.9 * v[k] + g[k];  // torch: the buffer starts as the first gradient
          s.w[k] -= 0.1 * v[k];
        }
      });
}

TEST(Optimizer, SgdNesterov) {
  run(R"({"type": "sgd", "learning_rate": 0.05, "momentum": 0.8, "nesterov": true})", "", 5,
      [](State &s, const double g[3], int t, std::vector<double> &v) {
        for (int k = 0; k < 3; ++k) {
          v[k] = t == 0 ? g[k] : 0.8 * v[k] + g[k];
          s.w[k] -= 0.05 * (g[k] + 0.8 * v[k]);
        }
      });
}

TEST(Optimizer, Adagrad) {
  run(R"({"type": "adagrad", "learning_rate": 0.2})", "", 5, [](State &s, const double g[3], int, std::vector<double> &a) {
    for (int k = 0; k < 3; ++k) {
      a[k] += g[k] * g[k];
      s.w[k] -= 0.2 * g[k] / (std::sqrt(a[k]) + 1e-10);
    }
  });
}

TEST(Optimizer, Adadelta) {
  run(R"({"type": "adadelta", "learning_rate": 1.0, "rho": 0.9})", "", 5,
      [](State &s, const double g[3], int, std::vector<double> &b) {
        for (int k = 0; k < 3; ++k) {
          double &sq = b[k], &acc = b[3 + k];
          sq = 0.9 * sq + 0.1 * g[k] * g[k];
          double delta = std::sqrt(acc + 1e-6) / std::sqrt(sq + 1e-6) * g[k];
          acc = 0.9 * acc + 0.1 * delta * delta;
          s.w[k] -= 1.0 * delta;
        }
      });
}

TEST(Optimizer, Rmsprop) {
  run(R"({"type": "rmsprop", "learning_rate": 0.01, "alpha": 0.9})", "", 5,
      [](State &s, const double g[3], int, std::vector<double> &b) {
        for (int k = 0; k < 3; ++k) {
          b[k] = 0.9 * b[k] + 0.1 * g[k] * g[k];
          s.w[k] -= 0.01 * g[k] / (std::sqrt(b[k]) + 1e-8);
        }
      });
}

TEST(Optimizer, Adam) {
  run(R"({"type": "adam", "learning_rate": 0.05, "beta1": 0.8, "beta2": 0.95})", "", 6,
      [](State &s, const double g[3], int t, std::vector<double> &b) {
        double bc1 = 1 - std::pow(0.8, t + 1), bc2 = 1 - std::pow(0.95, t + 1);
        for (int k = 0; k < 3; ++k) {
          double &m = b[k], &v = b[3 + k];
          m = 0.8 * m + 0.2 * g[k];
          v = 0.95 * v + 0.05 * g[k] * g[k];
          s.w[k] -= 0.05 / bc1 * m / (std::sqrt(v) / std::sqrt(bc2) + 1e-8);
        }
      });
}

// A weight large enough for the update kernel's parallel schedule (256 x 160
// = 40960 elements, parallel over its rows): two train_steps of SGD with
// momentum against the rule applied in the test to the gradients that
// compute_gradients reports at the same weights (so the check does not go
// through the update kernel's schedule), every element.
TEST(Optimizer, SgdMomentumOnALargeWeight) {
  Graph g = prepareModel(R"({"nncc": 1, "name": "big", "init": {"seed": 5, "bias": "glorot_uniform"},
    "max_batch": 3, "inputs": [{"name": "x", "shape": [256]}],
    "layers": [{"type": "dense", "name": "fc", "units": 160}], "outputs": ["fc"],
    "training": {"loss": {"type": "mse"}, "optimizer": {"type": "sgd", "learning_rate": 0.05, "momentum": 0.9}}})");
  TensorMap params;
  CompiledModel c;
  ASSERT_NO_FATAL_FAILURE(compileSeeded(g, params, c));
  std::vector<float> x(3 * 256), t(3 * 160);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 7919) % 1000) / 500.0f - 1.0f;
  for (size_t i = 0; i < t.size(); ++i) t[i] = float((i * 104729) % 1000) / 1000.0f;
  void *m = c.create();
  ASSERT_NE(m, nullptr);
  const size_t n = 256 * 160 + 160;  // fc.weight then fc.bias, the gradients' order
  std::vector<double> w(n), v(n, 0.0);
  for (size_t i = 0; i < 256 * 160; ++i) w[i] = params.at("fc.weight").data[i];
  for (size_t i = 0; i < 160; ++i) w[256 * 160 + i] = params.at("fc.bias").data[i];
  for (int step = 0; step < 2; ++step) {
    float loss = -1;
    ASSERT_EQ(reinterpret_cast<TrainFn>(c.computeGradients)(m, 3, x.data(), t.data(), &loss), 0) << c.lastError(m);
    const float *grad = c.gradients(m);
    for (size_t i = 0; i < n; ++i) {
      v[i] = step == 0 ? grad[i] : 0.9 * v[i] + grad[i];
      w[i] -= 0.05 * v[i];
    }
    ASSERT_EQ(reinterpret_cast<TrainFn>(c.trainStep)(m, 3, x.data(), t.data(), &loss), 0) << c.lastError(m);
  }
  TensorMap saved;
  ASSERT_NO_FATAL_FAILURE(savedWeights(c, m, "big", saved));
  int bad = 0;
  for (size_t i = 0; i < n; ++i) {
    double got = i < 256 * 160 ? saved.at("fc.weight").data[i] : saved.at("fc.bias").data[i - 256 * 160];
    if (std::fabs(got - w[i]) > 1e-6 + 1e-5 * std::fabs(w[i]) && ++bad <= 5)
      ADD_FAILURE() << "element " << i << ": " << got << " != " << w[i];
  }
  EXPECT_EQ(bad, 0);
  c.destroy(m);
}

TEST(Schedule, StepExponentialCosine) {
  auto sgdWith = [](std::function<double(int)> lr) {
    return [lr](State &s, const double g[3], int t, std::vector<double> &) {
      for (int k = 0; k < 3; ++k) s.w[k] -= lr(t) * g[k];
    };
  };
  run(R"({"type": "sgd", "learning_rate": 0.2})", R"({"type": "step", "step_size": 2, "gamma": 0.5})", 5,
      sgdWith([](int t) { return 0.2 * std::pow(0.5, t / 2); }));
  run(R"({"type": "sgd", "learning_rate": 0.2})", R"({"type": "exponential", "gamma": 0.7})", 5,
      sgdWith([](int t) { return 0.2 * std::pow(0.7, t); }));
  run(R"({"type": "sgd", "learning_rate": 0.2})", R"({"type": "cosine", "total_steps": 3, "min_lr": 0.01})", 5,
      sgdWith([](int t) { return t >= 3 ? 0.01 : 0.01 + (0.2 - 0.01) * (1 + std::cos(M_PI * t / 3)) / 2; }));
}

}  // namespace
}  // namespace nncc
