// Differential tests of the lowering (compiler/lower/) against the reference
// interpreter: activations (each softmax axis), dense (fused activations),
// batchnorm, preprocess, flatten, reshape, add, concat, dropout, and the
// example models end to end. Each model is lowered once, JIT-compiled once
// and run at batch 1 and 3; convolutions and pools are in LowerConvTest.cpp.
#include "InterpreterTest.h"
#include "compiler/lower/Lowering.h"
#include "compiler/weights/Initializers.h"

#include <fstream>
#include <random>

using namespace nncc;
using namespace nncc::testing;

namespace nncc {
namespace testing {
// Builds the model from JSON text, then as below (defined after the helpers).
void expectMatchesReference(const std::string &json, std::vector<int64_t> batches = {1, 3});
}  // namespace testing
}  // namespace nncc

namespace {

// Initial weights by the model's initializers, then random biases and
// batchnorm statistics (the initializers make them 0 and 1).
TensorMap randomParams(const Graph &g, std::mt19937 &rng) {
  TensorMap params = initializeAll(g);
  std::uniform_real_distribution<float> small(-0.5f, 0.5f), var(0.5f, 1.5f);
  for (const Param &p : g.params) {
    TensorF32 &t = params[p.name];
    if (p.role == ParamRole::Weight) continue;
    for (float &v : t.data) v = p.role == ParamRole::RunningVar ? var(rng) : p.role == ParamRole::BNWeight ? 1 + small(rng) : small(rng);
  }
  return params;
}

std::vector<TensorF32> randomInputs(const Graph &g, int64_t batch, std::mt19937 &rng) {
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  std::vector<TensorF32> inputs;
  for (int id : g.inputs) {
    TensorF32 t;
    t.shape = g.value(id).shape;
    t.shape.insert(t.shape.begin(), batch);
    t.data.resize(static_cast<size_t>(numElements(t.shape)));
    for (float &v : t.data) v = u(rng);
    inputs.push_back(std::move(t));
  }
  return inputs;
}

// Lowers `g`, runs it with Halide's JIT and the reference interpreter on the
// same random inputs for each batch size, and compares every output element
// within 1e-4 relative + 1e-5 absolute.
void expectMatchesReference(const Graph &g, std::vector<int64_t> batches, unsigned seed = 1) {
  std::mt19937 rng(seed);
  TensorMap params = randomParams(g, rng);
  LowerOptions opts;
  opts.target = Halide::get_jit_target_from_environment();
  LoweredModel m;
  try {
    m = lowerGraph(g, opts);
  } catch (const std::exception &e) {
    FAIL() << "lowering failed: " << e.what();
  }
  for (int64_t batch : batches) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    std::vector<TensorF32> inputs = randomInputs(g, batch, rng), expected, actual;
    std::string error;
    ASSERT_TRUE(runReference(g, params, inputs, expected, error)) << error;
    ASSERT_TRUE(runLowered(g, m, params, inputs, actual, error)) << error;
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t k = 0; k < expected.size(); ++k) {
      const std::string &name = g.value(g.outputs[k]).name;
      ASSERT_EQ(actual[k].shape, expected[k].shape) << name;
      int bad = 0;
      for (size_t i = 0; i < expected[k].data.size() && bad < 5; ++i) {
        double e = expected[k].data[i], a = actual[k].data[i];
        if (!(std::fabs(a - e) <= 1e-5 + 1e-4 * std::fabs(e))) {
          ++bad;
          ADD_FAILURE() << "output '" << name << "' element " << i << ": lowered " << a << ", reference " << e;
        }
      }
    }
  }
}

}  // namespace

namespace nncc {
namespace testing {

// Also used by LowerConvTest.cpp (declared there).
void expectMatchesReference(const std::string &json, std::vector<int64_t> batches) {
  Graph g = buildModel(json);
  if (::testing::Test::HasFailure()) return;
  ::expectMatchesReference(g, std::move(batches));
}

}  // namespace testing
}  // namespace nncc

