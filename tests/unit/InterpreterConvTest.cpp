// Unit tests of the reference conv2d and conv2d_transpose kernels against
// hand-computed values: the classic edge-detection, sharpen and Gaussian-blur
// kernels, stride, asymmetric padding, dilation, groups, depthwise, fused
// activations, and transposed convolutions (upsampling, output_padding, padding).
#include "InterpreterTest.h"

using namespace nncc;
using namespace nncc::testing;

namespace {

// The 5x5 test image, one channel.
const std::vector<float> kImage = {1, 2, 0, 1, 3,  //
                                   0, 1, 2, 3, 1,  //
                                   2, 0, 1, 0, 2,  //
                                   1, 3, 0, 2, 1,  //
                                   0, 1, 2, 1, 0};

const std::vector<float> kEdge = {-1, -1, -1, -1, 8, -1, -1, -1, -1};
const std::vector<float> kSharpen = {0, -1, 0, -1, 5, -1, 0, -1, 0};
const std::vector<float> kBlur = {1 / 16.f, 2 / 16.f, 1 / 16.f, 2 / 16.f, 4 / 16.f, 2 / 16.f, 1 / 16.f, 2 / 16.f, 1 / 16.f};

// A model with one conv2d layer (extra attributes spliced in) on a [C, H, W] input.
Graph convModel(const std::string &attrs, const std::string &inShape = "[1, 5, 5]") {
  return buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": )" + inShape +
                    R"(}], "layers": [{"type": "conv2d", "name": "conv", )" + attrs + "}]}");
}

// Weight and bias; no bias given: zeros, one per filter of a conv2d weight [filters, ...].
TensorMap convParams(Shape wShape, std::vector<float> w, std::vector<float> bias = {}) {
  TensorMap p;
  if (bias.empty()) bias.assign(static_cast<size_t>(wShape[0]), 0.f);
  p["conv.bias"] = tensor({static_cast<int64_t>(bias.size())}, bias);
  p["conv.weight"] = tensor(std::move(wShape), std::move(w));
  return p;
}

TensorF32 image() { return tensor({1, 1, 5, 5}, kImage); }

}  // namespace

TEST(InterpreterConv, EdgeDetectionValid) {
  Graph g = convModel(R"("filters": 1, "kernel": 3)");
  TensorF32 y = run1(g, convParams({1, 1, 3, 3}, kEdge), image());
  // e.g. the top-left output: 8*1 - (1+2+0+0+2+2+0+1) = 0.
  expectTensor(y, {1, 1, 3, 3}, {0, 8, 14, -10, -3, -12, 17, -10, 9});
}

TEST(InterpreterConv, EdgeDetectionSamePadding) {
  Graph g = convModel(R"("filters": 1, "kernel": 3, "padding": "same")");
  TensorF32 y = run1(g, convParams({1, 1, 3, 3}, kEdge), image());
  // Top-left: 8*1 - (2 + 0 + 1) = 5 (the zero padding contributes nothing).
  expectTensor(y, {1, 1, 5, 5}, {5,  12, -9, -1, 19, -6, 0, 8,  14, -1, 11, -10, -3,
                                 -12, 9, 2,  17, -10, 9, 3, -5, 2,  9,  3,  -4});
}

TEST(InterpreterConv, SharpenValidAndPadded) {
  Graph g = convModel(R"("filters": 1, "kernel": 3)");
  expectTensor(run1(g, convParams({1, 1, 3, 3}, kSharpen), image()), {1, 1, 3, 3}, {1, 5, 11, -7, 3, -8, 13, -8, 8});
  Graph p = convModel(R"("filters": 1, "kernel": 3, "padding": 1)");
  expectTensor(run1(p, convParams({1, 1, 3, 3}, kSharpen), image()), {1, 1, 5, 5},
               {3, 8, -5, -1, 13, -4, 1, 5, 11, -3, 9, -7, 3, -8, 8, 0, 13, -8, 8, 1, -2, 0, 8, 1, -2});
}

