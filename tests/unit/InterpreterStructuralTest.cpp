// Unit tests of the reference structural kernels against hand-computed
// values: flatten and reshape ordering (row-major, as PyTorch), add of 2+
// inputs, concat on each axis, dropout as the identity, several outputs.
#include "InterpreterTest.h"

using namespace nncc;
using namespace nncc::testing;

namespace {

std::vector<float> iota(int n, float start = 0) {
  std::vector<float> v;
  for (int i = 0; i < n; ++i) v.push_back(start + static_cast<float>(i));
  return v;
}

std::vector<double> asDouble(const std::vector<float> &v) { return std::vector<double>(v.begin(), v.end()); }

}  // namespace

TEST(InterpreterStructural, FlattenIsRowMajor) {
  // flatten, then a dense that picks element 5 = x[c=1][h=0][w=1] and element 2 = x[0][1][0].
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [2, 2, 2]}], "layers": [
      {"type": "flatten", "name": "flat"}, {"type": "dense", "name": "pick", "units": 2, "use_bias": false}],
      "outputs": ["flat", "pick"]})");
  TensorMap p;
  std::vector<float> w(16, 0.f);
  w[5] = 1;
  w[8 + 2] = 1;
  p["pick.weight"] = tensor({2, 8}, w);
  std::vector<float> x = {10, 11, 12, 13, 14, 15, 16, 17};  // x[c][h][w] = 10 + 4c + 2h + w
  std::vector<TensorF32> out = run(g, p, {tensor({1, 2, 2, 2}, x)});
  ASSERT_EQ(out.size(), 2u);
  expectTensor(out[0], {1, 8}, asDouble(x));
  expectTensor(out[1], {1, 2}, {15, 12});
}

TEST(InterpreterStructural, ReshapeRoundTrip) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [12]}], "layers": [
      {"type": "reshape", "name": "img", "shape": [3, -1, 2]},
      {"type": "maxpool2d", "name": "pool", "size": [1, 2]},
      {"type": "reshape", "name": "back", "shape": [-1]}], "outputs": ["img", "back"]})");
  // img [3, 2, 2]: x[c][h][w] = 4c + 2h + w; the [1, 2] pool keeps the odd elements.
  std::vector<TensorF32> out = run(g, {}, {tensor({2, 12}, iota(24))});
  expectTensor(out[0], {2, 3, 2, 2}, asDouble(iota(24)));
  expectTensor(out[1], {2, 6}, {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23});
}

TEST(InterpreterStructural, AddThreeInputs) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "a", "shape": [3]},
      {"name": "b", "shape": [3]}, {"name": "c", "shape": [3]}],
      "layers": [{"type": "add", "inputs": ["a", "b", "c"]}]})");
  std::vector<TensorF32> out = run(g, {}, {tensor({2, 3}, {1, 2, 3, 4, 5, 6}), tensor({2, 3}, {10, 20, 30, 0, 0, 0}),
                                           tensor({2, 3}, {-1, 0.5f, 0, 1, 1, 1})});
  expectTensor(out[0], {2, 3}, {10, 22.5, 33, 5, 6, 7});
}

TEST(InterpreterStructural, ResidualAdd) {
  // y = relu(x) + x: a value used by two later layers.
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [4]}], "layers": [
      {"type": "relu", "name": "r"}, {"type": "add", "inputs": ["r", "x"]}]})");
  expectTensor(run1(g, {}, tensor({1, 4}, {-2, -1, 1, 2})), {1, 4}, {-2, -1, 2, 4});
}

TEST(InterpreterStructural, ConcatFeatures) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "a", "shape": [2]},
      {"name": "b", "shape": [1]}], "layers": [{"type": "concat", "inputs": ["a", "b"]}]})");
  std::vector<TensorF32> out = run(g, {}, {tensor({2, 2}, {1, 2, 4, 5}), tensor({2, 1}, {3, 6})});
  expectTensor(out[0], {2, 3}, {1, 2, 3, 4, 5, 6});
}

TEST(InterpreterStructural, ConcatEachAxisOfAnImage) {
  // a = 0..7 and b = 10..17 as [2, 2, 2]; a batch of two, the second sample +100.
  std::vector<float> a = iota(8), b = iota(8, 10);
  std::vector<float> a2 = a, b2 = b;
  for (float v : a) a2.push_back(v + 100);
  for (float v : b) b2.push_back(v + 100);
  const std::vector<std::vector<double>> expected = {
      {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17},   // axis 0: [4, 2, 2]
      {0, 1, 2, 3, 10, 11, 12, 13, 4, 5, 6, 7, 14, 15, 16, 17},   // axis 1: [2, 4, 2]
      {0, 1, 10, 11, 2, 3, 12, 13, 4, 5, 14, 15, 6, 7, 16, 17}};  // axis 2: [2, 2, 4]
  const Shape shapes[] = {{2, 4, 2, 2}, {2, 2, 4, 2}, {2, 2, 2, 4}};
  for (int axis = 0; axis < 3; ++axis) {
    Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "a", "shape": [2, 2, 2]},
        {"name": "b", "shape": [2, 2, 2]}], "layers": [{"type": "concat", "inputs": ["a", "b"], "axis": )" +
                         std::to_string(axis) + "}]}");
    std::vector<double> both = expected[static_cast<size_t>(axis)];
    for (double v : expected[static_cast<size_t>(axis)]) both.push_back(v + 100);
    std::vector<TensorF32> out = run(g, {}, {tensor({2, 2, 2, 2}, a2), tensor({2, 2, 2, 2}, b2)});
    ASSERT_EQ(out.size(), 1u);
    expectTensor(out[0], shapes[axis], both);
  }
}

TEST(InterpreterStructural, ConcatUnequalChannels) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "a", "shape": [1, 1, 2]},
      {"name": "b", "shape": [2, 1, 2]}], "layers": [{"type": "concat", "inputs": ["b", "a"]}]})");
  std::vector<TensorF32> out = run(g, {}, {tensor({1, 1, 1, 2}, {1, 2}), tensor({1, 2, 1, 2}, {3, 4, 5, 6})});
  expectTensor(out[0], {1, 3, 1, 2}, {3, 4, 5, 6, 1, 2});
}

TEST(InterpreterStructural, DropoutIsIdentityAtInference) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [2, 1, 3]}],
      "layers": [{"type": "dropout", "rate": 0.9}]})");
  std::vector<float> x = {-1, 0, 1, 2, 3e7f, -4.5f, 7, 8, 9, 10, 11, 12};
  expectTensor(run1(g, {}, tensor({2, 2, 1, 3}, x)), {2, 2, 1, 3}, asDouble(x));
}

TEST(InterpreterStructural, OutputsInDeclaredOrder) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [2]}], "layers": [
      {"type": "relu", "name": "r"}, {"type": "sigmoid", "name": "s"}, {"type": "step", "name": "t", "inputs": ["x"]}],
      "outputs": ["t", "r"]})");
  std::vector<TensorF32> out = run(g, {}, {tensor({1, 2}, {-1, 2})});
  ASSERT_EQ(out.size(), 2u);
  expectTensor(out[0], {1, 2}, {0, 1});
  expectTensor(out[1], {1, 2}, {0, 2});
}
