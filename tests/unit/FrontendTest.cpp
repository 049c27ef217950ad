// The frontend on small JSON strings: defaults (model-format.md), default
// names and wiring, activation and initializer forms, training defaults and
// the topological sort. Error lines are covered by tests/lit/errors/.
#include "frontend/ModelParser.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace nncc;

namespace {

// A model with one [C, H, W] or [F] input and the given layers (a JSON list).
std::string model(const std::string &layers, const std::string &shape = "[1, 8, 8]", const std::string &extra = "") {
  return R"({"nncc": 1, "name": "net", "inputs": [{"name": "image", "shape": )" + shape + R"(}], "layers": )" +
         layers + extra + "}";
}

struct Parsed {
  std::optional<Graph> g;
  Diagnostics diags;
  std::string messages() const {
    std::string s;
    for (const auto &d : diags.all()) s += d.str() + "\n";
    return s;
  }
};

Parsed parse(const std::string &text, const std::string &baseDir = "") {
  Parsed p;
  p.g = parseModelJson(text, "m.json", baseDir, p.diags);
  return p;
}

// Parses and expects success; fails the test with the messages otherwise.
Graph ok(const std::string &text, const std::string &baseDir = "") {
  Parsed p = parse(text, baseDir);
  EXPECT_TRUE(p.g.has_value()) << p.messages();
  EXPECT_FALSE(p.diags.hasErrors()) << p.messages();
  return p.g ? std::move(*p.g) : Graph{};
}

const Op &op(const Graph &g, const std::string &name) {
  for (const auto &o : g.ops)
    if (o.name == name) return o;
  ADD_FAILURE() << "no op named " << name;
  static Op none;
  return none;
}

std::vector<std::string> opNames(const Graph &g) {
  std::vector<std::string> v;
  for (const auto &o : g.ops) v.push_back(o.name);
  return v;
}

std::vector<std::string> inputNames(const Graph &g, const Op &o) {
  std::vector<std::string> v;
  for (int in : o.inputs) v.push_back(g.value(in).name);
  return v;
}

using Ints = std::vector<int64_t>;

}  // namespace

TEST(Frontend, ConvDefaults) {
  Graph g = ok(model(R"([{"type": "conv2d", "filters": 4, "kernel": 3}])"));
  ASSERT_EQ(g.ops.size(), 1u);
  const Op &c = g.ops[0];
  EXPECT_EQ(c.kind, OpKind::Conv2D);
  EXPECT_EQ(c.intAttr("filters"), 4);
  EXPECT_EQ(c.intsAttr("kernel"), (Ints{3, 3}));
  EXPECT_EQ(c.intsAttr("stride"), (Ints{1, 1}));
  EXPECT_EQ(c.intsAttr("dilation"), (Ints{1, 1}));
  EXPECT_EQ(c.intsAttr("padding"), (Ints{0, 0, 0, 0}));
  EXPECT_FALSE(c.attr("padding").same);
  EXPECT_EQ(c.intAttr("groups"), 1);
  EXPECT_TRUE(c.boolAttr("use_bias"));
  EXPECT_FALSE(c.attr("activation").hasActivation);
}

