// Lowering of pipelines with several outputs, one read by another (segnet's
// logits -> probs) and one with an update stage beside others: the JIT result
// against the reference interpreter.
#include "tests/unit/InterpreterTest.h"

#include <gtest/gtest.h>

namespace nncc {
namespace testing {
void expectMatchesReference(const std::string &json, std::vector<int64_t> batches);
}  // namespace testing
}  // namespace nncc

TEST(LowerMultiOutput, OutputReadByAnotherOutput) {
  nncc::testing::expectMatchesReference(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [2, 8, 8]}],
    "layers": [
      {"type": "conv2d", "name": "c1", "filters": 4, "kernel": 3, "padding": 1},
      {"type": "conv2d", "name": "logits", "filters": 2, "kernel": 1},
      {"type": "softmax", "name": "probs"}],
    "outputs": ["logits", "probs"]})",
                                        {1, 3});
}

TEST(LowerMultiOutput, ConvolutionsSideBySide) {
  nncc::testing::expectMatchesReference(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [4, 9, 10]}],
    "layers": [
      {"type": "conv2d", "name": "c1", "filters": 6, "kernel": 3, "stride": 2},
      {"type": "conv2d_transpose", "name": "t2", "inputs": ["x"], "filters": 4, "kernel": [2, 3], "stride": [2, 3],
       "groups": 2, "output_padding": [1, 2], "use_bias": false}],
    "outputs": ["c1", "t2"]})",
                                        {1, 3});
}
