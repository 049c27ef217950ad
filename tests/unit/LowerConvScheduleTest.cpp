// Differential tests of the fast conv2d and dense schedules (docs/schedules.md)
// against the reference interpreter, one test per schedule variant and the
// shapes that reach each of its code paths: the channels-innermost register
// tile (column tails, narrow rows, 1x1, stride, dilation, padding, channel
// blocks of 1-3 vectors, the softmax epilogue, input channels in chunks), the direct NCHW tile (first
// layers, channels that are not whole vectors, groups, depthwise, rows
// narrower than a vector), and the dense dot-product tile (feature
// remainders, unit tails, fewer features than a vector). Each model runs at
// batch 1, an odd batch and its max_batch.
#include "InterpreterTest.h"
#include "compiler/lower/ConvKernel.h"
#include "compiler/lower/Lowering.h"

namespace nncc {
namespace testing {
// LowerTest.cpp: lower, JIT-run and compare every output with the reference
// interpreter (1e-4 relative + 1e-5 absolute), for each batch size.
void expectMatchesReference(const std::string &json, std::vector<int64_t> batches = {1, 3});
}  // namespace testing
}  // namespace nncc

using namespace nncc::testing;

namespace {

const std::vector<int64_t> kBatches{1, 3, 6};

// A model on an input x of shape `shape`, max_batch 6, whose layers all read x
// (unless they name their inputs) and are all outputs.
std::string model(const std::string &shape, const std::vector<std::pair<std::string, std::string>> &layers) {
  std::string json = R"({"nncc": 1, "name": "m", "max_batch": 6, "inputs": [{"name": "x", "shape": )" + shape +
                     R"(}], "layers": [)";
  std::string outputs;
  for (size_t k = 0; k < layers.size(); ++k) {
    const std::string &attrs = layers[k].second;
    std::string inputs = attrs.find("\"inputs\"") == std::string::npos ? R"("inputs": ["x"], )" : "";
    json += (k ? ", " : "") + std::string(R"({"name": ")") + layers[k].first + "\", " + inputs + attrs + "}";
    outputs += (k ? ", \"" : "\"") + layers[k].first + "\"";
  }
  return json + "], \"outputs\": [" + outputs + "]}";
}

// Forces tile sizes for one test (the schedules' own choice otherwise).
struct Overrides {
  explicit Overrides(nncc::lower::ScheduleOverrides o) { nncc::lower::scheduleOverrides() = o; }
  ~Overrides() { nncc::lower::scheduleOverrides() = nncc::lower::ScheduleOverrides(); }
};

}  // namespace

TEST(LowerConvSchedule, ChannelsInnermostShapes) {
  // 16 channels in: every conv here has cin*kh*kw >= 64 and whole vectors
  // of output channels.
  expectMatchesReference(model("[16, 13, 11]", {
      {"c32", R"("type": "conv2d", "filters": 32, "kernel": 3, "padding": 1, "activation": "relu")"},
      {"c48_valid", R"("type": "conv2d", "filters": 48, "kernel": 3)"},
      {"c16_s2", R"("type": "conv2d", "filters": 16, "kernel": 3, "stride": 2, "padding": 1, "use_bias": false)"},
      {"c64_dil", R"("type": "conv2d", "filters": 64, "kernel": 3, "dilation": [2, 3], "padding": [2, 3, 1, 0])"},
      {"c32_rect", R"("type": "conv2d", "filters": 32, "kernel": [2, 5], "stride": [1, 2], "padding": 1)"},
      {"c16_1x1", R"("type": "conv2d", "inputs": ["c32"], "filters": 16, "kernel": 1, "activation": "sigmoid")"},
      {"c32_1col", R"("type": "conv2d", "filters": 32, "kernel": [3, 11])"},
      {"c32_sm", R"("type": "conv2d", "filters": 32, "kernel": 3, "activation": "softmax")"},
      {"c16_lsm", R"("type": "conv2d", "filters": 16, "kernel": 3, "stride": 3, "activation": {"type": "log_softmax", "axis": 2})"}}),
      kBatches);
}

