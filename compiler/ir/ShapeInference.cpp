// Shape rules per op family (model-format.md, "Layers"), and parameter creation.
#include "compiler/ir/ShapeInference.h"

#include <limits>
#include <sstream>

namespace nncc {

int64_t convOutputSize(int64_t in, int64_t k, int64_t stride, int64_t pb, int64_t pe, int64_t dilation) {
  int64_t span = in + pb + pe - dilation * (k - 1) - 1;
  if (span < 0) return 0;
  return span / stride + 1;
}

int64_t convTransposeOutputSize(int64_t in, int64_t k, int64_t stride, int64_t pb, int64_t pe, int64_t dilation,
                                int64_t outputPadding) {
  return (in - 1) * stride - pb - pe + dilation * (k - 1) + outputPadding + 1;
}

int64_t poolOutputSize(int64_t in, int64_t k, int64_t stride, int64_t pb, int64_t pe, bool ceilMode) {
  int64_t span = in + pb + pe - k;
  if (span < 0) return 0;
  if (!ceilMode) return span / stride + 1;
  int64_t out = (span + stride - 1) / stride + 1;
  // PyTorch: the last window must start inside the input or the left padding.
  if ((out - 1) * stride >= in + pb) --out;
  return out;
}

void samePadding(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t &pb, int64_t &pe) {
  int64_t out = (in + stride - 1) / stride;
  int64_t total = (out - 1) * stride + dilation * (k - 1) + 1 - in;
  if (total < 0) total = 0;
  pb = total / 2;
  pe = total - pb;
}

namespace {

// Beyond these sizes a model cannot be run, only risk overflow or exhausting
// memory: 2^34 float32 elements (64 GiB) per sample of one activation, 2^31
// float32 elements (8 GiB) in one parameter.
constexpr int64_t kMaxElements = int64_t(1) << 34;
constexpr int64_t kMaxParamElements = int64_t(1) << 31;

// The bytes of `n` float32 elements ("more than 2^63" once that overflows).
std::string f32Bytes(int64_t n) {
  return n > std::numeric_limits<int64_t>::max() / 4 ? "more than 2^63" : std::to_string(n * 4);
}

std::string hw(int64_t h, int64_t w) { return std::to_string(h) + "x" + std::to_string(w); }
std::string kernelStr(int64_t h, int64_t w) { return h == w ? std::to_string(h) : hw(h, w); }

class ShapeInferrer {
 public:
  ShapeInferrer(Graph &g, Diagnostics &d) : g_(g), d_(d) {}

  bool run() {
    size_t before = d_.errorCount();
    for (size_t i = 0; i < g_.ops.size(); ++i) {
      Op &op = g_.ops[i];
      bool known = true;
      for (int in : op.inputs) known &= g_.value(in).shapeKnown;
      // An op downstream of an error, or whose attributes the frontend could
      // not read: its problems are already reported.
      for (const auto &s : opInfo(op.kind).attrs) known &= op.attrs.count(s.name) != 0;
      if (!known) continue;
      std::optional<Shape> out = infer(op);
      if (!out) continue;
      if (numElements(*out) > kMaxElements) {
        d_.error(op.loc, "output shape " + shapeStr(*out) + " needs " + f32Bytes(numElements(*out)) +
                             " bytes per sample, more than nncc's limit of 2^34 float32 elements (64 GiB)");
        continue;
      }
      Value &v = g_.value(op.output);
      v.shape = *out;
      v.shapeKnown = true;
      createParams(static_cast<int>(i));
    }
    return d_.errorCount() == before;
  }

 private:
  const Shape &in(const Op &op, size_t k = 0) const { return g_.value(op.inputs[k]).shape; }
  const std::string &inName(const Op &op, size_t k = 0) const { return g_.value(op.inputs[k]).name; }

  bool expectRank(const Op &op, size_t rank) {
    const Shape &s = in(op);
    if (s.size() == rank) return true;
    std::string what = rank == 3 ? "an image [C, H, W]" : "a vector [F]";
    std::string hint = rank == 1 ? "; insert a flatten layer before it" : "";
    d_.error(op.loc, std::string(opName(op.kind)) + " expects " + what + " but its input '" + inName(op) +
                         "' has shape " + shapeStr(s) + hint);
    return false;
  }

