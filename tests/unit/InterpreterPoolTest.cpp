// Unit tests of the reference pooling kernels against hand-computed values:
// max and average pools with padding and ceil_mode, PyTorch's avgpool divisor
// with and without count_include_pad, and the global pools.
#include "InterpreterTest.h"

using namespace nncc;
using namespace nncc::testing;

namespace {

Graph poolModel(const std::string &type, const std::string &attrs, const std::string &inShape = "[1, 4, 4]") {
  return buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": )" + inShape +
                    R"(}], "layers": [{"type": ")" + type + "\"" + (attrs.empty() ? "" : ", " + attrs) + "}]}");
}

// 1..n*n row-major, optionally negated.
TensorF32 ramp(int64_t n, float sign = 1) {
  std::vector<float> v;
  for (int64_t i = 1; i <= n * n; ++i) v.push_back(sign * static_cast<float>(i));
  return tensor({1, 1, n, n}, v);
}

}  // namespace

TEST(InterpreterPool, MaxPool2x2) {
  Graph g = poolModel("maxpool2d", R"("size": 2)");
  expectTensor(run1(g, {}, ramp(4)), {1, 1, 2, 2}, {6, 8, 14, 16});
}

TEST(InterpreterPool, MaxPoolPaddingNeverWins) {
  // size 2, stride 2, padding 1 on 4x4: windows rows {0}, {1,2}, {3} (and the same for columns).
  Graph g = poolModel("maxpool2d", R"("size": 2, "padding": 1)");
  expectTensor(run1(g, {}, ramp(4)), {1, 1, 3, 3}, {1, 3, 4, 9, 11, 12, 13, 15, 16});
  // All-negative input: a zero padding would win; -inf padding does not.
  expectTensor(run1(g, {}, ramp(4, -1)), {1, 1, 3, 3}, {-1, -2, -4, -5, -6, -8, -13, -14, -16});
}

TEST(InterpreterPool, MaxPoolCeilMode) {
  // 5x5, size 2, stride 2, ceil_mode: 3x3, the last windows hold one row/column.
  Graph g = poolModel("maxpool2d", R"("size": 2, "ceil_mode": true)", "[1, 5, 5]");
  expectTensor(run1(g, {}, ramp(5)), {1, 1, 3, 3}, {7, 9, 10, 17, 19, 20, 22, 24, 25});
  Graph f = poolModel("maxpool2d", R"("size": 2)", "[1, 5, 5]");
  expectTensor(run1(f, {}, ramp(5)), {1, 1, 2, 2}, {7, 9, 17, 19});
}

TEST(InterpreterPool, MaxPoolOverlappingStride1) {
  Graph g = poolModel("maxpool2d", R"("size": 3, "stride": 1)");
  expectTensor(run1(g, {}, ramp(4)), {1, 1, 2, 2}, {11, 12, 15, 16});
}

TEST(InterpreterPool, AvgPoolPlain) {
  Graph g = poolModel("avgpool2d", R"("size": 2)");
  // (1+2+5+6)/4 = 3.5, ...
  expectTensor(run1(g, {}, ramp(4)), {1, 1, 2, 2}, {3.5, 5.5, 11.5, 13.5});
}

// 4x4 input 1..16, size 3, stride 2, padding 1, ceil_mode: 3x3 output.
// Rows (and columns) of the windows: [-1, 2) -> {0, 1}; [1, 4) -> {1, 2, 3};
// [3, 6) -> {3}, of which only [3, 5) lies in the padded input (4 + 1).
TEST(InterpreterPool, AvgPoolCeilModeExcludePad) {
  Graph g = poolModel("avgpool2d", R"("size": 3, "stride": 2, "padding": 1, "ceil_mode": true)");
  // Divisor: the in-bounds elements. (0,0): (1+2+5+6)/4; (2,2): 16/1.
  expectTensor(run1(g, {}, ramp(4)), {1, 1, 3, 3}, {3.5, 5, 6, 9.5, 11, 12, 13.5, 15, 16});
}

TEST(InterpreterPool, AvgPoolCeilModeIncludePad) {
  Graph g = poolModel("avgpool2d", R"("size": 3, "stride": 2, "padding": 1, "ceil_mode": true, "count_include_pad": true)");
  // Divisor: the window within the padded input: 3*3 except the last row/column
  // windows, which count 2 (one padding row, not the ceil_mode overhang).
  // Sums: 14 30 12 / 57 99 36 / 27 45 16; divisors 9 9 6 / 9 9 6 / 6 6 4.
  expectTensor(run1(g, {}, ramp(4)), {1, 1, 3, 3},
               {14.0 / 9, 30.0 / 9, 12.0 / 6, 57.0 / 9, 99.0 / 9, 36.0 / 6, 27.0 / 6, 45.0 / 6, 16.0 / 4});
}

TEST(InterpreterPool, AvgPoolCeilModeOverhangWithoutPadding) {
  // 5x5, size 2, ceil_mode: the overhang never counts, with or without count_include_pad.
  for (const char *cip : {"false", "true"}) {
    Graph g = poolModel("avgpool2d", std::string(R"("size": 2, "ceil_mode": true, "count_include_pad": )") + cip,
                        "[1, 5, 5]");
    expectTensor(run1(g, {}, ramp(5)), {1, 1, 3, 3}, {4, 6, 7.5, 14, 16, 17.5, 21.5, 23.5, 25});
  }
}

TEST(InterpreterPool, AvgPoolAsymmetricPadding) {
  // padding [top 1, left 0, bottom 0, right 0]: rows {0}, {1, 2}; columns {0, 1}, {2, 3}.
  Graph ex = poolModel("avgpool2d", R"("size": 2, "padding": [1, 0, 0, 0])");
  expectTensor(run1(ex, {}, ramp(4)), {1, 1, 2, 2}, {1.5, 3.5, 7.5, 9.5});
  Graph in = poolModel("avgpool2d", R"("size": 2, "padding": [1, 0, 0, 0], "count_include_pad": true)");
  expectTensor(run1(in, {}, ramp(4)), {1, 1, 2, 2}, {0.75, 1.75, 7.5, 9.5});
}

TEST(InterpreterPool, GlobalPools) {
  TensorF32 x = tensor({2, 2, 2, 2}, {1, 2, 3, 4, -1, -5, 2, 0,  // sample 0
                                      0, 0, 0, 8, -2, -2, -2, -2});
  Graph avg = poolModel("global_avgpool2d", "", "[2, 2, 2]");
  expectTensor(run1(avg, {}, x), {2, 2}, {2.5, -1, 2, -2});
  Graph mx = poolModel("global_maxpool2d", "", "[2, 2, 2]");
  expectTensor(run1(mx, {}, x), {2, 2}, {4, 2, 8, -2});
}

TEST(InterpreterPool, BatchAndChannels) {
  // Two samples of two channels: each pooled on its own.
  std::vector<float> v;
  for (int s = 0; s < 2; ++s)
    for (int c = 0; c < 2; ++c)
      for (int i = 1; i <= 16; ++i) v.push_back(static_cast<float>(i * (c ? -1 : 1) + 100 * s));
  Graph g = poolModel("maxpool2d", R"("size": 2)", "[2, 4, 4]");
  expectTensor(run1(g, {}, tensor({2, 2, 4, 4}, v)), {2, 2, 2, 2},
               {6, 8, 14, 16, -1, -3, -9, -11, 106, 108, 114, 116, 99, 97, 91, 89});
}
