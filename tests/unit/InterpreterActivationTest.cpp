// Unit tests of the reference activations against hand-computed values: the
// element-wise activations at a few points (negative ones included), as
// layers and as fused attributes, and softmax / log_softmax on every axis,
// including their numerical stability at +-1e4.
#include "InterpreterTest.h"

using namespace nncc;
using namespace nncc::testing;

namespace {

Graph layerModel(const std::string &layer, const std::string &inShape = "[5]") {
  return buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": )" + inShape +
                    R"(}], "layers": [)" + layer + "]}");
}

const std::vector<float> kPoints = {-2, -0.5f, 0, 0.5f, 3};

TensorF32 points() { return tensor({1, 5}, kPoints); }

}  // namespace

TEST(InterpreterActivation, Relu) {
  expectTensor(run1(layerModel(R"({"type": "relu"})"), {}, points()), {1, 5}, {0, 0, 0, 0.5, 3});
}

TEST(InterpreterActivation, Sigmoid) {
  expectTensor(run1(layerModel(R"({"type": "sigmoid"})"), {}, points()), {1, 5},
               {0.11920292202211755, 0.3775406687981454, 0.5, 0.6224593312018546, 0.9525741268224334});
}

TEST(InterpreterActivation, Tanh) {
  expectTensor(run1(layerModel(R"({"type": "tanh"})"), {}, points()), {1, 5},
               {-0.9640275800758169, -0.46211715726000974, 0, 0.46211715726000974, 0.9950547536867305});
}

TEST(InterpreterActivation, StepIsStrictlyPositive) {
  expectTensor(run1(layerModel(R"({"type": "step"})"), {}, points()), {1, 5}, {0, 0, 0, 1, 1});
}

TEST(InterpreterActivation, LeakyRelu) {
  expectTensor(run1(layerModel(R"({"type": "leaky_relu"})"), {}, points()), {1, 5}, {-0.02, -0.005, 0, 0.5, 3});
  expectTensor(run1(layerModel(R"({"type": "leaky_relu", "alpha": 0.1})"), {}, points()), {1, 5},
               {-0.2, -0.05, 0, 0.5, 3});
}

TEST(InterpreterActivation, Elu) {
  // alpha * (e^x - 1) below zero: e^-2 - 1 = -0.8646647167633873.
  expectTensor(run1(layerModel(R"({"type": "elu"})"), {}, points()), {1, 5},
               {-0.8646647167633873, -0.3934693402873666, 0, 0.5, 3});
  expectTensor(run1(layerModel(R"({"type": "elu", "alpha": 2})"), {}, points()), {1, 5},
               {-1.7293294335267746, -0.7869386805747332, 0, 0.5, 3});
}

TEST(InterpreterActivation, ExtremeInputs) {
  TensorF32 x = tensor({1, 5}, {-1e4f, -100, 0, 100, 1e4f});
  expectTensor(run1(layerModel(R"({"type": "sigmoid"})"), {}, x), {1, 5}, {0, 3.7200759760208356e-44, 0.5, 1, 1});
  expectTensor(run1(layerModel(R"({"type": "tanh"})"), {}, x), {1, 5}, {-1, -1, 0, 1, 1});
  expectTensor(run1(layerModel(R"({"type": "elu"})"), {}, x), {1, 5}, {-1, -1, 0, 100, 1e4});
}

TEST(InterpreterActivation, SoftmaxVector) {
  // e^(x - 3) = e^-2, e^-1, 1; their sum 1.5032147244080551.
  TensorF32 x = tensor({1, 3}, {1, 2, 3});
  expectTensor(run1(layerModel(R"({"type": "softmax"})", "[3]"), {}, x), {1, 3},
               {0.09003057317038046, 0.24472847105479764, 0.6652409557748218});
  expectTensor(run1(layerModel(R"({"type": "log_softmax"})", "[3]"), {}, x), {1, 3},
               {-2.40760596444438, -1.4076059644443804, -0.40760596444438046});
}

TEST(InterpreterActivation, SoftmaxIsStableAtLargeMagnitudes) {
  TensorF32 x = tensor({2, 3}, {1e4f, -1e4f, 1e4f, -1e4f, -1e4f, -1e4f});
  expectTensor(run1(layerModel(R"({"type": "softmax"})", "[3]"), {}, x), {2, 3},
               {0.5, 0, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3});
  const double ln2 = 0.6931471805599453, ln3 = 1.0986122886681098;
  expectTensor(run1(layerModel(R"({"type": "log_softmax"})", "[3]"), {}, x), {2, 3},
               {-ln2, -2e4 - ln2, -ln2, -ln3, -ln3, -ln3});
}