TEST(Frontend, PairsAndPaddingForms) {
  Graph g = ok(model(R"([
    {"type": "conv2d", "name": "a", "filters": 2, "kernel": [3, 5], "stride": [2, 1], "padding": [1, 2]},
    {"type": "conv2d", "name": "b", "filters": 2, "kernel": 1, "padding": [1, 2, 3, 4]},
    {"type": "conv2d", "name": "c", "filters": 2, "kernel": 3, "padding": "same"},
    {"type": "conv2d", "name": "d", "filters": 2, "kernel": 3, "padding": "valid"},
    {"type": "conv2d_transpose", "name": "e", "filters": 2, "kernel": 3, "padding": 1}])"));
  EXPECT_EQ(op(g, "a").intsAttr("kernel"), (Ints{3, 5}));
  EXPECT_EQ(op(g, "a").intsAttr("stride"), (Ints{2, 1}));
  EXPECT_EQ(op(g, "a").intsAttr("padding"), (Ints{1, 2, 1, 2}));  // [t, l, b, r]
  EXPECT_EQ(op(g, "b").intsAttr("padding"), (Ints{1, 2, 3, 4}));
  EXPECT_TRUE(op(g, "c").attr("padding").same);  // resolved by shape inference
  EXPECT_EQ(op(g, "d").intsAttr("padding"), (Ints{0, 0, 0, 0}));
  EXPECT_EQ(op(g, "e").intsAttr("padding"), (Ints{1, 1, 1, 1}));
  EXPECT_EQ(op(g, "e").intsAttr("output_padding"), (Ints{0, 0}));
}

TEST(Frontend, PoolStrideDefaultsToSize) {
  Graph g = ok(model(R"([
    {"type": "maxpool2d", "name": "p1", "size": 2},
    {"type": "avgpool2d", "name": "p2", "size": [3, 1]},
    {"type": "maxpool2d", "name": "p3", "size": 2, "stride": 1}])"));
  EXPECT_EQ(op(g, "p1").intsAttr("stride"), (Ints{2, 2}));
  EXPECT_EQ(op(g, "p2").intsAttr("stride"), (Ints{3, 1}));
  EXPECT_EQ(op(g, "p3").intsAttr("stride"), (Ints{1, 1}));
  EXPECT_EQ(op(g, "p1").intsAttr("padding"), (Ints{0, 0, 0, 0}));
  EXPECT_FALSE(op(g, "p1").boolAttr("ceil_mode"));
  EXPECT_FALSE(op(g, "p2").boolAttr("count_include_pad"));
}

TEST(Frontend, OtherDefaults) {
  Graph g = ok(model(R"([
    {"type": "batchnorm"}, {"type": "leaky_relu"}, {"type": "elu"}, {"type": "softmax"},
    {"type": "concat", "inputs": ["image", "softmax_3"]}, {"type": "flatten"},
    {"type": "dense", "units": 3}])"));
  EXPECT_DOUBLE_EQ(op(g, "batchnorm_0").floatAttr("epsilon"), 1e-5);
  EXPECT_DOUBLE_EQ(op(g, "batchnorm_0").floatAttr("momentum"), 0.1);
  EXPECT_DOUBLE_EQ(op(g, "leaky_relu_1").floatAttr("alpha"), 0.01);
  EXPECT_DOUBLE_EQ(op(g, "elu_2").floatAttr("alpha"), 1.0);
  EXPECT_EQ(op(g, "softmax_3").intAttr("axis"), 0);
  EXPECT_EQ(op(g, "concat_4").intAttr("axis"), 0);
  EXPECT_TRUE(op(g, "dense_6").boolAttr("use_bias"));
  EXPECT_EQ(g.maxBatch, 64);
  EXPECT_EQ(g.seed, 0u);
  EXPECT_FALSE(g.training.has_value());
}

TEST(Frontend, DefaultNamesAndWiring) {
  Graph g = ok(model(R"([{"type": "conv2d", "filters": 2, "kernel": 3}, {"type": "relu"},
                          {"type": "flatten", "name": "flat"}, {"type": "dense", "units": 10}])"));
  EXPECT_EQ(opNames(g), (std::vector<std::string>{"conv2d_0", "relu_1", "flat", "dense_3"}));
  // The first layer reads the single input, every other one the layer before.
  EXPECT_EQ(inputNames(g, op(g, "conv2d_0")), (std::vector<std::string>{"image"}));
  EXPECT_EQ(inputNames(g, op(g, "relu_1")), (std::vector<std::string>{"conv2d_0"}));
  EXPECT_EQ(inputNames(g, op(g, "flat")), (std::vector<std::string>{"relu_1"}));
  EXPECT_EQ(inputNames(g, op(g, "dense_3")), (std::vector<std::string>{"flat"}));
  // Locations carry the JSON path and the (default) layer name.
  EXPECT_EQ(op(g, "relu_1").loc.jsonPath, "layers[1]");
  EXPECT_EQ(op(g, "relu_1").loc.layerName, "relu_1");
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.value(g.inputs[0]).name, "image");
  EXPECT_EQ(g.value(g.inputs[0]).shape, (Shape{1, 8, 8}));
}

