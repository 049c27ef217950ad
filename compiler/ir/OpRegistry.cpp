// The attribute schema of every op (model-format.md, "Layers"). One row per op;
// ops that share attributes share the helper that builds them.
#include "compiler/ir/OpRegistry.h"

#include <cassert>
#include <unordered_map>

namespace nncc {
namespace {

// The largest size-like integer (units, filters, kernel, stride, padding, ...),
// the same bound as an input dimension: it keeps the shape arithmetic of
// ShapeInference far from int64 overflow.
constexpr double kMaxSize = 2147483648.0;  // 2^31

AttrSchema req(const std::string &name, AttrType type, double min = -1e300, double max = 1e300) {
  AttrSchema s;
  s.name = name;
  s.type = type;
  s.required = true;
  s.min = min;
  s.max = max;
  return s;
}

AttrSchema opt(const std::string &name, Attr dflt, double min = -1e300, double max = 1e300,
               bool maxExclusive = false) {
  AttrSchema s;
  s.name = name;
  s.type = dflt.type;
  s.defaultValue = dflt;
  s.min = min;
  s.max = max;
  s.maxExclusive = maxExclusive;
  return s;
}

// filters, kernel, stride, padding, dilation, groups, use_bias, activation.
std::vector<AttrSchema> convAttrs(bool transposed) {
  AttrSchema padding = opt("padding", Attr::makePadding(0, 0, 0, 0), 0, kMaxSize);
  padding.allowSame = !transposed;
  std::vector<AttrSchema> v = {
      req("filters", AttrType::Int, 1, kMaxSize),
      req("kernel", AttrType::Pair, 1, kMaxSize),
      opt("stride", Attr::makePair(1, 1), 1, kMaxSize),
      padding,
  };
  if (transposed) v.push_back(opt("output_padding", Attr::makePair(0, 0), 0, kMaxSize));
  v.push_back(opt("dilation", Attr::makePair(1, 1), 1, kMaxSize));
  v.push_back(opt("groups", Attr::makeInt(1), 1, kMaxSize));
  v.push_back(opt("use_bias", Attr::makeBool(true)));
  v.push_back(opt("activation", Attr::makeNoActivation()));
  return v;
}

std::vector<AttrSchema> poolAttrs(bool avg) {
  AttrSchema stride = opt("stride", Attr::makePair(1, 1), 1, kMaxSize);
  stride.defaultFrom = "size";
  std::vector<AttrSchema> v = {
      req("size", AttrType::Pair, 1, kMaxSize),
      stride,
      opt("padding", Attr::makePadding(0, 0, 0, 0), 0, kMaxSize),
      opt("ceil_mode", Attr::makeBool(false)),
  };
  if (avg) v.push_back(opt("count_include_pad", Attr::makeBool(false)));
  return v;
}

std::vector<AttrSchema> softmaxAttrs() { return {opt("axis", Attr::makeInt(0), 0, 2)}; }

std::vector<OpInfo> buildTable() {
  using K = OpKind;
  const AttrType FL = AttrType::FloatList;
  // kind, name, minInputs, maxInputs, isActivation, hasParams, isLayerType, attrs
  std::vector<OpInfo> t = {
      {K::Dense, "dense", 1, 1, false, true, true,
       {req("units", AttrType::Int, 1, kMaxSize), opt("use_bias", Attr::makeBool(true)),
        opt("activation", Attr::makeNoActivation())}},
      {K::Conv2D, "conv2d", 1, 1, false, true, true, convAttrs(false)},
      {K::Conv2DTranspose, "conv2d_transpose", 1, 1, false, true, true, convAttrs(true)},
      {K::MaxPool2D, "maxpool2d", 1, 1, false, false, true, poolAttrs(false)},
      {K::AvgPool2D, "avgpool2d", 1, 1, false, false, true, poolAttrs(true)},
      {K::GlobalAvgPool2D, "global_avgpool2d", 1, 1, false, false, true, {}},
      {K::GlobalMaxPool2D, "global_maxpool2d", 1, 1, false, false, true, {}},
      {K::BatchNorm, "batchnorm", 1, 1, false, true, true,
       {opt("epsilon", Attr::makeFloat(1e-5), 0), opt("momentum", Attr::makeFloat(0.1), 0, 1)}},
      {K::Relu, "relu", 1, 1, true, false, true, {}},
      {K::Sigmoid, "sigmoid", 1, 1, true, false, true, {}},
      {K::Tanh, "tanh", 1, 1, true, false, true, {}},
      {K::Step, "step", 1, 1, true, false, true, {}},
      {K::LeakyRelu, "leaky_relu", 1, 1, true, false, true, {opt("alpha", Attr::makeFloat(0.01))}},
      {K::Elu, "elu", 1, 1, true, false, true, {opt("alpha", Attr::makeFloat(1.0))}},
      {K::Softmax, "softmax", 1, 1, true, false, true, softmaxAttrs()},
      {K::LogSoftmax, "log_softmax", 1, 1, true, false, true, softmaxAttrs()},
      {K::Dropout, "dropout", 1, 1, false, false, true, {req("rate", AttrType::Float, 0)}},
      {K::Flatten, "flatten", 1, 1, false, false, true, {}},
      {K::Reshape, "reshape", 1, 1, false, false, true, {req("shape", AttrType::IntList)}},
      {K::Add, "add", 2, -1, false, false, true, {}},
      {K::Concat, "concat", 2, -1, false, false, true, {opt("axis", Attr::makeInt(0), 0, 2)}},
      {K::Preprocess, "preprocess", 1, 1, false, false, false, {req("mean", FL), req("std", FL)}},
  };
  // epsilon must be > 0; dropout rate in [0, 1).
  t[static_cast<int>(K::BatchNorm)].attrs[0].minExclusive = true;
  t[static_cast<int>(K::Dropout)].attrs[0].max = 1;
  t[static_cast<int>(K::Dropout)].attrs[0].maxExclusive = true;
  for (size_t i = 0; i < t.size(); ++i) assert(static_cast<size_t>(t[i].kind) == i);
  return t;
}

}  // namespace

const std::vector<OpInfo> &allOps() {
  static const std::vector<OpInfo> table = buildTable();
  return table;
}

const OpInfo &opInfo(OpKind kind) { return allOps()[static_cast<size_t>(kind)]; }

const char *opName(OpKind kind) { return opInfo(kind).name; }

std::optional<OpKind> opKindFromName(const std::string &name) {
  static const std::unordered_map<std::string, OpKind> byName = [] {
    std::unordered_map<std::string, OpKind> m;
    for (const auto &info : allOps()) m.emplace(info.name, info.kind);
    return m;
  }();
  auto it = byName.find(name);
  if (it == byName.end()) return std::nullopt;
  return it->second;
}

const char *paramRoleSuffix(ParamRole r) {
  switch (r) {
    case ParamRole::Weight: return "weight";
    case ParamRole::Bias: return "bias";
    case ParamRole::BNWeight: return "weight";
    case ParamRole::BNBias: return "bias";
    case ParamRole::RunningMean: return "running_mean";
    case ParamRole::RunningVar: return "running_var";
  }
  return "?";
}

}  // namespace nncc