TEST(LowerActivation, ElementwiseAndSoftmaxOnImages) {
  expectMatchesReference(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [3, 5, 19]}], "layers": [
      {"type": "relu", "name": "relu", "inputs": ["x"]},
      {"type": "sigmoid", "name": "sigmoid", "inputs": ["x"]},
      {"type": "tanh", "name": "tanh", "inputs": ["x"]},
      {"type": "step", "name": "step", "inputs": ["x"]},
      {"type": "leaky_relu", "name": "leaky", "inputs": ["x"], "alpha": 0.2},
      {"type": "elu", "name": "elu", "inputs": ["x"], "alpha": 0.7},
      {"type": "softmax", "name": "sm0", "inputs": ["x"], "axis": 0},
      {"type": "softmax", "name": "sm1", "inputs": ["x"], "axis": 1},
      {"type": "softmax", "name": "sm2", "inputs": ["x"], "axis": 2},
      {"type": "log_softmax", "name": "lsm0", "inputs": ["x"], "axis": 0},
      {"type": "log_softmax", "name": "lsm1", "inputs": ["x"], "axis": 1},
      {"type": "log_softmax", "name": "lsm2", "inputs": ["x"], "axis": 2}],
      "outputs": ["relu", "sigmoid", "tanh", "step", "leaky", "elu", "sm0", "sm1", "sm2", "lsm0", "lsm1", "lsm2"]})",
                         {1, 3});
}

TEST(LowerActivation, VectorsAndLargeLogits) {
  // A dense with large weights makes logits of a few hundred: the softmax
  // must subtract the maximum first.
  expectMatchesReference(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [37]}], "layers": [
      {"type": "dense", "name": "big", "units": 10, "init": {"weights": {"type": "uniform", "low": -30, "high": 30}}},
      {"type": "softmax", "name": "sm", "inputs": ["big"]},
      {"type": "log_softmax", "name": "lsm", "inputs": ["big"]},
      {"type": "elu", "name": "elu", "inputs": ["x"]},
      {"type": "step", "name": "step", "inputs": ["x"]},
      {"type": "softmax", "name": "sx", "inputs": ["x"]}],
      "outputs": ["sm", "lsm", "elu", "step", "sx"]})");
}

TEST(LowerDense, BiasNoBiasAndFusedActivations) {
  expectMatchesReference(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [23]}], "layers": [
      {"type": "dense", "name": "plain", "inputs": ["x"], "units": 17},
      {"type": "dense", "name": "nobias", "inputs": ["x"], "units": 3, "use_bias": false},
      {"type": "dense", "name": "relu", "inputs": ["x"], "units": 16, "activation": "relu"},
      {"type": "dense", "name": "leaky", "inputs": ["x"], "units": 5, "activation": {"type": "leaky_relu", "alpha": 0.3}},
      {"type": "dense", "name": "elu", "inputs": ["x"], "units": 5, "activation": {"type": "elu", "alpha": 0.5}},
      {"type": "dense", "name": "sig", "inputs": ["x"], "units": 4, "activation": "sigmoid"},
      {"type": "dense", "name": "tanh", "inputs": ["x"], "units": 4, "activation": "tanh"},
      {"type": "dense", "name": "step", "inputs": ["x"], "units": 4, "activation": "step"},
      {"type": "dense", "name": "sm", "inputs": ["x"], "units": 10, "activation": "softmax"},
      {"type": "dense", "name": "lsm", "inputs": ["x"], "units": 10, "activation": "log_softmax"},
      {"type": "dense", "name": "chain", "inputs": ["relu"], "units": 33}],
      "outputs": ["plain", "nobias", "relu", "leaky", "elu", "sig", "tanh", "step", "sm", "lsm", "chain"]})");
}

TEST(LowerNormalization, BatchNormAndPreprocess) {
  expectMatchesReference(R"({"nncc": 1, "name": "m",
      "inputs": [{"name": "img", "shape": [3, 4, 9]}, {"name": "vec", "shape": [6]}],
      "preprocess": {"img": {"mean": [0.1, -0.2, 0.3], "std": [0.5, 2.0, 1.5]}, "vec": {"mean": [0.25], "std": [0.75]}},
      "layers": [
      {"type": "batchnorm", "name": "bn_img", "inputs": ["img"], "epsilon": 0.001},
      {"type": "batchnorm", "name": "bn_vec", "inputs": ["vec"]},
      {"type": "relu", "name": "r_img", "inputs": ["img"]},
      {"type": "relu", "name": "r_vec", "inputs": ["vec"]}],
      "outputs": ["bn_img", "bn_vec", "r_img", "r_vec"]})");
}

