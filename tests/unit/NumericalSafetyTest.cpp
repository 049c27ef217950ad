// Numerical safety of the reference interpreter (issue 6): softmax,
// log_softmax and batchnorm stay finite, and exact, on extreme logits
// (+-1e4, +-3e38, mixed) and on constant inputs. The compiled kernels are
// checked on the same inputs by tests/lit/hostile/numerics.test.
#include "InterpreterTest.h"

#include <cmath>

using namespace nncc;
using namespace nncc::testing;

namespace {

Graph layerModel(const std::string &layer, const std::string &inShape) {
  return buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": )" + inShape +
                    R"(}], "layers": [)" + layer + "]}");
}

// softmax and log_softmax of one row, in long double from the shifted form.
void exact(const std::vector<float> &x, std::vector<double> &sm, std::vector<double> &lsm) {
  long double mx = x[0], sum = 0;
  for (float v : x) mx = std::max<long double>(mx, v);
  for (float v : x) sum += std::exp(static_cast<long double>(v) - mx);
  sm.clear();
  lsm.clear();
  for (float v : x) {
    sm.push_back(static_cast<double>(std::exp(static_cast<long double>(v) - mx) / sum));
    lsm.push_back(static_cast<double>(static_cast<long double>(v) - mx - std::log(sum)));
  }
}

const std::vector<std::vector<float>> kRows = {
    {1e4f, -1e4f, 1e4f, -1e4f},         {-1e4f, -1e4f, -1e4f, -1e4f}, {1e4f, 1e4f, 1e4f, 1e4f},
    {3e38f, 3e38f, 2.9e38f, 3e38f},     {-3e38f, -3e38f, -3e38f, -3e38f}, {3e38f, 3e38f, 3e38f, 3e38f},
    {0, 0, 0, 0},                       {1e4f, 0, -1e4f, 1},           {-3e38f, -2.9e38f, -3e38f, -3e38f},
};

}  // namespace

TEST(NumericalSafety, SoftmaxFiniteOnExtremeAndConstantRows) {
  Graph g = layerModel(R"({"type": "softmax"})", "[4]");
  for (const auto &row : kRows) {
    std::vector<double> sm, lsm;
    exact(row, sm, lsm);
    TensorF32 y = run1(g, {}, tensor({1, 4}, row));
    ASSERT_EQ(y.data.size(), 4u);
    double sum = 0;
    for (int i = 0; i < 4; ++i) {
      EXPECT_TRUE(std::isfinite(y.data[i])) << "row starting " << row[0] << ", element " << i;
      EXPECT_NEAR(y.data[i], sm[i], 1e-6) << "row starting " << row[0] << ", element " << i;
      sum += y.data[i];
    }
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

TEST(NumericalSafety, SoftmaxOfMixedMaximaIsFinite) {
  // The spread 6e38 overflows float: the smaller one's probability is 0, not NaN.
  Graph g = layerModel(R"({"type": "softmax"})", "[2]");
  TensorF32 y = run1(g, {}, tensor({1, 2}, {3e38f, -3e38f}));
  expectTensor(y, {1, 2}, {1, 0});
}

TEST(NumericalSafety, LogSoftmaxFiniteWhereTheResultIsRepresentable) {
  Graph g = layerModel(R"({"type": "log_softmax"})", "[4]");
  for (const auto &row : kRows) {
    std::vector<double> sm, lsm;
    exact(row, sm, lsm);
    TensorF32 y = run1(g, {}, tensor({1, 4}, row));
    ASSERT_EQ(y.data.size(), 4u);
    for (int i = 0; i < 4; ++i) {
      EXPECT_TRUE(std::isfinite(y.data[i])) << "row starting " << row[0] << ", element " << i;
      EXPECT_NEAR(y.data[i], lsm[i], 1e-6 * (1 + std::fabs(lsm[i]))) << "row starting " << row[0];
    }
  }
}

TEST(NumericalSafety, SoftmaxOnChannelsOfAnImageWithExtremes) {
  Graph g = layerModel(R"({"type": "softmax", "axis": 0})", "[2, 1, 2]");
  // Per pixel the two channels: (3e38, 3e38) -> 1/2 each; (-1e4, 1e4) -> 0, 1.
  TensorF32 y = run1(g, {}, tensor({1, 2, 1, 2}, {3e38f, -1e4f, 3e38f, 1e4f}));
  expectTensor(y, {1, 2, 1, 2}, {0.5, 0, 0.5, 1});
  Graph lg = layerModel(R"({"type": "log_softmax", "axis": 0})", "[2, 1, 2]");
  TensorF32 ly = run1(lg, {}, tensor({1, 2, 1, 2}, {-3e38f, 0, -3e38f, 0}));
  const double ln2 = 0.6931471805599453;
  expectTensor(ly, {1, 2, 1, 2}, {-ln2, -ln2, -ln2, -ln2});
}

TEST(NumericalSafety, BatchNormFiniteOnExtremeAndConstantInputs) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [4]}],
                           "layers": [{"type": "batchnorm", "name": "bn"}]})");
  TensorMap p;
  // A zero running variance: only epsilon (1e-5) keeps the scale finite.
  p["bn.weight"] = tensor({4}, {1, 1, 0.5f, 2});
  p["bn.bias"] = tensor({4}, {0, 0, 0, 0});
  p["bn.running_mean"] = tensor({4}, {0, 1e4f, 0, 0});
  p["bn.running_var"] = tensor({4}, {1, 0, 1, 1e-30f});
  const double eps = 1e-5;
  std::vector<std::vector<float>> rows = {{1e4f, 1e4f, -1e4f, 1e4f}, {3e38f, 1e4f, -3e38f, 1}, {0, 0, 0, 0},
                                          {7, 7, 7, 7}};
  for (const auto &row : rows) {
    TensorF32 y = run1(g, p, tensor({1, 4}, row));
    ASSERT_EQ(y.data.size(), 4u);
    double want[4] = {row[0] / std::sqrt(1 + eps), (row[1] - 1e4) / std::sqrt(0 + eps),
                      0.5 * row[2] / std::sqrt(1 + eps), 2 * row[3] / std::sqrt(1e-30 + eps)};
    for (int i = 0; i < 4; ++i) {
      EXPECT_TRUE(std::isfinite(y.data[i])) << "input " << row[i] << ", feature " << i;
      EXPECT_NEAR(y.data[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << "input " << row[i] << ", feature " << i;
    }
  }
}