TEST(Frontend, OutputsDefaultToLastLayer) {
  Graph g = ok(model(R"([{"type": "relu", "name": "a"}, {"type": "sigmoid", "name": "b"}])"));
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.value(g.outputs[0]).name, "b");

  Graph h = ok(model(R"([{"type": "relu", "name": "a"}, {"type": "sigmoid", "name": "b"}])", "[1, 8, 8]",
                     R"(, "outputs": ["a", "b"])"));
  ASSERT_EQ(h.outputs.size(), 2u);
  EXPECT_EQ(h.value(h.outputs[0]).name, "a");
  EXPECT_EQ(h.value(h.outputs[1]).name, "b");
}

TEST(Frontend, SharedLayerAndMultipleInputs) {
  Graph g = ok(R"({"nncc": 1, "name": "net",
    "inputs": [{"name": "a", "shape": [4]}, {"name": "b", "shape": [4], "dtype": "float32"}],
    "layers": [{"type": "relu", "name": "r", "inputs": ["a"]},
               {"type": "add", "name": "s", "inputs": ["r", "b", "r"]}]})");
  EXPECT_EQ(inputNames(g, op(g, "s")), (std::vector<std::string>{"r", "b", "r"}));
  EXPECT_EQ(g.inputs.size(), 2u);
}

TEST(Frontend, ActivationForms) {
  Graph g = ok(model(R"([{"type": "flatten"},
    {"type": "dense", "name": "s", "units": 4, "activation": "relu"},
    {"type": "dense", "name": "o", "units": 4, "activation": {"type": "leaky_relu", "alpha": 0.2}},
    {"type": "dense", "name": "d", "units": 4, "activation": "leaky_relu"},
    {"type": "dense", "name": "m", "units": 4, "activation": {"type": "softmax"}},
    {"type": "dense", "name": "n", "units": 4, "activation": "none"},
    {"type": "dense", "name": "z", "units": 4, "activation": null}])"));
  const Attr &s = op(g, "s").attr("activation");
  EXPECT_TRUE(s.hasActivation);
  EXPECT_EQ(s.act.kind, OpKind::Relu);
  const Attr &o = op(g, "o").attr("activation");
  EXPECT_TRUE(o.hasActivation);
  EXPECT_EQ(o.act.kind, OpKind::LeakyRelu);
  EXPECT_DOUBLE_EQ(o.act.alpha, 0.2);
  EXPECT_DOUBLE_EQ(op(g, "d").attr("activation").act.alpha, 0.01);  // the layer's default
  EXPECT_EQ(op(g, "m").attr("activation").act.kind, OpKind::Softmax);
  EXPECT_EQ(op(g, "m").attr("activation").act.axis, 0);
  EXPECT_FALSE(op(g, "n").attr("activation").hasActivation);
  EXPECT_FALSE(op(g, "z").attr("activation").hasActivation);
}

