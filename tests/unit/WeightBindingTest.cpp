// Binding weights files to a graph's parameters: exact matches, every kind of
// mismatch reported with the tensor's name, and --partial-weights.
#include "compiler/weights/WeightBinding.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace nncc;

namespace {

Graph twoParams() {
  Graph g;
  Param w;
  w.name = "fc.weight";
  w.shape = {3, 2};
  w.fanIn = 2;
  w.fanOut = 3;
  Param b = w;
  b.name = "fc.bias";
  b.shape = {3};
  b.init.kind = InitKind::Zeros;
  g.params = {w, b};
  return g;
}

std::vector<std::string> lines(const Diagnostics &d) {
  std::vector<std::string> v;
  for (const auto &x : d.all()) v.push_back(x.str());
  return v;
}

}  // namespace

TEST(WeightBinding, ExactFileBinds) {
  Graph g = twoParams();
  TensorMap file{{"fc.weight", {{3, 2}, {1, 2, 3, 4, 5, 6}}}, {"fc.bias", {{3}, {7, 8, 9}}}};
  TensorMap out;
  Diagnostics d;
  ASSERT_TRUE(bindWeights(g, file, "w.st", false, out, d));
  EXPECT_EQ(out["fc.weight"].data, file["fc.weight"].data);
  EXPECT_EQ(out["fc.bias"].data, file["fc.bias"].data);
}

TEST(WeightBinding, EveryProblemNamed) {
  Graph g = twoParams();
  TensorMap file{{"fc.weight", {{2, 3}, {1, 2, 3, 4, 5, 6}}}, {"fc.extra", {{1}, {0}}}};
  TensorMap out;
  Diagnostics d;
  EXPECT_FALSE(bindWeights(g, file, "w.st", false, out, d));
  EXPECT_EQ(lines(d), (std::vector<std::string>{
                          "w.st: fc.weight: shape [2, 3] does not match the parameter's [3, 2]",
                          "w.st: fc.bias: missing: the model has a parameter of shape [3] with this name (use "
                          "--partial-weights to initialize missing ones)",
                          "w.st: fc.extra: the model has no parameter with this name"}));
}

TEST(WeightBinding, PartialInitializesTheMissing) {
  Graph g = twoParams();
  TensorMap file{{"fc.weight", {{3, 2}, {1, 2, 3, 4, 5, 6}}}};
  TensorMap out;
  Diagnostics d;
  ASSERT_TRUE(bindWeights(g, file, "w.st", true, out, d));
  EXPECT_EQ(out["fc.bias"].data, (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(out["fc.weight"].data, file["fc.weight"].data);
}

TEST(WeightBinding, NoFileInitializesEverything) {
  Graph g = twoParams();
  TensorMap out;
  Diagnostics d;
  ASSERT_TRUE(loadWeightsForGraph(g, "", false, out, d));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out["fc.weight"].data.size(), 6u);
  double limit = std::sqrt(6.0 / 5.0);  // glorot_uniform, fans 2 and 3
  for (float v : out["fc.weight"].data) EXPECT_LE(std::fabs(v), limit);
}
