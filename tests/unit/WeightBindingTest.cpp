// Binding weights files to a graph's parameters: exact matches, every kind of
// mismatch reported in one run with the tensor's name, --partial-weights, and
// loading from a file on disk or from the seed alone.
#include "compiler/weights/Initializers.h"
#include "compiler/weights/Safetensors.h"
#include "compiler/weights/WeightBinding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

using namespace nncc;

namespace {

// A dense layer "fc" of 3 units on 2 features, as the frontend would describe it.
Graph twoParams() {
  Graph g;
  g.seed = 3;
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
  EXPECT_TRUE(d.all().empty());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out["fc.weight"].shape, (Shape{3, 2}));
  EXPECT_EQ(out["fc.weight"].data, file["fc.weight"].data);
  EXPECT_EQ(out["fc.bias"].data, file["fc.bias"].data);
}

TEST(WeightBinding, EveryProblemNamedInOneRun) {
  Graph g = twoParams();
  TensorMap file{{"fc.weight", {{2, 3}, {1, 2, 3, 4, 5, 6}}}, {"fc.extra", {{1}, {0}}}, {"head.weight", {{1}, {0}}}};
  TensorMap out;
  Diagnostics d;
  EXPECT_FALSE(bindWeights(g, file, "w.st", false, out, d));
  EXPECT_EQ(lines(d), (std::vector<std::string>{
                          "w.st: fc.weight: shape [2, 3] does not match the parameter's [3, 2]",
                          "w.st: fc.bias: missing: the model has a parameter of shape [3] with this name (use "
                          "--partial-weights to initialize missing ones)",
                          "w.st: fc.extra: the model has no parameter with this name",
                          "w.st: head.weight: the model has no parameter with this name"}));
}

TEST(WeightBinding, ConvShapeMismatchMessage) {
  Graph g;
  Param w;
  w.name = "conv1.weight";
  w.shape = {6, 1, 5, 5};
  g.params = {w};
  TensorMap file{{"conv1.weight", {{6, 1, 3, 3}, std::vector<float>(54)}}};
  TensorMap out;
  Diagnostics d;
  EXPECT_FALSE(bindWeights(g, file, "w.safetensors", false, out, d));
  EXPECT_EQ(lines(d), (std::vector<std::string>{
                          "w.safetensors: conv1.weight: shape [6, 1, 3, 3] does not match the parameter's [6, 1, 5, 5]"}));
  // A 0-d tensor for a 1-element parameter is a different shape too.
  g.params[0].shape = {1};
  file = {{"conv1.weight", {{}, {1}}}};
  Diagnostics d2;
  EXPECT_FALSE(bindWeights(g, file, "w.safetensors", false, out, d2));
  EXPECT_EQ(lines(d2).at(0), "w.safetensors: conv1.weight: shape [] does not match the parameter's [1]");
}

TEST(WeightBinding, InconsistentTensorRefused) {
  Graph g = twoParams();
  TensorMap file{{"fc.weight", {{3, 2}, {1, 2, 3, 4, 5}}}, {"fc.bias", {{3}, {7, 8, 9}}}};
  TensorMap out;
  Diagnostics d;
  EXPECT_FALSE(bindWeights(g, file, "w.st", false, out, d));
  EXPECT_EQ(lines(d), (std::vector<std::string>{
                          "w.st: fc.weight: the tensor holds 5 values, but its shape [3, 2] needs 6"}));
}

