// Unit tests of the reference dense kernel against hand-computed values: a
// plain affine layer, XOR through a 2-2-1 network with known weights (step
// and sigmoid hidden units), and the single-layer perceptron with step.
#include "InterpreterTest.h"

#include <cmath>

using namespace nncc;
using namespace nncc::testing;

namespace {

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

// The four rows of the truth table, as one batch.
TensorF32 truthTable() { return tensor({4, 2}, {0, 0, 0, 1, 1, 0, 1, 1}); }

// hidden = act([[20, 20], [-20, -20]] x + [-10, 30]) (OR and NAND),
// out = sigmoid(20 h1 + 20 h2 - 30) (AND).
Graph xorModel(const std::string &hiddenActivation) {
  return buildModel(R"({"nncc": 1, "name": "xor_mlp", "inputs": [{"name": "x", "shape": [2]}], "layers": [
      {"type": "dense", "name": "hidden", "units": 2, "activation": ")" + hiddenActivation + R"("},
      {"type": "dense", "name": "out", "units": 1, "activation": "sigmoid"}]})");
}

TensorMap xorParams() {
  TensorMap p;
  p["hidden.weight"] = tensor({2, 2}, {20, 20, -20, -20});
  p["hidden.bias"] = tensor({2}, {-10, 30});
  p["out.weight"] = tensor({1, 2}, {20, 20});
  p["out.bias"] = tensor({1}, {-30});
  return p;
}

}  // namespace

TEST(InterpreterDense, Affine) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [3]}],
                           "layers": [{"type": "dense", "name": "d", "units": 2}]})");
  TensorMap p;
  p["d.weight"] = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  p["d.bias"] = tensor({2}, {0.5, -1});
  // [1 - 2 + 6 + 0.5, 4 - 5 + 12 - 1] and [0 + 0 + 3 + 0.5, 0 + 0 + 6 - 1].
  expectTensor(run1(g, p, tensor({2, 3}, {1, -1, 2, 0, 0, 1})), {2, 2}, {5.5, 10, 3.5, 5});
}

TEST(InterpreterDense, NoBias) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [3]}],
                           "layers": [{"type": "dense", "name": "d", "units": 2, "use_bias": false}]})");
  TensorMap p;
  p["d.weight"] = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  expectTensor(run1(g, p, tensor({1, 3}, {1, -1, 2})), {1, 2}, {5, 11});
}

TEST(InterpreterDense, XorWithStepHiddenUnits) {
  // hidden (0,0) -> (0, 1), (0,1) -> (1, 1), (1,0) -> (1, 1), (1,1) -> (1, 0);
  // out = sigmoid(-10), sigmoid(10), sigmoid(10), sigmoid(-10).
  TensorF32 y = run1(xorModel("step"), xorParams(), truthTable());
  const double lo = 4.5397868702434395e-05, hi = 0.9999546021312976;
  expectTensor(y, {4, 1}, {lo, hi, hi, lo}, 1e-6);
}

TEST(InterpreterDense, XorWithSigmoidHiddenUnits) {
  TensorF32 y = run1(xorModel("sigmoid"), xorParams(), truthTable());
  std::vector<double> expected;
  const double rows[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  for (const auto &r : rows) {
    double h1 = sigmoid(20 * r[0] + 20 * r[1] - 10), h2 = sigmoid(-20 * r[0] - 20 * r[1] + 30);
    expected.push_back(sigmoid(20 * h1 + 20 * h2 - 30));
  }
  expectTensor(y, {4, 1}, expected, 1e-6);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y.data[static_cast<size_t>(i)] > 0.5f, i == 1 || i == 2) << "row " << i;
}

TEST(InterpreterDense, PerceptronWithStep) {
  // AND: step(x1 + x2 - 1.5); OR with a separate step layer: step(x1 + x2 - 0.5).
  Graph fused = buildModel(R"({"nncc": 1, "name": "p", "inputs": [{"name": "x", "shape": [2]}],
      "layers": [{"type": "dense", "name": "p", "units": 1, "activation": "step"}]})");
  TensorMap p;
  p["p.weight"] = tensor({1, 2}, {1, 1});
  p["p.bias"] = tensor({1}, {-1.5});
  expectTensor(run1(fused, p, truthTable()), {4, 1}, {0, 0, 0, 1});
  Graph layer = buildModel(R"({"nncc": 1, "name": "p", "inputs": [{"name": "x", "shape": [2]}],
      "layers": [{"type": "dense", "name": "p", "units": 1}, {"type": "step"}]})");
  p["p.bias"] = tensor({1}, {-0.5});
  expectTensor(run1(layer, p, truthTable()), {4, 1}, {0, 1, 1, 1});
}