  std::optional<Shape> infer(Op &op) {
    switch (op.kind) {
      case OpKind::Dense: {
        if (!expectRank(op, 1)) return std::nullopt;
        Shape out{op.intAttr("units")};
        if (!checkActivation(op, out)) return std::nullopt;
        return out;
      }
      case OpKind::Conv2D: return conv(op, false);
      case OpKind::Conv2DTranspose: return conv(op, true);
      case OpKind::MaxPool2D:
      case OpKind::AvgPool2D: return pool(op);
      case OpKind::GlobalAvgPool2D:
      case OpKind::GlobalMaxPool2D:
        if (!expectRank(op, 3)) return std::nullopt;
        return Shape{in(op)[0]};
      case OpKind::Softmax:
      case OpKind::LogSoftmax:
        if (op.intAttr("axis") >= static_cast<int64_t>(in(op).size())) {
          d_.error(op.loc.child("axis"), "axis " + std::to_string(op.intAttr("axis")) + " is out of range for the input shape " + shapeStr(in(op)));
          return std::nullopt;
        }
        return in(op);
      case OpKind::BatchNorm:
      case OpKind::Relu:
      case OpKind::Sigmoid:
      case OpKind::Tanh:
      case OpKind::Step:
      case OpKind::LeakyRelu:
      case OpKind::Elu:
      case OpKind::Dropout:
      case OpKind::Preprocess: return in(op);
      case OpKind::Flatten: return Shape{numElements(in(op))};
      case OpKind::Reshape: return reshape(op);
      case OpKind::Add: return add(op);
      case OpKind::Concat: return concat(op);
    }
    return std::nullopt;
  }

  // The fused activation's own shape rule (softmax axis).
  bool checkActivation(const Op &op, const Shape &out) {
    const Attr &a = op.attr("activation");
    if (!a.hasActivation) return true;
    if ((a.act.kind == OpKind::Softmax || a.act.kind == OpKind::LogSoftmax) &&
        a.act.axis >= static_cast<int64_t>(out.size())) {
      d_.error(op.loc.child("activation"), "softmax axis " + std::to_string(a.act.axis) + " is out of range for the output shape " + shapeStr(out));
      return false;
    }
    return true;
  }

  std::optional<Shape> conv(Op &op, bool transposed) {
    if (!expectRank(op, 3)) return std::nullopt;
    const Shape &s = in(op);
    int64_t c = s[0], h = s[1], w = s[2];
    int64_t filters = op.intAttr("filters"), groups = op.intAttr("groups");
    const auto &k = op.intsAttr("kernel");
    const auto &st = op.intsAttr("stride");
    const auto &dil = op.intsAttr("dilation");
    bool ok = true;
    if (c % groups != 0) {
      d_.error(op.loc.child("groups"), "groups " + std::to_string(groups) + " does not divide the " + std::to_string(c) + " input channels");
      ok = false;
    }
    if (filters % groups != 0) {
      d_.error(op.loc.child("groups"), "groups " + std::to_string(groups) + " does not divide the " + std::to_string(filters) + " filters");
      ok = false;
    }
    Attr &pad = op.attrs["padding"];
    if (pad.same) {
      int64_t t, b, l, r;
      samePadding(h, k[0], st[0], dil[0], t, b);
      samePadding(w, k[1], st[1], dil[1], l, r);
      pad = Attr::makePadding(t, l, b, r);
    }
    const auto &p = pad.ints;  // t, l, b, r
    int64_t oh, ow;
    if (transposed) {
      const auto &op_ = op.intsAttr("output_padding");
      for (int a = 0; a < 2 && ok; ++a) {  // one report, for the first bad axis
        if (op_[a] >= st[a] && op_[a] >= dil[a]) {
          d_.error(op.loc.child("output_padding"),
                   "output_padding " + std::to_string(op_[a]) + " must be smaller than the stride (" +
                       std::to_string(st[a]) + ") or the dilation (" + std::to_string(dil[a]) + ")");
          ok = false;
        }
      }
      oh = convTransposeOutputSize(h, k[0], st[0], p[0], p[2], dil[0], op_[0]);
      ow = convTransposeOutputSize(w, k[1], st[1], p[1], p[3], dil[1], op_[1]);
      if (ok && (oh < 1 || ow < 1)) {
        d_.error(op.loc.child("padding"), "padding " + pad.str() + " leaves no output (" + hw(oh, ow) + ") for the input " + hw(h, w));
        ok = false;
      }
    } else {
      int64_t ekh = dil[0] * (k[0] - 1) + 1, ekw = dil[1] * (k[1] - 1) + 1;
      int64_t ph = h + p[0] + p[2], pw = w + p[1] + p[3];
      if (ekh > ph || ekw > pw) {
        std::string dilated = (dil[0] > 1 || dil[1] > 1) ? " (dilated to " + kernelStr(ekh, ekw) + ")" : "";
        d_.error(op.loc, "kernel " + kernelStr(k[0], k[1]) + dilated + " is larger than the padded input " + hw(ph, pw));
        ok = false;
      }
      oh = convOutputSize(h, k[0], st[0], p[0], p[2], dil[0]);
      ow = convOutputSize(w, k[1], st[1], p[1], p[3], dil[1]);
    }
    if (!ok) return std::nullopt;
    Shape out{filters, oh, ow};
    if (!checkActivation(op, out)) return std::nullopt;
    return out;
  }

