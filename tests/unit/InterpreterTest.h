// Helpers shared by the reference interpreter's unit tests
// (tests/unit/Interpreter*Test.cpp): build a shape-inferred graph from model
// JSON text, make tensors, run the interpreter and compare with hand-computed
// values.
#pragma once
#include "compiler/ir/ShapeInference.h"
#include "compiler/reference/Interpreter.h"
#include "frontend/ModelParser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace nncc {
namespace testing {

// Parses `json` and infers shapes; any diagnostic fails the test.
inline Graph buildModel(const std::string &json) {
  Diagnostics diags;
  std::optional<Graph> g = parseModelJson(json, "test.json", "", diags);
  if (g) inferShapes(*g, diags);
  std::ostringstream os;
  diags.print(os);
  EXPECT_FALSE(diags.hasErrors()) << os.str();
  EXPECT_TRUE(g.has_value());
  return g ? *g : Graph();
}

inline TensorF32 tensor(Shape shape, std::vector<float> data) { return TensorF32{std::move(shape), std::move(data)}; }

// Runs the interpreter and expects success; returns the outputs.
inline std::vector<TensorF32> run(const Graph &g, const TensorMap &params, const std::vector<TensorF32> &inputs) {
  std::vector<TensorF32> outputs;
  std::string error;
  EXPECT_TRUE(runReference(g, params, inputs, outputs, error)) << error;
  return outputs;
}

// Runs a single-input, single-output graph.
inline TensorF32 run1(const Graph &g, const TensorMap &params, const TensorF32 &input) {
  std::vector<TensorF32> out = run(g, params, {input});
  return out.empty() ? TensorF32{} : out[0];
}

// Runs the interpreter and expects failure; returns the error message.
inline std::string runError(const Graph &g, const TensorMap &params, const std::vector<TensorF32> &inputs) {
  std::vector<TensorF32> outputs;
  std::string error;
  EXPECT_FALSE(runReference(g, params, inputs, outputs, error));
  EXPECT_FALSE(error.empty());
  return error;
}

// Expects `actual` to have `shape` and every element within `tol` (absolute,
// plus relative to the expected magnitude) of `expected`.
inline void expectTensor(const TensorF32 &actual, const Shape &shape, const std::vector<double> &expected,
                         double tol = 1e-5) {
  ASSERT_EQ(actual.shape, shape);
  ASSERT_EQ(actual.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(actual.data[i], expected[i], tol * (1 + std::fabs(expected[i]))) << "at element " << i;
}

}  // namespace testing
}  // namespace nncc