TEST(InterpreterConv, GaussianBlurValidAndPadded) {
  Graph g = convModel(R"("filters": 1, "kernel": 3, "padding": "valid")");
  // Top-left: (1*1 + 2*2 + 1*0 + 2*0 + 4*1 + 2*2 + 1*2 + 2*0 + 1*1) / 16 = 16/16 = 1.
  expectTensor(run1(g, convParams({1, 1, 3, 3}, kBlur), image()), {1, 1, 3, 3},
               {1.0, 1.3125, 1.625, 1.0625, 1.0625, 1.25, 1.3125, 1.125, 1.0625});
  Graph p = convModel(R"("filters": 1, "kernel": 3, "padding": [1, 1])");
  expectTensor(run1(p, convParams({1, 1, 3, 3}, kBlur), image()), {1, 1, 5, 5},
               {0.5625, 0.875, 0.875, 1.1875, 1.1875, 0.625, 1.0,    1.3125, 1.625,  1.3125, 0.875, 1.0625, 1.0625,
                1.25,   1.0625, 0.9375, 1.3125, 1.125, 1.0625, 0.8125, 0.4375, 0.9375, 1.0625, 0.8125, 0.375});
}

TEST(InterpreterConv, StrideAndPadding) {
  Graph g = convModel(R"("filters": 1, "kernel": 3, "stride": 2, "padding": 1)");
  expectTensor(run1(g, convParams({1, 1, 3, 3}, kEdge), image()), {1, 1, 3, 3}, {5, -9, 19, 11, -3, 9, -5, 9, -4});
}

TEST(InterpreterConv, AsymmetricPadding) {
  // [top, left, bottom, right] = [0, 1, 1, 0]: out (5+1-3)/2+1 = 2 each way.
  // Top-left: center (1, 0) = 0; 5*0 - 1 (up) - 2 (down) - 0 (left, padding) - 1 (right) = -4.
  Graph g = convModel(R"("filters": 1, "kernel": 3, "stride": 2, "padding": [0, 1, 1, 0])");
  expectTensor(run1(g, convParams({1, 1, 3, 3}, kSharpen), image()), {1, 1, 2, 2}, {-4, 5, 0, -8});
}

TEST(InterpreterConv, Dilation) {
  // 2x2 kernel dilated by 2 reads x[y][x], x[y][x+2], x[y+2][x], x[y+2][x+2]:
  // top-left 1*1 + 2*0 + 3*2 + 4*1 = 11.
  Graph g = convModel(R"("filters": 1, "kernel": 2, "dilation": 2)");
  expectTensor(run1(g, convParams({1, 1, 2, 2}, {1, 2, 3, 4}), image()), {1, 1, 3, 3},
               {11, 4, 17, 7, 24, 8, 12, 7, 11});
  Graph p = convModel(R"("filters": 1, "kernel": 3, "dilation": 2, "padding": 2)");
  expectTensor(run1(p, convParams({1, 1, 3, 3}, kEdge), image()), {1, 1, 5, 5},
               {5, 15, -9, 6, 21, -3, 0, 13, 18, 5, 12, -5, -2, -5, 10, 6, 18, -5, 9, 5, -5, 7, 11, 7, -5});
}

TEST(InterpreterConv, PerAxisStrideAndDilation) {
  // kernel 2x3 of ones, stride [2, 1], dilation [1, 2]: out H (5-2)/2+1 = 2, W 5-5+1 = 1.
  // Rows {0,1} x cols {0,2,4}: 1+0+3 + 0+2+1 = 7; rows {2,3}: 2+1+2 + 1+0+1 = 7.
  Graph g = convModel(R"("filters": 1, "kernel": [2, 3], "stride": [2, 1], "dilation": [1, 2])");
  expectTensor(run1(g, convParams({1, 1, 2, 3}, {1, 1, 1, 1, 1, 1}), image()), {1, 1, 2, 1}, {7, 7});
}

namespace {
const std::vector<float> kTwoChannels = {1, 2, 0, 0, 1, 3, 2, 1, 0,   // channel 0
                                        0, 1, 1, 2, 0, 1, 1, 1, 2};  // channel 1
}

TEST(InterpreterConv, Groups) {
  // groups 2: filters 0, 1 see channel 0; filters 2, 3 see channel 1.
  Graph g = convModel(R"("filters": 4, "kernel": 2, "groups": 2)", "[2, 3, 3]");
  TensorMap p = convParams({4, 1, 2, 2}, {1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, -1, 0, 2}, {0, 1, 0, -1});
  // Filter 0 at (0,0): 1 + 1 = 2; filter 1: 2 + 0 + bias 1 = 3; filter 2: 0+1+2+0 = 3; filter 3: 0-1+0+0-1 = -2.
  expectTensor(run1(g, p, tensor({1, 2, 3, 3}, kTwoChannels)), {1, 4, 2, 2},
               {2, 5, 1, 1, 3, 2, 4, 5, 3, 3, 4, 4, -2, 1, 3, 2});
}