  std::optional<Shape> pool(Op &op) {
    if (!expectRank(op, 3)) return std::nullopt;
    const Shape &s = in(op);
    const auto &k = op.intsAttr("size");
    const auto &st = op.intsAttr("stride");
    Attr &pad = op.attrs["padding"];
    if (pad.same) {
      int64_t t, b, l, r;
      samePadding(s[1], k[0], st[0], 1, t, b);
      samePadding(s[2], k[1], st[1], 1, l, r);
      pad = Attr::makePadding(t, l, b, r);
    }
    const auto &p = pad.ints;
    for (int side = 0; side < 4; ++side) {
      if (p[side] >= k[side % 2]) {
        d_.error(op.loc.child("padding"), "padding " + std::to_string(p[side]) + " must be smaller than the window size " +
                                              std::to_string(k[side % 2]));
        return std::nullopt;
      }
    }
    int64_t ph = s[1] + p[0] + p[2], pw = s[2] + p[1] + p[3];
    if (k[0] > ph || k[1] > pw) {
      d_.error(op.loc, "window " + kernelStr(k[0], k[1]) + " is larger than the padded input " + hw(ph, pw));
      return std::nullopt;
    }
    bool ceil = op.boolAttr("ceil_mode");
    return Shape{s[0], poolOutputSize(s[1], k[0], st[0], p[0], p[2], ceil), poolOutputSize(s[2], k[1], st[1], p[1], p[3], ceil)};
  }