TEST(LowerConvSchedule, ChannelsInnermostSmallSpatial) {
  expectMatchesReference(model("[32, 4, 4]", {
      {"s4", R"("type": "conv2d", "filters": 64, "kernel": 3, "padding": "same", "activation": "relu")"},
      {"s2", R"("type": "conv2d", "filters": 32, "kernel": 3, "stride": 2, "padding": 1)"},
      {"s1", R"("type": "conv2d", "filters": 16, "kernel": 4, "activation": "elu")"},
      {"s4b", R"("type": "conv2d", "inputs": ["s4"], "filters": 32, "kernel": 3, "padding": 1)"}}),
      kBatches);
  expectMatchesReference(model("[24, 8, 8]", {
      {"s8", R"("type": "conv2d", "filters": 48, "kernel": 3, "padding": 1, "activation": "tanh")"},
      {"s8_s2", R"("type": "conv2d", "filters": 32, "kernel": 3, "stride": 2, "padding": 1)"}}),
      kBatches);
}

// Few output pixels and at least 64 input channels: the reduction in chunks
// of 16 input channels (ConvWeightPacking::chunk), the chunks the outer loop
// of each block of channels, summed in `total`; with stride, dilation,
// padding, 1x1, a row narrower than the tile and two blocks of channels.
TEST(LowerConvSchedule, ChannelsInnermostInputChannelChunks) {
  expectMatchesReference(model("[64, 4, 5]", {
      {"k3", R"("type": "conv2d", "filters": 32, "kernel": 3, "padding": 1, "activation": "relu")"},
      {"k3_s2", R"("type": "conv2d", "filters": 64, "kernel": 3, "stride": 2, "padding": [1, 0, 1, 1])"},
      {"k1", R"("type": "conv2d", "filters": 16, "kernel": 1, "use_bias": false)"},
      {"dil", R"("type": "conv2d", "filters": 32, "kernel": 2, "dilation": 2, "padding": 1, "activation": "tanh")"},
      {"wide", R"("type": "conv2d", "inputs": ["k3"], "filters": 64, "kernel": 3, "padding": 1)"}}),
      kBatches);
  expectMatchesReference(model("[128, 3, 3]", {
      {"c3", R"("type": "conv2d", "filters": 128, "kernel": 3, "padding": 1, "activation": "relu")"}}),
      kBatches);
}

// The tasks of (sample, channel block) take a sample's blocks one after the
// other when the weights fit in half of a 2 MB L2 (convSamplesOuter), else
// a block's samples: both orders against the interpreter at several
// batches.
TEST(LowerConvSchedule, ChannelsInnermostTaskOrders) {
  using nncc::lower::convSamplesOuter;
  EXPECT_TRUE(convSamplesOuter(4 * 64 * 9 * 64));      // VGG's conv1_2, 147 KB
  EXPECT_TRUE(convSamplesOuter(4 * 128 * 9 * 128));    // ResNet-18's layer 2, 0.6 MB
  EXPECT_FALSE(convSamplesOuter(4 * 128 * 9 * 256));   // VGG's conv3_1, 1.2 MB
  EXPECT_FALSE(convSamplesOuter(4 * 256 * 9 * 256));   // ResNet-18's layer 3, 2.4 MB
  EXPECT_FALSE(convSamplesOuter(4 * 512 * 9 * 512));   // ResNet-18's layer 4, 9.4 MB
  expectMatchesReference(model("[256, 5, 4]", {
      {"wide", R"("type": "conv2d", "filters": 160, "kernel": 3, "padding": 1, "activation": "relu")"},
      {"narrow", R"("type": "conv2d", "inputs": ["wide"], "filters": 64, "kernel": 3, "padding": 1)"}}),
      kBatches);
}

