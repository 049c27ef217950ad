// Unit tests of the reference batchnorm (inference: running statistics) and
// preprocess kernels against hand-computed values.
#include "InterpreterTest.h"

#include <cmath>

using namespace nncc;
using namespace nncc::testing;

namespace {

Graph bnModel(const std::string &inShape, const std::string &extra = "") {
  return buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": )" + inShape +
                    R"(}], "layers": [{"type": "batchnorm", "name": "bn")" + extra + "}]}");
}

TensorMap bnParams(std::vector<float> w, std::vector<float> b, std::vector<float> mean, std::vector<float> var) {
  int64_t c = static_cast<int64_t>(w.size());
  TensorMap p;
  p["bn.weight"] = tensor({c}, std::move(w));
  p["bn.bias"] = tensor({c}, std::move(b));
  p["bn.running_mean"] = tensor({c}, std::move(mean));
  p["bn.running_var"] = tensor({c}, std::move(var));
  return p;
}

}  // namespace

TEST(InterpreterNormalization, BatchNormFeatures) {
  Graph g = bnModel("[2]", R"(, "epsilon": 0.75)");
  // (3 - 1) / sqrt(3.25 + 0.75) * 2 + 0.5 = 2.5; (-1 + 2) / sqrt(0.25 + 0.75) * 1 + 0 = 1.
  TensorMap p = bnParams({2, 1}, {0.5, 0}, {1, -2}, {3.25, 0.25});
  expectTensor(run1(g, p, tensor({2, 2}, {3, -1, 1, -4})), {2, 2}, {2.5, 1, 0.5, -2});
}

TEST(InterpreterNormalization, BatchNormDefaultEpsilonOnImage) {
  Graph g = bnModel("[2, 1, 2]");
  TensorMap p = bnParams({1, 3}, {0, 1}, {0.5, 2}, {4, 1});
  auto f = [](double x, double w, double b, double m, double v) { return (x - m) / std::sqrt(v + 1e-5) * w + b; };
  expectTensor(run1(g, p, tensor({1, 2, 1, 2}, {2.5, -1.5, 2, 4})), {1, 2, 1, 2},
               {f(2.5, 1, 0, 0.5, 4), f(-1.5, 1, 0, 0.5, 4), f(2, 3, 1, 2, 1), f(4, 3, 1, 2, 1)});
  // ~ {0.99999875, -0.99999875, 1, 6.99997}.
  EXPECT_NEAR(run1(g, p, tensor({1, 2, 1, 2}, {2.5, -1.5, 2, 4})).data[3], 6.99997, 1e-5);
}

TEST(InterpreterNormalization, BatchNormInitialStateIsNearIdentity) {
  Graph g = bnModel("[3]");
  TensorMap p = bnParams({1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1});
  double s = 1 / std::sqrt(1 + 1e-5);
  expectTensor(run1(g, p, tensor({1, 3}, {-2, 0, 5})), {1, 3}, {-2 * s, 0, 5 * s});
}

TEST(InterpreterNormalization, PreprocessPerChannel) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [2, 1, 2]}],
      "preprocess": {"x": {"mean": [1, 2], "std": [2, 4]}}, "layers": [{"type": "dropout", "rate": 0.5}]})");
  // channel 0: (3 - 1)/2, (5 - 1)/2; channel 1: (2 - 2)/4, (10 - 2)/4.
  expectTensor(run1(g, {}, tensor({1, 2, 1, 2}, {3, 5, 2, 10})), {1, 2, 1, 2}, {1, 2, 0, 2});
}

TEST(InterpreterNormalization, PreprocessOneValueAndPerFeature) {
  Graph one = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [3]}],
      "preprocess": {"x": {"mean": [1], "std": [2]}}, "layers": [{"type": "relu"}]})");
  expectTensor(run1(one, {}, tensor({2, 3}, {1, 3, 5, -1, 7, 0})), {2, 3}, {0, 1, 2, 0, 3, 0});
  Graph per = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [3]}],
      "preprocess": {"x": {"mean": [0, 1, 2], "std": [1, 0.5, 0.25]}}, "layers": [{"type": "dropout", "rate": 0.1}]})");
  expectTensor(run1(per, {}, tensor({1, 3}, {1, 2, 3})), {1, 3}, {1, 2, 4});
}