TEST(Frontend, Initializers) {
  Graph g = ok(model(R"([{"type": "flatten"},
    {"type": "dense", "name": "a", "units": 4},
    {"type": "dense", "name": "b", "units": 4, "regularize": false,
     "init": {"weights": {"type": "normal", "stddev": 0.01}, "bias": "ones"}},
    {"type": "dense", "name": "c", "units": 4, "init": {"weights": {"type": "uniform", "low": -1, "high": 2}}}])",
                     "[1, 8, 8]", R"(, "init": {"seed": 42, "weights": "he_normal", "bias": {"type": "truncated_normal"}})"));
  EXPECT_EQ(g.seed, 42u);
  EXPECT_EQ(g.defaultWeightInit.kind, InitKind::HeNormal);
  EXPECT_EQ(g.defaultBiasInit.kind, InitKind::TruncatedNormal);
  EXPECT_DOUBLE_EQ(g.defaultBiasInit.stddev, 0.05);
  EXPECT_FALSE(op(g, "a").weightInit.has_value());
  EXPECT_TRUE(op(g, "a").regularize);
  const Op &b = op(g, "b");
  ASSERT_TRUE(b.weightInit && b.biasInit);
  EXPECT_EQ(b.weightInit->kind, InitKind::Normal);
  EXPECT_DOUBLE_EQ(b.weightInit->stddev, 0.01);
  EXPECT_DOUBLE_EQ(b.weightInit->mean, 0.0);
  EXPECT_EQ(b.biasInit->kind, InitKind::Ones);
  EXPECT_FALSE(b.regularize);
  const Op &c = op(g, "c");
  ASSERT_TRUE(c.weightInit.has_value());
  EXPECT_EQ(c.weightInit->kind, InitKind::Uniform);
  EXPECT_DOUBLE_EQ(c.weightInit->low, -1.0);
  EXPECT_DOUBLE_EQ(c.weightInit->high, 2.0);
}

TEST(Frontend, DefaultInitializers) {
  Graph g = ok(model(R"([{"type": "relu"}])"));
  EXPECT_EQ(g.defaultWeightInit.kind, InitKind::GlorotUniform);
  EXPECT_EQ(g.defaultBiasInit.kind, InitKind::Zeros);
}

TEST(Frontend, TopLevelOptions) {
  Graph g = ok(model(R"([{"type": "relu"}])", "[3, 8, 8]",
                     R"(, "max_batch": 8, "weights": "w.safetensors",
                        "preprocess": {"image": {"mean": [0.5, 0.4, 0.3], "std": 0.25}})"),
               "/models");
  EXPECT_EQ(g.name, "net");
  EXPECT_EQ(g.maxBatch, 8);
  EXPECT_EQ(g.weightsPath, "/models/w.safetensors");
  // The preprocess op comes first and the first layer reads it.
  ASSERT_EQ(g.ops.size(), 2u);
  EXPECT_EQ(g.ops[0].kind, OpKind::Preprocess);
  EXPECT_EQ(g.ops[0].attr("mean").floats, (std::vector<double>{0.5, 0.4, 0.3}));
  EXPECT_EQ(g.ops[0].attr("std").floats, (std::vector<double>{0.25}));
  EXPECT_EQ(g.ops[1].inputs, (std::vector<int>{g.ops[0].output}));

  Graph abs = ok(model(R"([{"type": "relu"}])", "[4]", R"(, "weights": "/abs/w.safetensors")"), "/models");
  EXPECT_EQ(abs.weightsPath, "/abs/w.safetensors");
}

TEST(Frontend, TrainingDefaultsAdam) {
  Graph g = ok(model(R"([{"type": "flatten"}, {"type": "dense", "name": "logits", "units": 10}])", "[1, 8, 8]",
                     R"(, "training": {"loss": {"type": "softmax_cross_entropy"}, "optimizer": {"type": "adam"}})"));
  ASSERT_TRUE(g.training.has_value());
  const TrainingConfig &t = *g.training;
  ASSERT_EQ(t.losses.size(), 1u);
  EXPECT_EQ(t.losses[0].kind, LossKind::SoftmaxCrossEntropy);
  EXPECT_EQ(g.value(t.losses[0].output).name, "logits");  // the single output
  EXPECT_EQ(t.optimizer, "adam");
  EXPECT_DOUBLE_EQ(t.optimizerArgs.at("learning_rate"), 0.001);
  EXPECT_DOUBLE_EQ(t.optimizerArgs.at("beta1"), 0.9);
  EXPECT_DOUBLE_EQ(t.optimizerArgs.at("beta2"), 0.999);
  EXPECT_DOUBLE_EQ(t.optimizerArgs.at("epsilon"), 1e-8);
  EXPECT_DOUBLE_EQ(t.l2, 0.0);
  EXPECT_DOUBLE_EQ(t.l1, 0.0);
  EXPECT_EQ(t.schedule, "constant");
}