TEST(WeightBinding, PartialInitializesTheMissing) {
  Graph g = twoParams();
  g.params[1].init.kind = InitKind::Ones;
  TensorMap file{{"fc.weight", {{3, 2}, {1, 2, 3, 4, 5, 6}}}};
  TensorMap out;
  Diagnostics d;
  ASSERT_TRUE(bindWeights(g, file, "w.st", true, out, d));
  EXPECT_TRUE(d.all().empty());
  EXPECT_EQ(out["fc.bias"].shape, (Shape{3}));
  EXPECT_EQ(out["fc.bias"].data, (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(out["fc.weight"].data, file["fc.weight"].data);
  // The initialized values are those of the seed, as without a file.
  TensorMap file2{{"fc.bias", {{3}, {7, 8, 9}}}};
  TensorMap out2;
  ASSERT_TRUE(bindWeights(g, file2, "w.st", true, out2, d));
  EXPECT_EQ(out2["fc.weight"].data, initializeParam(g.params[0], g.seed));
  EXPECT_EQ(out2["fc.bias"].data, (std::vector<float>{7, 8, 9}));
}

TEST(WeightBinding, PartialStillRefusesExtraAndWrongShapes) {
  Graph g = twoParams();
  TensorMap file{{"fc.bias", {{4}, {1, 2, 3, 4}}}, {"old.weight", {{1}, {0}}}};
  TensorMap out;
  Diagnostics d;
  EXPECT_FALSE(bindWeights(g, file, "w.st", true, out, d));
  EXPECT_EQ(lines(d), (std::vector<std::string>{"w.st: fc.bias: shape [4] does not match the parameter's [3]",
                                                "w.st: old.weight: the model has no parameter with this name"}));
}

TEST(WeightBinding, NoFileInitializesEverything) {
  Graph g = twoParams();
  TensorMap out;
  Diagnostics d;
  ASSERT_TRUE(loadWeightsForGraph(g, "", false, out, d));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out["fc.weight"].shape, (Shape{3, 2}));
  EXPECT_EQ(out["fc.weight"].data, initializeParam(g.params[0], g.seed));
  double limit = std::sqrt(6.0 / 5.0);  // glorot_uniform, fans 2 and 3
  for (float v : out["fc.weight"].data) EXPECT_LE(std::fabs(v), limit);
  EXPECT_EQ(out["fc.bias"].data, (std::vector<float>{0, 0, 0}));
}

TEST(WeightBinding, LoadsAFileFromDisk) {
  Graph g = twoParams();
  std::string path = ::testing::TempDir() + "/bind.safetensors";
  std::string err;
  ASSERT_TRUE(writeSafetensors(path, {{"fc.weight", {{3, 2}, {1, 2, 3, 4, 5, 6}}}, {"fc.bias", {{3}, {7, 8, 9}}}},
                               err))
      << err;
  TensorMap out;
  Diagnostics d;
  ASSERT_TRUE(loadWeightsForGraph(g, path, false, out, d));
  EXPECT_EQ(out["fc.bias"].data, (std::vector<float>{7, 8, 9}));

  // A file lacking a parameter: an error naming the file and the tensor, or initialized with partial.
  ASSERT_TRUE(writeSafetensors(path, {{"fc.weight", {{3, 2}, {1, 2, 3, 4, 5, 6}}}}, err)) << err;
  Diagnostics d2;
  TensorMap out2;
  EXPECT_FALSE(loadWeightsForGraph(g, path, false, out2, d2));
  ASSERT_EQ(d2.all().size(), 1u);
  EXPECT_EQ(d2.all()[0].str().rfind(path + ": fc.bias: missing: ", 0), 0u) << d2.all()[0].str();
  Diagnostics d3;
  TensorMap out3;
  EXPECT_TRUE(loadWeightsForGraph(g, path, true, out3, d3));
  EXPECT_EQ(out3.size(), 2u);
  std::remove(path.c_str());
}

TEST(WeightBinding, UnreadableFileIsReported) {
  Graph g = twoParams();
  TensorMap out;
  Diagnostics d;
  EXPECT_FALSE(loadWeightsForGraph(g, "/nonexistent/w.safetensors", true, out, d));
  EXPECT_EQ(lines(d), (std::vector<std::string>{
                          "/nonexistent/w.safetensors: cannot open the weights file: No such file or directory"}));
  EXPECT_TRUE(out.empty());
}
