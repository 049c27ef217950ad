// Unit tests of the reference interpreter's argument checks: wrong input
// count, shape or batch, missing or misshapen parameters and graphs whose
// shapes were never inferred are reported as errors, never crashes.
#include "InterpreterTest.h"

using namespace nncc;
using namespace nncc::testing;

namespace {

Graph denseModel() {
  return buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [3]}],
                        "layers": [{"type": "dense", "name": "d", "units": 2}]})");
}

TensorMap denseParams() {
  TensorMap p;
  p["d.weight"] = tensor({2, 3}, {1, 2, 3, 4, 5, 6});
  p["d.bias"] = tensor({2}, {0, 0});
  return p;
}

bool contains(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(InterpreterValidation, InputCount) {
  Graph g = denseModel();
  EXPECT_TRUE(contains(runError(g, denseParams(), {}), "1 input(s), 0 were given"));
  TensorF32 x = tensor({1, 3}, {1, 2, 3});
  EXPECT_TRUE(contains(runError(g, denseParams(), {x, x}), "2 were given"));
}

TEST(InterpreterValidation, InputShape) {
  Graph g = denseModel();
  std::string e = runError(g, denseParams(), {tensor({1, 4}, {1, 2, 3, 4})});
  EXPECT_TRUE(contains(e, "input 'x' has shape [1, 4], expected [N, 3]")) << e;
  EXPECT_TRUE(contains(runError(g, denseParams(), {tensor({3}, {1, 2, 3})}), "expected [N, 3]"));
  EXPECT_TRUE(contains(runError(g, denseParams(), {tensor({0, 3}, {})}), "expected [N, 3]"));
  // Data that does not match the declared shape.
  EXPECT_TRUE(contains(runError(g, denseParams(), {tensor({2, 3}, {1, 2, 3})}), "holds 3 values"));
}

TEST(InterpreterValidation, BatchMismatch) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "a", "shape": [2]},
      {"name": "b", "shape": [2]}], "layers": [{"type": "add", "inputs": ["a", "b"]}]})");
  std::string e = runError(g, {}, {tensor({1, 2}, {1, 2}), tensor({2, 2}, {1, 2, 3, 4})});
  EXPECT_TRUE(contains(e, "batch 2")) << e;
}

TEST(InterpreterValidation, Parameters) {
  Graph g = denseModel();
  TensorF32 x = tensor({1, 3}, {1, 2, 3});
  TensorMap p = denseParams();
  p.erase("d.bias");
  EXPECT_TRUE(contains(runError(g, p, {x}), "parameter 'd.bias' is missing"));
  p = denseParams();
  p["d.weight"] = tensor({3, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(contains(runError(g, p, {x}), "parameter 'd.weight' has shape [3, 2]"));
  p = denseParams();
  p["d.weight"].data.pop_back();
  EXPECT_TRUE(contains(runError(g, p, {x}), "'d.weight'"));
}

TEST(InterpreterValidation, ShapesNotInferred) {
  Diagnostics diags;
  std::optional<Graph> g = parseModelJson(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [3]}],
      "layers": [{"type": "relu"}]})", "test.json", "", diags);
  ASSERT_TRUE(g.has_value());
  std::string e = runError(*g, {}, {tensor({1, 3}, {1, 2, 3})});
  EXPECT_TRUE(contains(e, "not valid")) << e;
}

TEST(InterpreterValidation, SucceedsAfterErrorsAndClearsOutputs) {
  Graph g = denseModel();
  std::vector<TensorF32> outputs = {tensor({1}, {7})};
  std::string error;
  EXPECT_FALSE(runReference(g, denseParams(), {}, outputs, error));
  EXPECT_TRUE(outputs.empty());
  EXPECT_TRUE(runReference(g, denseParams(), {tensor({1, 3}, {1, 0, -1})}, outputs, error)) << error;
  expectTensor(outputs.at(0), {1, 2}, {-2, -2});
}
