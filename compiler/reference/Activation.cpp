// Reference kernels of the activation family: relu, sigmoid, tanh, step,
// leaky_relu, elu (element-wise) and softmax, log_softmax (along an axis),
// shared by the activation layers and the fused `activation` attribute.
#include "compiler/reference/Activation.h"
#include "compiler/reference/Indexing.h"
#include "compiler/reference/Kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nncc {
namespace reference {

double activateElement(OpKind kind, double alpha, double x) {
  switch (kind) {
    case OpKind::Relu: return x > 0 ? x : 0.0;
    case OpKind::Sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case OpKind::Tanh: return std::tanh(x);
    case OpKind::Step: return x > 0 ? 1.0 : 0.0;
    case OpKind::LeakyRelu: return x > 0 ? x : alpha * x;
    case OpKind::Elu: return x > 0 ? x : alpha * std::expm1(x);
    default: return x;
  }
}

namespace {

// softmax / log_softmax of every line along `axis`, with the maximum
// subtracted first so that large inputs do not overflow.
bool softmaxAlong(TensorF32 &t, int64_t axis, bool log, std::string &error) {
  if (axis < 0 || axis + 1 >= static_cast<int64_t>(t.shape.size())) {
    error = "softmax axis " + std::to_string(axis) + " is out of range for the shape " + shapeStr(sampleShape(t));
    return false;
  }
  AxisSplit s = splitAtAxis(t, static_cast<size_t>(axis));
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t k = 0; k < s.inner; ++k) {
      double maxv = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < s.len; ++i) maxv = std::max(maxv, double(t.data[s.at(o, i, k)]));
      double sum = 0.0;
      for (int64_t i = 0; i < s.len; ++i) sum += std::exp(double(t.data[s.at(o, i, k)]) - maxv);
      for (int64_t i = 0; i < s.len; ++i) {
        double shifted = double(t.data[s.at(o, i, k)]) - maxv;
        double y = log ? shifted - std::log(sum) : std::exp(shifted) / sum;
        t.data[s.at(o, i, k)] = static_cast<float>(y);
      }
    }
  }
  return true;
}

}  // namespace

bool applyActivation(const Activation &act, TensorF32 &t, std::string &error) {
  switch (act.kind) {
    case OpKind::Softmax: return softmaxAlong(t, act.axis, false, error);
    case OpKind::LogSoftmax: return softmaxAlong(t, act.axis, true, error);
    case OpKind::Relu:
    case OpKind::Sigmoid:
    case OpKind::Tanh:
    case OpKind::Step:
    case OpKind::LeakyRelu:
    case OpKind::Elu:
      for (float &x : t.data) x = static_cast<float>(activateElement(act.kind, act.alpha, x));
      return true;
    default:
      error = std::string("'") + opName(act.kind) + "' is not an activation";
      return false;
  }
}

bool applyFusedActivation(const Op &op, TensorF32 &out, std::string &error) {
  const Attr &a = op.attr("activation");
  if (!a.hasActivation) return true;
  return applyActivation(a.act, out, error);
}

// An activation layer: the layer's own attributes make the Activation.
bool runActivation(const KernelArgs &a, std::string &error) {
  Activation act;
  act.kind = a.op.kind;
  if (a.op.attrs.count("alpha")) act.alpha = a.op.floatAttr("alpha");
  if (a.op.attrs.count("axis")) act.axis = a.op.intAttr("axis");
  if (a.in().shape != a.out.shape) {
    error = "input shape " + shapeStr(a.in().shape) + " differs from the output shape " + shapeStr(a.out.shape);
    return false;
  }
  a.out.data = a.in().data;
  return applyActivation(act, a.out, error);
}

}  // namespace reference
}  // namespace nncc