TEST(LowerConvSchedule, ChannelsInnermostForcedTiles) {
  // Tiles that leave column tails (shifted inwards) and single vectors.
  for (auto tile : {std::pair<int, int>{1, 3}, {2, 5}, {4, 6}, {1, 12}}) {
    nncc::lower::ScheduleOverrides o;
    o.convVectors = tile.first, o.convCols = tile.second;
    Overrides guard(o);
    SCOPED_TRACE("tile " + std::to_string(tile.first) + "x" + std::to_string(tile.second));
    expectMatchesReference(model("[8, 9, 14]", {
        {"a", R"("type": "conv2d", "filters": 64, "kernel": 3, "padding": 1, "activation": "relu")"},
        {"b", R"("type": "conv2d", "filters": 16, "kernel": 3, "stride": 2, "dilation": 2, "padding": 2)"}}),
        {1, 3});
  }
}

TEST(LowerConvSchedule, DirectShapes) {
  expectMatchesReference(model("[3, 12, 29]", {
      {"first", R"("type": "conv2d", "filters": 64, "kernel": 3, "padding": 1, "activation": "relu")"},
      {"first_s2", R"("type": "conv2d", "filters": 16, "kernel": 7, "stride": 2, "padding": 3)"},
      {"odd6", R"("type": "conv2d", "filters": 6, "kernel": 5, "padding": 2)"},
      {"odd20", R"("type": "conv2d", "filters": 20, "kernel": 3, "dilation": 2, "use_bias": false)"},
      {"sm", R"("type": "conv2d", "filters": 5, "kernel": 3, "activation": {"type": "softmax", "axis": 0})"}}),
      kBatches);
  // Rows narrower than a vector (8, 4) and than 4 columns (3, 1).
  expectMatchesReference(model("[16, 5, 10]", {
      {"w8", R"("type": "conv2d", "filters": 24, "kernel": 3)"},
      {"w4", R"("type": "conv2d", "filters": 6, "kernel": 3, "stride": 2, "padding": 1)"},
      {"w3", R"("type": "conv2d", "filters": 7, "kernel": [3, 4], "stride": 3)"},
      {"w1", R"("type": "conv2d", "filters": 12, "kernel": [5, 10], "activation": "leaky_relu")"}}),
      kBatches);
}

TEST(LowerConvSchedule, DirectGroupsAndDepthwise) {
  expectMatchesReference(model("[32, 10, 18]", {
      {"g2", R"("type": "conv2d", "filters": 32, "kernel": 3, "groups": 2, "padding": 1, "activation": "relu")"},
      {"g4", R"("type": "conv2d", "filters": 64, "kernel": 3, "groups": 4, "stride": 2)"},
      {"dw", R"("type": "conv2d", "filters": 32, "kernel": 3, "groups": 32, "padding": 1)"},
      {"dw_s2", R"("type": "conv2d", "filters": 32, "kernel": 3, "groups": 32, "stride": 2, "padding": "same")"},
      {"dw_x2", R"("type": "conv2d", "filters": 64, "kernel": 3, "groups": 32, "dilation": 2, "activation": "relu")"},
      {"dw_small", R"("type": "conv2d", "inputs": ["dw_s2"], "filters": 32, "kernel": 3, "groups": 32)"}}),
      kBatches);
}

TEST(LowerConvSchedule, ForcedDirectMatchesToo) {
  nncc::lower::ScheduleOverrides o;
  o.forceDirect = true;
  Overrides guard(o);
  expectMatchesReference(model("[16, 9, 20]", {
      {"a", R"("type": "conv2d", "filters": 32, "kernel": 3, "padding": 1, "activation": "relu")"},
      {"b", R"("type": "conv2d", "filters": 17, "kernel": 3, "stride": 2)"}}),
      {1, 3});
}

