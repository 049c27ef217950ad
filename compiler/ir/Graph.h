// The graph IR: values with static per-sample shapes (the batch N is
// symbolic and not stored), ops in topological order, and named parameter
// tensors. A Graph is built by the frontend, completed by shape inference,
// checked by the verifier, printed by the printer and run by the reference
// interpreter.
#pragma once
#include "compiler/ir/Attr.h"
#include "compiler/ir/Location.h"
#include "compiler/ir/OpRegistry.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nncc {

using Shape = std::vector<int64_t>;  // per sample: [F] or [C, H, W]

int64_t numElements(const Shape &s);  // saturates at INT64_MAX instead of overflowing
std::string shapeStr(const Shape &s);  // "[6, 28, 28]"

enum class DType { Float32, Int32 };

// How a value is stored between kernels (the assign-layouts pass; docs/passes.md).
// The logical shape is always [C, H, W]; ChannelsLast stores it as [H, W, C]
// (C innermost), which the convolution kernels read and write with whole
// vectors. Graph inputs and outputs are always Planar (the API's layout).
enum class Layout { Planar, ChannelsLast };

struct Value {
  int id = -1;
  std::string name;   // the layer or input name ("conv1", "image")
  Shape shape;        // filled by shape inference
  bool shapeKnown = false;
  DType dtype = DType::Float32;
  int producer = -1;  // index into Graph::ops; -1 for a graph input
  Layout layout = Layout::Planar;
  // ChannelsLast only: stored with a zero border of this many pixels on each
  // side of H and W ([H + 2b, W + 2b, C]; the pad-borders pass), so that a
  // convolution reads its zero padding in place instead of copying its input.
  int border = 0;
};

// The floats one sample of `v` occupies in memory: its elements, and its
// zero border (Value::border) when it has one.
int64_t storedElements(const Value &v);

struct Param {
  std::string name;  // "<layer>.<suffix>", PyTorch's state_dict name
  Shape shape;
  ParamRole role;
  bool trainable = true;    // false for batchnorm running statistics
  bool regularized = false; // weights of dense/conv layers unless "regularize": false
  InitSpec init;            // used when no weights file provides the tensor
  int64_t fanIn = 0, fanOut = 0;
  int op = -1;
};

struct Op {
  OpKind kind;
  std::string name;   // the layer name; also its output value's name
  Location loc;
  std::vector<int> inputs;  // value ids
  int output = -1;          // value id
  AttrMap attrs;
  std::vector<int> params;  // indices into Graph::params
  // Per-layer "init" and "regularize" (dense, conv2d, conv2d_transpose).
  std::optional<InitSpec> weightInit, biasInit;
  bool regularize = true;
  // What inference passes fused into this op's epilogue (dense, conv2d,
  // conv2d_transpose), applied in order after its own result and before its
  // `activation`: a batchnorm in inference mode (its four parameters appended
  // to `params`), then a residual add (its other operand appended to
  // `inputs`). And a prologue: a preprocess normalization (x - mean[c]) /
  // std[c] of input 0, applied before the op reads it (so a conv's zero
  // padding stays zero after normalization). And last, after the
  // activation, a pooling of the result (conv2d): a maxpool2d or avgpool2d
  // with its own attributes, the op's output value being the pooled one and
  // `poolInput` the shape of the result it pools. Never set by the frontend.
  struct Epilogue {
    bool batchnorm = false;
    double batchnormEpsilon = 0.0;
    bool residual = false;
    bool preprocess = false;
    std::vector<double> preprocessMean, preprocessStd;  // one value, or one per channel
    bool pool = false;
    OpKind poolKind = OpKind::MaxPool2D;
    AttrMap poolAttrs;
    Shape poolInput;  // per sample, [C, H, W]
  } fused;

  const Attr &attr(const std::string &name) const;
  int64_t intAttr(const std::string &name) const { return attr(name).i; }
  double floatAttr(const std::string &name) const { return attr(name).f; }
  bool boolAttr(const std::string &name) const { return attr(name).b; }
  const std::vector<int64_t> &intsAttr(const std::string &name) const { return attr(name).ints; }
};

enum class LossKind { SoftmaxCrossEntropy, CrossEntropy, BinaryCrossEntropy, Mse };
const char *lossKindName(LossKind k);

struct Loss {
  LossKind kind;
  int output = -1;  // value id
  Location loc;
};

// The `training` section: the optimizer and schedule keep their arguments by
// name, with every default filled in by the frontend.
struct TrainingConfig {
  std::vector<Loss> losses;
  std::string optimizer;  // sgd, adagrad, adadelta, rmsprop, adam
  std::map<std::string, double> optimizerArgs;
  double l2 = 0.0, l1 = 0.0;
  std::string schedule = "constant";
  std::map<std::string, double> scheduleArgs;
};

struct Graph {
  std::string name;
  std::string file;  // the model file as the user named it
  std::vector<Value> values;
  std::vector<Op> ops;        // topological order
  std::vector<int> inputs;    // value ids of graph inputs
  std::vector<int> outputs;   // value ids of graph outputs
  std::vector<Param> params;
  int64_t maxBatch = 64;
  uint64_t seed = 0;
  InitSpec defaultWeightInit{InitKind::GlorotUniform};  // "init": {"weights": ...}
  InitSpec defaultBiasInit{InitKind::Zeros};            // "init": {"bias": ...}
  std::string weightsPath;    // "weights" resolved against the model's folder; may be empty
  std::optional<TrainingConfig> training;

  Value &value(int id) { return values[static_cast<size_t>(id)]; }
  const Value &value(int id) const { return values[static_cast<size_t>(id)]; }
  int addValue(const std::string &name, int producer);
  int findValue(const std::string &name) const;  // -1 when absent
  const Param *findParam(const std::string &name) const;

  int64_t numTrainable() const;  // trainable floats (the header's NUM_PARAMS)
  int64_t numBuffers() const;    // non-trainable floats (running statistics)
};

}  // namespace nncc