TEST(LowerStructural, FlattenReshapeAddConcatDropout) {
  expectMatchesReference(R"({"nncc": 1, "name": "m",
      "inputs": [{"name": "x", "shape": [2, 3, 4]}, {"name": "y", "shape": [2, 3, 4]}, {"name": "z", "shape": [5, 3, 4]}],
      "layers": [
      {"type": "flatten", "name": "flat", "inputs": ["x"]},
      {"type": "dense", "name": "fc", "inputs": ["flat"], "units": 7},
      {"type": "reshape", "name": "img", "inputs": ["flat"], "shape": [4, -1, 2]},
      {"type": "reshape", "name": "back", "inputs": ["img"], "shape": [3, 2, 4]},
      {"type": "add", "name": "sum2", "inputs": ["x", "y"]},
      {"type": "add", "name": "sum3", "inputs": ["x", "y", "x"]},
      {"type": "concat", "name": "cat0", "inputs": ["x", "z", "y"], "axis": 0},
      {"type": "concat", "name": "cat1", "inputs": ["x", "y"], "axis": 1},
      {"type": "concat", "name": "cat2", "inputs": ["y", "x", "y"], "axis": 2},
      {"type": "dropout", "name": "drop", "inputs": ["cat0"], "rate": 0.5},
      {"type": "relu", "name": "after_drop", "inputs": ["drop"]},
      {"type": "dropout", "name": "drop_out", "inputs": ["x"], "rate": 0.1}],
      "outputs": ["flat", "fc", "img", "back", "sum2", "sum3", "cat0", "cat1", "cat2", "drop", "after_drop", "drop_out"]})");
}

TEST(LowerStructural, VectorConcatAndDecoderReshape) {
  expectMatchesReference(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [12]}], "layers": [
      {"type": "dense", "name": "a", "inputs": ["x"], "units": 5},
      {"type": "concat", "name": "cat", "inputs": ["a", "x", "a"]},
      {"type": "dense", "name": "dec", "inputs": ["x"], "units": 48, "activation": "relu"},
      {"type": "reshape", "name": "img", "inputs": ["dec"], "shape": [3, 4, 4]},
      {"type": "conv2d_transpose", "name": "up", "inputs": ["img"], "filters": 2, "kernel": 3, "stride": 2}],
      "outputs": ["cat", "img", "up"]})");
}

TEST(LowerExamples, LeNet5) {
  Diagnostics diags;
  std::optional<Graph> g = loadModel(std::string(NNCC_SOURCE_DIR) + "/examples/lenet5.json", diags);
  ASSERT_TRUE(g.has_value());
  expectMatchesReference(*g, {1, 3});
}

TEST(LowerExamples, InceptionBlock) {
  std::string path = std::string(NNCC_SOURCE_DIR) + "/examples/inception_block.json";
  if (!std::ifstream(path)) GTEST_SKIP() << path << " does not exist";
  Diagnostics diags;
  std::optional<Graph> g = loadModel(path, diags);
  ASSERT_TRUE(g.has_value());
  expectMatchesReference(*g, {1, 2});
}

TEST(LowerRun, RejectsBadArguments) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [4]}], "max_batch": 2,
      "layers": [{"type": "dense", "name": "fc", "units": 3}]})");
  LoweredModel m = lowerGraph(g);
  TensorMap params = initializeAll(g);
  std::vector<TensorF32> out;
  std::string error;
  EXPECT_FALSE(runLowered(g, m, params, {tensor({3, 4}, std::vector<float>(12, 1.f))}, out, error));
  EXPECT_NE(error.find("batch 3"), std::string::npos) << error;
  EXPECT_FALSE(runLowered(g, m, params, {tensor({1, 5}, std::vector<float>(5, 1.f))}, out, error));
  params.erase("fc.bias");
  EXPECT_FALSE(runLowered(g, m, params, {tensor({1, 4}, std::vector<float>(4, 1.f))}, out, error));
  EXPECT_NE(error.find("fc.bias"), std::string::npos) << error;
}

TEST(LowerGraph, ArgumentsAndNames) {
  Graph g = buildModel(R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [1, 6, 6]}], "layers": [
      {"type": "conv2d", "name": "conv", "filters": 2, "kernel": 3, "activation": "relu"},
      {"type": "batchnorm", "name": "bn"}]})");
  LoweredModel m = lowerGraph(g);
  std::vector<Halide::Argument> args = m.arguments();
  ASSERT_EQ(args.size(), 1u + g.params.size());
  EXPECT_EQ(args[0].name, "x");
  EXPECT_EQ(args[1].name, "conv_weight");
  EXPECT_EQ(args[0].dimensions, 4);
  ASSERT_EQ(m.outputs.size(), 1u);
  // Func names are the layer names (Halide appends "$n" to a name that an
  // earlier pipeline of this process already used).
  EXPECT_EQ(m.outputs[0].name().rfind("bn", 0), 0u) << m.outputs[0].name();
  EXPECT_EQ(m.values.at("conv").name().rfind("conv", 0), 0u) << m.values.at("conv").name();
}
