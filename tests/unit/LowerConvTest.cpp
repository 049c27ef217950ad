// Differential tests of the lowering of convolutions and pools against the
// reference interpreter: stride, dilation, asymmetric padding, "same", groups,
// depthwise, rectangular kernels, fused activations, conv2d_transpose with
// output_padding, dilation and groups, max/avg pools with padding, ceil_mode
// and count_include_pad, global pools. Several layers share one input and one
// pipeline (one JIT compile), each run at batch 1 and 3.
#include "InterpreterTest.h"
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

// A model on an input x of shape `shape` whose layers all read x (unless they
// name their inputs) and are all outputs.
std::string model(const std::string &shape, const std::vector<std::pair<std::string, std::string>> &layers) {
  std::string json = R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": )" + shape + R"(}], "layers": [)";
  std::string outputs;
  for (size_t k = 0; k < layers.size(); ++k) {
    const std::string &attrs = layers[k].second;
    std::string inputs = attrs.find("\"inputs\"") == std::string::npos ? R"("inputs": ["x"], )" : "";
    json += (k ? ", " : "") + std::string(R"({"name": ")") + layers[k].first + "\", " + inputs + attrs + "}";
    outputs += (k ? ", \"" : "\"") + layers[k].first + "\"";
  }
  return json + "], \"outputs\": [" + outputs + "]}";
}

}  // namespace

TEST(LowerConv, StrideDilationPaddingKernels) {
  expectMatchesReference(model("[4, 9, 11]", {
      {"valid", R"("type": "conv2d", "filters": 5, "kernel": 3)"},
      {"stride2", R"("type": "conv2d", "filters": 3, "kernel": 3, "stride": 2)"},
      {"stride12", R"("type": "conv2d", "filters": 3, "kernel": 3, "stride": [1, 2])"},
      {"dilated", R"("type": "conv2d", "filters": 3, "kernel": 3, "dilation": [2, 3])"},
      {"asym", R"("type": "conv2d", "filters": 2, "kernel": 3, "padding": [1, 2, 0, 1])"},
      {"same", R"("type": "conv2d", "filters": 2, "kernel": 4, "padding": "same")"},
      {"same_s2", R"("type": "conv2d", "filters": 2, "kernel": 3, "stride": 2, "padding": "same")"},
      {"rect", R"("type": "conv2d", "filters": 17, "kernel": [2, 5], "padding": 1, "use_bias": false)"},
      {"one", R"("type": "conv2d", "filters": 16, "kernel": 1)"},
      {"all", R"("type": "conv2d", "filters": 4, "kernel": [3, 2], "stride": [2, 3], "dilation": 2, "padding": [2, 1, 3, 0])"}}));
}

TEST(LowerConv, GroupsDepthwiseAndFusedActivations) {
  expectMatchesReference(model("[4, 8, 10]", {
      {"groups2", R"("type": "conv2d", "filters": 6, "kernel": 3, "groups": 2, "padding": 1)"},
      {"depthwise", R"("type": "conv2d", "filters": 4, "kernel": 3, "groups": 4, "stride": 2, "padding": "same")"},
      {"depthwise_x2", R"("type": "conv2d", "filters": 8, "kernel": 3, "groups": 4, "dilation": 2)"},
      {"relu", R"("type": "conv2d", "filters": 3, "kernel": 3, "activation": "relu")"},
      {"leaky", R"("type": "conv2d", "filters": 3, "kernel": 3, "activation": {"type": "leaky_relu", "alpha": 0.1})"},
      {"elu", R"("type": "conv2d", "filters": 3, "kernel": 3, "activation": "elu")"},
      {"sig", R"("type": "conv2d", "filters": 3, "kernel": 3, "activation": "sigmoid")"},
      {"tanh", R"("type": "conv2d", "filters": 3, "kernel": 3, "activation": "tanh")"},
      {"sm_c", R"("type": "conv2d", "filters": 5, "kernel": 3, "activation": "softmax")"},
      {"lsm_w", R"("type": "conv2d", "filters": 5, "kernel": 3, "activation": {"type": "log_softmax", "axis": 2})"},
      {"chain", R"("type": "conv2d", "inputs": ["relu"], "filters": 2, "kernel": 2, "activation": "step")"}}));
}

TEST(LowerConvTranspose, StrideOutputPaddingDilationGroups) {
  expectMatchesReference(model("[4, 5, 7]", {
      {"plain", R"("type": "conv2d_transpose", "filters": 3, "kernel": 3)"},
      {"up2", R"("type": "conv2d_transpose", "filters": 3, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1)"},
      {"up23", R"("type": "conv2d_transpose", "filters": 2, "kernel": [4, 3], "stride": [2, 3], "output_padding": [1, 2])"},
      {"dilated", R"("type": "conv2d_transpose", "filters": 2, "kernel": 3, "dilation": 2, "output_padding": 1)"},
      {"asym", R"("type": "conv2d_transpose", "filters": 2, "kernel": 3, "stride": 2, "padding": [0, 1, 2, 1])"},
      {"groups", R"("type": "conv2d_transpose", "filters": 6, "kernel": 3, "stride": 2, "groups": 2, "use_bias": false)"},
      {"depthwise", R"("type": "conv2d_transpose", "filters": 4, "kernel": 2, "stride": 2, "groups": 4)"},
      {"relu", R"("type": "conv2d_transpose", "filters": 16, "kernel": 2, "stride": 2, "activation": "relu")"},
      {"sm", R"("type": "conv2d_transpose", "filters": 3, "kernel": 3, "activation": {"type": "softmax", "axis": 1})"}}));
}

TEST(LowerPool, MaxAndAvgWithPaddingCeilModeCountIncludePad) {
  expectMatchesReference(model("[3, 9, 10]", {
      {"max2", R"("type": "maxpool2d", "size": 2)"},
      {"max3s2p1", R"("type": "maxpool2d", "size": 3, "stride": 2, "padding": 1)"},
      {"max_ceil", R"("type": "maxpool2d", "size": 2, "ceil_mode": true)"},
      {"max_ceil_pad", R"("type": "maxpool2d", "size": 3, "stride": 2, "padding": [1, 0, 0, 1], "ceil_mode": true)"},
      {"max_rect", R"("type": "maxpool2d", "size": [2, 3], "stride": [1, 2])"},
      {"avg2", R"("type": "avgpool2d", "size": 2)"},
      {"avg_pad", R"("type": "avgpool2d", "size": 3, "stride": 2, "padding": 1)"},
      {"avg_pad_incl", R"("type": "avgpool2d", "size": 3, "stride": 2, "padding": 1, "count_include_pad": true)"},
      {"avg_ceil", R"("type": "avgpool2d", "size": 3, "stride": 2, "padding": 1, "ceil_mode": true)"},
      {"avg_ceil_incl", R"("type": "avgpool2d", "size": 3, "stride": 2, "padding": 1, "ceil_mode": true, "count_include_pad": true)"},
      {"avg_asym", R"("type": "avgpool2d", "size": [3, 2], "stride": 2, "padding": [2, 1, 0, 1], "ceil_mode": true, "count_include_pad": true)"},
      {"gap", R"("type": "global_avgpool2d")"},
      {"gmp", R"("type": "global_maxpool2d")"}}));
}

TEST(LowerPool, GlobalPoolsOnWideChannels) {
  expectMatchesReference(model("[37, 3, 5]", {
      {"gap", R"("type": "global_avgpool2d")"},
      {"gmp", R"("type": "global_maxpool2d")"},
      {"fc", R"("type": "dense", "inputs": ["gap"], "units": 4, "activation": "softmax")"}}));
}