TEST(Frontend, TrainingDefaultsOthers) {
  auto training = [](const std::string &body) {
    Graph g = ok(model(R"([{"type": "flatten"}, {"type": "dense", "units": 2}])", "[1, 8, 8]",
                       R"(, "training": {"loss": {"type": "mse"})" + body + "}"));
    EXPECT_TRUE(g.training.has_value());
    return g.training.value_or(TrainingConfig{});
  };
  TrainingConfig sgd = training("");  // no optimizer: sgd with torch's defaults
  EXPECT_EQ(sgd.optimizer, "sgd");
  EXPECT_DOUBLE_EQ(sgd.optimizerArgs.at("learning_rate"), 0.01);
  EXPECT_DOUBLE_EQ(sgd.optimizerArgs.at("momentum"), 0.0);
  EXPECT_DOUBLE_EQ(sgd.optimizerArgs.at("nesterov"), 0.0);

  TrainingConfig rms = training(R"(, "optimizer": {"type": "rmsprop", "learning_rate": 0.1})");
  EXPECT_DOUBLE_EQ(rms.optimizerArgs.at("learning_rate"), 0.1);
  EXPECT_DOUBLE_EQ(rms.optimizerArgs.at("alpha"), 0.99);
  EXPECT_DOUBLE_EQ(rms.optimizerArgs.at("epsilon"), 1e-8);

  TrainingConfig ada = training(R"(, "optimizer": {"type": "adadelta"})");
  EXPECT_DOUBLE_EQ(ada.optimizerArgs.at("learning_rate"), 1.0);
  EXPECT_DOUBLE_EQ(ada.optimizerArgs.at("rho"), 0.9);
  EXPECT_DOUBLE_EQ(ada.optimizerArgs.at("epsilon"), 1e-6);

  TrainingConfig grad = training(R"(, "optimizer": {"type": "adagrad"})");
  EXPECT_DOUBLE_EQ(grad.optimizerArgs.at("learning_rate"), 0.01);
  EXPECT_DOUBLE_EQ(grad.optimizerArgs.at("epsilon"), 1e-10);

  TrainingConfig step = training(R"(, "schedule": {"type": "step", "step_size": 100},
                                    "regularization": {"l2": 0.0005})");
  EXPECT_EQ(step.schedule, "step");
  EXPECT_DOUBLE_EQ(step.scheduleArgs.at("step_size"), 100);
  EXPECT_DOUBLE_EQ(step.scheduleArgs.at("gamma"), 0.1);
  EXPECT_DOUBLE_EQ(step.l2, 0.0005);
  EXPECT_DOUBLE_EQ(step.l1, 0.0);

  TrainingConfig cosine = training(R"(, "schedule": {"type": "cosine", "total_steps": 1000})");
  EXPECT_DOUBLE_EQ(cosine.scheduleArgs.at("total_steps"), 1000);
  EXPECT_DOUBLE_EQ(cosine.scheduleArgs.at("min_lr"), 0.0);
}