TEST(InterpreterConv, DepthwiseAndFull) {
  Graph dw = convModel(R"("filters": 2, "kernel": 2, "groups": 2, "use_bias": false)", "[2, 3, 3]");
  TensorMap p;
  p["conv.weight"] = tensor({2, 1, 2, 2}, {1, 0, 0, 1, 1, 1, 1, 1});
  expectTensor(run1(dw, p, tensor({1, 2, 3, 3}, kTwoChannels)), {1, 2, 2, 2}, {2, 5, 1, 1, 3, 3, 4, 4});
  // groups 1 with the same taps: the channels are summed.
  Graph full = convModel(R"("filters": 1, "kernel": 2)", "[2, 3, 3]");
  TensorMap q = convParams({1, 2, 2, 2}, {1, 0, 0, 1, 1, 1, 1, 1}, {0.5f});
  expectTensor(run1(full, q, tensor({1, 2, 3, 3}, kTwoChannels)), {1, 1, 2, 2}, {5.5, 8.5, 5.5, 5.5});
}

TEST(InterpreterConv, BiasAndFusedActivation) {
  // Edge detection with bias -1 and a fused relu: max(0, edge - 1).
  const std::vector<double> edge = {0, 8, 14, -10, -3, -12, 17, -10, 9};
  Graph g = convModel(R"("filters": 1, "kernel": 3, "activation": "relu")");
  std::vector<double> relu, leaky;
  for (double e : edge) {
    relu.push_back(std::max(0.0, e - 1));
    leaky.push_back(e - 1 > 0 ? e - 1 : 0.2 * (e - 1));
  }
  expectTensor(run1(g, convParams({1, 1, 3, 3}, kEdge, {-1}), image()), {1, 1, 3, 3}, relu);
  Graph l = convModel(R"("filters": 1, "kernel": 3, "activation": {"type": "leaky_relu", "alpha": 0.2})");
  expectTensor(run1(l, convParams({1, 1, 3, 3}, kEdge, {-1}), image()), {1, 1, 3, 3}, leaky);
  // The same network written with a separate layer.
  Graph s = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [1, 5, 5]}], "layers": [
      {"type": "conv2d", "name": "conv", "filters": 1, "kernel": 3},
      {"type": "leaky_relu", "alpha": 0.2}]})");
  expectTensor(run1(s, convParams({1, 1, 3, 3}, kEdge, {-1}), image()), {1, 1, 3, 3}, leaky);
}

TEST(InterpreterConv, BatchOfTwo) {
  Graph g = convModel(R"("filters": 1, "kernel": 3)");
  std::vector<float> two = kImage;
  for (float v : kImage) two.push_back(-v);
  expectTensor(run1(g, convParams({1, 1, 3, 3}, kEdge), tensor({2, 1, 5, 5}, two)), {2, 1, 3, 3},
               {0, 8, 14, -10, -3, -12, 17, -10, 9, 0, -8, -14, 10, 3, 12, -17, 10, -9});
}

// ---------------------------------------------------------------------------
// conv2d_transpose: weight [C_in, filters/groups, kh, kw].

namespace {
Graph convTModel(const std::string &attrs, const std::string &inShape = "[1, 2, 2]") {
  return buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": )" + inShape +
                    R"(}], "layers": [{"type": "conv2d_transpose", "name": "conv", )" + attrs + "}]}");
}
const std::vector<float> kSmall = {1, 2, 3, 4};
}  // namespace

TEST(InterpreterConvTranspose, Upsample2x2Stride2) {
  // Each input pixel v writes v * [[1, 2], [3, 4]] into its own 2x2 block.
  Graph g = convTModel(R"("filters": 1, "kernel": 2, "stride": 2)");
  expectTensor(run1(g, convParams({1, 1, 2, 2}, {1, 2, 3, 4}), tensor({1, 1, 2, 2}, kSmall)), {1, 1, 4, 4},
               {1, 2, 2, 4,  //
                3, 4, 6, 8,  //
                3, 6, 4, 8,  //
                9, 12, 12, 16});
}