  std::optional<Shape> reshape(const Op &op) {
    Shape target = op.intsAttr("shape");
    int64_t n = numElements(in(op)), known = 1;
    int inferred = -1;
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i] == -1) inferred = static_cast<int>(i);
      else known *= target[i];
    }
    if (target.size() != 1 && target.size() != 3) {
      d_.error(op.loc.child("shape"), "reshape target " + shapeStr(target) + " must be [F] or [C, H, W]");
      return std::nullopt;
    }
    if (inferred >= 0 && known > 0 && n % known == 0) target[static_cast<size_t>(inferred)] = n / known;
    if (numElements(target) != n || (inferred >= 0 && target[static_cast<size_t>(inferred)] == -1)) {
      d_.error(op.loc.child("shape"), "cannot reshape " + shapeStr(in(op)) + " (" + std::to_string(n) +
                                          " elements) to " + shapeStr(op.intsAttr("shape")));
      return std::nullopt;
    }
    return target;
  }

  std::optional<Shape> add(const Op &op) {
    for (size_t k = 1; k < op.inputs.size(); ++k) {
      if (in(op, k) != in(op)) {
        d_.error(op.loc, "add needs inputs of one shape, but '" + inName(op) + "' is " + shapeStr(in(op)) + " and '" +
                             inName(op, k) + "' is " + shapeStr(in(op, k)));
        return std::nullopt;
      }
    }
    return in(op);
  }

  std::optional<Shape> concat(const Op &op) {
    size_t axis = static_cast<size_t>(op.intAttr("axis"));
    Shape out = in(op);
    if (axis >= out.size()) {
      d_.error(op.loc.child("axis"), "axis " + std::to_string(axis) + " is out of range for the input shape " + shapeStr(out));
      return std::nullopt;
    }
    for (size_t k = 1; k < op.inputs.size(); ++k) {
      const Shape &s = in(op, k);
      bool match = s.size() == out.size();
      for (size_t a = 0; match && a < s.size(); ++a) match = a == axis || s[a] == out[a];
      if (!match) {
        d_.error(op.loc, "concat on axis " + std::to_string(axis) + " needs inputs equal on every other axis, but '" +
                             inName(op) + "' is " + shapeStr(in(op)) + " and '" + inName(op, k) + "' is " + shapeStr(s));
        return std::nullopt;
      }
      out[axis] += s[axis];
    }
    return out;
  }

  void addParam(int opIndex, ParamRole role, Shape shape, InitSpec init, bool trainable, bool regularized,
                int64_t fanIn, int64_t fanOut) {
    Op &op = g_.ops[static_cast<size_t>(opIndex)];
    if (numElements(shape) > kMaxParamElements) {
      d_.error(op.loc, "parameter '" + op.name + "." + paramRoleSuffix(role) + "' " + shapeStr(shape) + " needs " +
                           f32Bytes(numElements(shape)) +
                           " bytes, more than nncc's limit of 2^31 float32 elements (8 GiB)");
      return;
    }
    Param p;
    p.name = op.name + "." + paramRoleSuffix(role);
    p.shape = std::move(shape);
    p.role = role;
    p.trainable = trainable;
    p.regularized = regularized;
    p.init = init;
    p.fanIn = fanIn;
    p.fanOut = fanOut;
    p.op = opIndex;
    op.params.push_back(static_cast<int>(g_.params.size()));
    g_.params.push_back(p);
  }

  void createParams(int opIndex) {
    Op &op = g_.ops[static_cast<size_t>(opIndex)];
    const Shape &s = in(op);
    InitSpec wInit = op.weightInit.value_or(g_.defaultWeightInit);
    InitSpec bInit = op.biasInit.value_or(g_.defaultBiasInit);
    bool reg = op.regularize;
    switch (op.kind) {
      case OpKind::Dense: {
        int64_t units = op.intAttr("units"), f = s[0];
        addParam(opIndex, ParamRole::Weight, {units, f}, wInit, true, reg, f, units);
        if (op.boolAttr("use_bias")) addParam(opIndex, ParamRole::Bias, {units}, bInit, true, false, f, units);
        break;
      }
      case OpKind::Conv2D:
      case OpKind::Conv2DTranspose: {
        int64_t c = s[0], f = op.intAttr("filters"), groups = op.intAttr("groups");
        const auto &k = op.intsAttr("kernel");
        int64_t area = k[0] * k[1];
        // PyTorch's fans: from dim 1 (fan_in) and dim 0 (fan_out) of the weight times the receptive field.
        Shape w = op.kind == OpKind::Conv2D ? Shape{f, c / groups, k[0], k[1]} : Shape{c, f / groups, k[0], k[1]};
        int64_t fanIn = w[1] * area, fanOut = w[0] * area;
        addParam(opIndex, ParamRole::Weight, w, wInit, true, reg, fanIn, fanOut);
        if (op.boolAttr("use_bias")) addParam(opIndex, ParamRole::Bias, {f}, bInit, true, false, fanIn, fanOut);
        break;
      }
      case OpKind::BatchNorm: {
        int64_t c = s[0];
        InitSpec ones{InitKind::Ones}, zeros{InitKind::Zeros};
        addParam(opIndex, ParamRole::BNWeight, {c}, ones, true, false, c, c);
        addParam(opIndex, ParamRole::BNBias, {c}, zeros, true, false, c, c);
        addParam(opIndex, ParamRole::RunningMean, {c}, zeros, false, false, c, c);
        addParam(opIndex, ParamRole::RunningVar, {c}, ones, false, false, c, c);
        break;
      }
      default: break;
    }
  }

  Graph &g_;
  Diagnostics &d_;
};

}  // namespace

bool inferShapes(Graph &g, Diagnostics &diags) {
  g.params.clear();
  for (auto &op : g.ops) op.params.clear();
  return ShapeInferrer(g, diags).run();
}

}  // namespace nncc