// x[c][h][w] = 4c + 2h + w on [2, 2, 2]: along axis 0 each pair differs by 4,
// along axis 1 by 2, along axis 2 by 1, so softmax of a pair (v, v + d) is
// (1 / (1 + e^d), 1 / (1 + e^-d)).
namespace {
TensorF32 cube() { return tensor({1, 2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}); }
const double kLo[] = {0, 0.2689414213699951, 0.11920292202211755, 0, 0.01798620996209156};  // by d
const double kLogLo[] = {0, -1.3132616875182228, -2.1269280110429727, 0, -4.0181499279178094};
const double kLogHi[] = {0, -0.3132616875182228, -0.12692801104297263, 0, -0.01814992791780973};
}  // namespace

TEST(InterpreterActivation, SoftmaxEachAxisOfAnImage) {
  for (int axis = 0; axis < 3; ++axis) {
    int d = axis == 0 ? 4 : axis == 1 ? 2 : 1;
    std::vector<double> sm, lsm;
    for (int i = 0; i < 8; ++i) {
      int pos = axis == 0 ? i / 4 : axis == 1 ? (i / 2) % 2 : i % 2;  // index along the axis
      sm.push_back(pos == 0 ? kLo[d] : 1 - kLo[d]);
      lsm.push_back(pos == 0 ? kLogLo[d] : kLogHi[d]);
    }
    std::string a = std::to_string(axis);
    expectTensor(run1(layerModel(R"({"type": "softmax", "axis": )" + a + "}", "[2, 2, 2]"), {}, cube()),
                 {1, 2, 2, 2}, sm);
    expectTensor(run1(layerModel(R"({"type": "log_softmax", "axis": )" + a + "}", "[2, 2, 2]"), {}, cube()),
                 {1, 2, 2, 2}, lsm);
  }
}

TEST(InterpreterActivation, SoftmaxRowsSumToOne) {
  // Channels of a [3, 2, 2] image with mixed values, two samples.
  std::vector<float> v;
  for (int i = 0; i < 24; ++i) v.push_back(static_cast<float>((i * 7 % 11) - 5) * 0.75f);
  TensorF32 y = run1(layerModel(R"({"type": "softmax"})", "[3, 2, 2]"), {}, tensor({2, 3, 2, 2}, v));
  ASSERT_EQ(y.shape, (Shape{2, 3, 2, 2}));
  for (int n = 0; n < 2; ++n)
    for (int p = 0; p < 4; ++p) {
      double sum = 0;
      for (int c = 0; c < 3; ++c) sum += y.data[static_cast<size_t>(n * 12 + c * 4 + p)];
      EXPECT_NEAR(sum, 1.0, 1e-6);
    }
}

TEST(InterpreterActivation, FusedOnDenseEqualsLayer) {
  // dense with identity weights, then each activation fused: same values as the layers above.
  const std::string model = R"({"type": "dense", "name": "d", "units": 5, "use_bias": false, "activation": )";
  TensorMap p;
  std::vector<float> eye(25, 0.f);
  for (int i = 0; i < 5; ++i) eye[static_cast<size_t>(i * 6)] = 1;
  p["d.weight"] = tensor({5, 5}, eye);
  expectTensor(run1(layerModel(model + R"("relu"})"), p, points()), {1, 5}, {0, 0, 0, 0.5, 3});
  expectTensor(run1(layerModel(model + R"("step"})"), p, points()), {1, 5}, {0, 0, 0, 1, 1});
  expectTensor(run1(layerModel(model + R"({"type": "elu", "alpha": 2}})"), p, points()), {1, 5},
               {-1.7293294335267746, -0.7869386805747332, 0, 0.5, 3});
  expectTensor(run1(layerModel(model + R"("tanh"})"), p, points()), {1, 5},
               {-0.9640275800758169, -0.46211715726000974, 0, 0.46211715726000974, 0.9950547536867305});
  TensorF32 x = tensor({1, 5}, {1, 2, 3, 3, 3});
  // softmax of (1, 2, 3, 3, 3): e^-2, e^-1, 1, 1, 1 over 3.5032147244080551.
  const double s = 3.5032147244080551;
  expectTensor(run1(layerModel(model + R"("softmax"})"), p, x), {1, 5},
               {0.1353352832366127 / s, 0.36787944117144233 / s, 1 / s, 1 / s, 1 / s});
  expectTensor(run1(layerModel(model + R"("log_softmax"})"), p, x), {1, 5},
               {-2 - std::log(s), -1 - std::log(s), -std::log(s), -std::log(s), -std::log(s)});
}