TEST(InterpreterConvTranspose, OutputPadding) {
  // output_padding 1 adds a last row and column that no tap reaches: bias only.
  Graph g = convTModel(R"("filters": 1, "kernel": 2, "stride": 2, "output_padding": 1)");
  expectTensor(run1(g, convParams({1, 1, 2, 2}, {1, 2, 3, 4}, {0.5f}), tensor({1, 1, 2, 2}, kSmall)), {1, 1, 5, 5},
               {1.5, 2.5, 2.5, 4.5, 0.5,    //
                3.5, 4.5, 6.5, 8.5, 0.5,    //
                3.5, 6.5, 4.5, 8.5, 0.5,    //
                9.5, 12.5, 12.5, 16.5, 0.5,  //
                0.5, 0.5, 0.5, 0.5, 0.5});
}

TEST(InterpreterConvTranspose, PaddingCropsAndOutputPaddingExtends) {
  // kernel 3, stride 2, padding 1: out (2-1)*2 - 2 + 2 + 1 = 3; the full 5x5
  // scatter is cropped by one on each side.
  const std::vector<float> k = {1, 0, -1, 2, 1, 0, 0, 1, 1};
  Graph g = convTModel(R"("filters": 1, "kernel": 3, "stride": 2, "padding": 1)");
  expectTensor(run1(g, convParams({1, 1, 3, 3}, k), tensor({1, 1, 2, 2}, kSmall)), {1, 1, 3, 3},
               {1, 4, 2, 1, 2, 2, 3, 8, 4});
  // With output_padding 1 the crop keeps one more row and column at the end.
  Graph p = convTModel(R"("filters": 1, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1)");
  expectTensor(run1(p, convParams({1, 1, 3, 3}, k), tensor({1, 1, 2, 2}, kSmall)), {1, 1, 4, 4},
               {1, 4, 2, 0, 1, 2, 2, -2, 3, 8, 4, 0, 3, 3, 4, 4});
}

TEST(InterpreterConvTranspose, Dilation) {
  // kernel 2 dilated by 2, stride 1: input (iy, ix) reaches (iy + 2ky, ix + 2kx).
  Graph g = convTModel(R"("filters": 1, "kernel": 2, "dilation": 2)");
  expectTensor(run1(g, convParams({1, 1, 2, 2}, {1, 2, 3, 4}), tensor({1, 1, 2, 2}, kSmall)), {1, 1, 4, 4},
               {1, 2, 2, 4, 3, 4, 6, 8, 3, 6, 4, 8, 9, 12, 12, 16});
}

TEST(InterpreterConvTranspose, ChannelsAndGroups) {
  const std::vector<float> x = {1, 2, 3, 4, -1, 0, 2, 1};
  // Two input channels into one filter: the channels' scatters add up.
  Graph g = convTModel(R"("filters": 1, "kernel": 2, "stride": 2)", "[2, 2, 2]");
  expectTensor(run1(g, convParams({2, 1, 2, 2}, {1, 0, 0, 1, 0, 2, 2, 0}, {0}), tensor({1, 2, 2, 2}, x)), {1, 1, 4, 4},
               {1, -2, 2, 0, -2, 1, 0, 2, 3, 4, 4, 2, 4, 3, 2, 4});
  // groups 2, filters 4: channel 0 feeds filters 0-1, channel 1 feeds filters 2-3.
  Graph gr = convTModel(R"("filters": 4, "kernel": 2, "groups": 2)", "[2, 2, 2]");
  TensorMap p = convParams({2, 2, 2, 2}, {1, 1, 0, 1, 2, 0, 0, 0, 0, 1, 1, 0, 1, -1, -1, 1}, {0, 0, 1, 0});
  expectTensor(run1(gr, p, tensor({1, 2, 2, 2}, x)), {1, 4, 3, 3},
               {1, 3, 2, 3, 8, 6, 0, 3, 4,   //
                2, 4, 0, 6, 8, 0, 0, 0, 0,   //
                1, 0, 1, 0, 3, 2, 3, 2, 1,   //
                -1, 1, 0, 3, -2, -1, -2, 1, 1});
}

TEST(InterpreterConvTranspose, FusedActivation) {
  Graph g = convTModel(R"("filters": 1, "kernel": 2, "stride": 2, "activation": "step")");
  expectTensor(run1(g, convParams({1, 1, 2, 2}, {1, -2, 3, -4}, {0}), tensor({1, 1, 2, 2}, kSmall)), {1, 1, 4, 4},
               {1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0});
}