TEST(Frontend, SeveralLosses) {
  Graph g = ok(model(R"([{"type": "flatten", "name": "f"}, {"type": "dense", "name": "a", "units": 2},
                          {"type": "dense", "name": "b", "units": 2, "inputs": ["f"]}])",
                     "[1, 8, 8]", R"(, "outputs": ["a", "b"], "training": {"loss": [
                        {"type": "mse", "output": "b"}, {"type": "binary_cross_entropy", "output": "a"}]})"));
  ASSERT_TRUE(g.training.has_value());
  ASSERT_EQ(g.training->losses.size(), 2u);
  EXPECT_EQ(g.value(g.training->losses[0].output).name, "b");
  EXPECT_EQ(g.training->losses[0].kind, LossKind::Mse);
  EXPECT_EQ(g.value(g.training->losses[1].output).name, "a");
  EXPECT_EQ(g.training->losses[1].kind, LossKind::BinaryCrossEntropy);
}

TEST(Frontend, OutOfOrderModelIsSortedTopologically) {
  Graph g = ok(R"({"nncc": 1, "name": "net", "inputs": [{"name": "x", "shape": [4]}],
    "layers": [
      {"type": "add", "name": "sum", "inputs": ["a", "b"]},
      {"type": "dense", "name": "b", "units": 4, "inputs": ["a"]},
      {"type": "relu", "name": "a", "inputs": ["x"]},
      {"type": "softmax", "name": "probs", "inputs": ["sum"]}],
    "outputs": ["probs"]})");
  EXPECT_EQ(opNames(g), (std::vector<std::string>{"a", "b", "sum", "probs"}));
  // Every op's inputs are defined before it.
  std::vector<bool> defined(g.values.size(), false);
  for (int in : g.inputs) defined[static_cast<size_t>(in)] = true;
  for (const auto &o : g.ops) {
    for (int in : o.inputs) EXPECT_TRUE(defined[static_cast<size_t>(in)]) << o.name;
    defined[static_cast<size_t>(o.output)] = true;
  }
  // Locations still point at the JSON position.
  EXPECT_EQ(op(g, "a").loc.jsonPath, "layers[2]");
}

TEST(Frontend, InOrderModelKeepsItsOrder) {
  // Two independent branches: the order of the file is kept.
  Graph g = ok(model(R"([{"type": "relu", "name": "r", "inputs": ["image"]},
                          {"type": "sigmoid", "name": "s", "inputs": ["image"]},
                          {"type": "add", "name": "sum", "inputs": ["s", "r"]}])"));
  EXPECT_EQ(opNames(g), (std::vector<std::string>{"r", "s", "sum"}));
}

TEST(Frontend, ErrorsAreCollectedNotThrown) {
  Parsed p = parse(model(R"([{"type": "conv2d", "name": "c", "filters": 2, "kernel": 3, "stride": -1},
                             {"type": "dropout", "name": "d", "rate": 1.0},
                             {"type": "relu", "name": "r", "extra": 1}])"));
  EXPECT_FALSE(p.g.has_value());
  EXPECT_EQ(p.messages(),
            "m.json: layers[0].stride (c): 'stride' must be at least 1, found -1\n"
            "m.json: layers[1].rate (d): 'rate' must be in [0, 1), found 1\n"
            "m.json: layers[2].extra (r): unknown key 'extra' in a relu layer (expected one of: type, name, inputs)\n");
}

TEST(Frontend, BadJsonNeverThrows) {
  const char *texts[] = {"", "   ", "{", "[]", "null", "1e999", "{\"nncc\": 1e999}", "{\"a\": 1, \"a\": 2}",
                         "{} {}", "\xff", "{\"nncc\": 1, \"name\": \"n\", \"inputs\": 3, \"layers\": {}}"};
  for (const char *t : texts) {
    Parsed p;
    EXPECT_NO_THROW(p.g = parseModelJson(t, "m.json", "", p.diags)) << t;
    EXPECT_FALSE(p.g.has_value()) << t;
    EXPECT_TRUE(p.diags.hasErrors()) << t;
  }
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  Parsed p;
  EXPECT_NO_THROW(p.g = parseModelJson(deep, "m.json", "", p.diags));
  EXPECT_EQ(p.messages(),
            "m.json: line 1, column 257: invalid JSON: nested more than 256 levels deep (a model file needs only a "
            "few levels)\n");
}