TEST(LowerDenseSchedule, FeatureRemaindersUnitTailsBatches) {
  expectMatchesReference(model("[100]", {
      {"u256", R"("type": "dense", "units": 256, "activation": "relu")"},
      {"u10", R"("type": "dense", "units": 10)"},
      {"u13", R"("type": "dense", "units": 13, "use_bias": false, "activation": "sigmoid")"},
      {"u3", R"("type": "dense", "units": 3, "activation": "softmax")"},
      {"u1", R"("type": "dense", "units": 1)"},
      {"chain", R"("type": "dense", "inputs": ["u256"], "units": 20, "activation": "tanh")"}}),
      kBatches);
  // Exactly whole vectors of features, and fewer features than a vector.
  expectMatchesReference(model("[64]", {{"w", R"("type": "dense", "units": 37)"}}), kBatches);
  expectMatchesReference(model("[7]", {{"s", R"("type": "dense", "units": 9, "activation": "relu")"}}), kBatches);
  nncc::lower::ScheduleOverrides o;
  o.denseUnits = 3;
  Overrides guard(o);
  expectMatchesReference(model("[40]", {{"t", R"("type": "dense", "units": 11)"}}), {1, 3});
}

// The Winograd kernel's applicability and register tile (ConvWinograd.cpp,
// docs/schedules.md "Winograd"), by hand from the rules there.
TEST(LowerConvSchedule, WinogradApplicabilityAndTile) {
  using nncc::lower::ConvGeom;
  using nncc::lower::winogradApplies;
  ConvGeom c;
  c.kh = c.kw = 3, c.pt = c.pl = 1, c.cin = c.cout = 64, c.cinPerGroup = c.coutPerGroup = 64;
  const nncc::Shape out{64, 56, 56};
  EXPECT_TRUE(winogradApplies(c, out, 16, true, 1, true));
  EXPECT_FALSE(winogradApplies(c, out, 16, false, 1, true));       // a planar input: no in-place read
  EXPECT_FALSE(winogradApplies(c, out, 16, true, 0, true));        // no zero border
  EXPECT_FALSE(winogradApplies(c, out, 16, true, 1, false));       // a planar result
  EXPECT_FALSE(winogradApplies(c, {64, 7, 7}, 16, true, 1, true));  // odd sizes (ResNet's layer 4)
  EXPECT_FALSE(winogradApplies(c, {64, 2, 2}, 16, true, 1, true));  // below 4 x 4
  EXPECT_TRUE(winogradApplies(c, {64, 4, 6}, 16, true, 1, true));
  ConvGeom s = c;
  s.sh = s.sw = 2;
  EXPECT_FALSE(winogradApplies(s, {64, 28, 28}, 16, true, 1, true));
  ConvGeom narrow = c;
  narrow.cin = narrow.cinPerGroup = 24;  // not whole vectors
  EXPECT_FALSE(winogradApplies(narrow, out, 16, true, 1, true));
  ConvGeom k5 = c;
  k5.kh = k5.kw = 5, k5.pt = k5.pl = 2;
  EXPECT_FALSE(winogradApplies(k5, out, 16, true, 2, true));

  auto tile = [](int lanes, int registers, int cout, int tiles) {
    nncc::lower::MachineShape m;
    m.lanes = lanes, m.registers = registers;
    nncc::lower::WinogradTile t = nncc::lower::chooseWinogradTile(m, cout, tiles);
    return std::make_pair(t.vectors, t.cols);
  };
  EXPECT_EQ(tile(16, 32, 64, 28), std::make_pair(4, 4));   // ResNet layer 1: 16 accumulators
  EXPECT_EQ(tile(16, 32, 128, 14), std::make_pair(2, 7));  // layer 2: 7 divides the row, 4 x 7 > 16
  EXPECT_EQ(tile(16, 32, 256, 7), std::make_pair(2, 7));   // layer 3
  EXPECT_EQ(tile(16, 32, 48, 6), std::make_pair(3, 3));    // 3 vectors x 3 tiles beats 1 x 6
  EXPECT_EQ(tile(8, 16, 64, 28), std::make_pair(4, 2));    // AVX2: at most 8 accumulators, ties to vectors
}
