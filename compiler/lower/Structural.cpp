// Lowering of the structural family: dropout (inference: the identity, an
// inlined Func), flatten and reshape (row-major: the flat index of an output
// element, split again over the input's shape), add (element-wise sum of 2+
// inputs) and concat (along an axis of the per-sample shape: each input's
// slice follows the previous ones).
#include "compiler/lower/LowerOps.h"

namespace nncc {
namespace lower {
namespace {

using Halide::Expr;
using Halide::Func;

// Reshapes, sums and concatenations are pointwise copies.
void scheduleStructural(Func out, const Dims &d, const LowerOptions &opts) { schedulePointwise(out, d, opts); }

}  // namespace

Func lowerDropout(const OpArgs &a) {
  Dims d = a.outDims();
  Func out(a.name());
  out(d.vars) = a.in().f(d.exprs());  // inlined: no copy
  return out;
}

Func lowerReshape(const OpArgs &a) {
  const Shape &inShape = a.in().shape, &outShape = a.outShape;
  if (numElements(inShape) != numElements(outShape))
    throw LoweringError(a.op.name + ": cannot reshape " + shapeStr(inShape) + " to " + shapeStr(outShape));
  Dims d = dimsOf(outShape);
  // The row-major flat index of the output element (Halide dim 0 is the last axis).
  Expr flat = 0;
  int stride = 1;
  for (size_t k = 0; k < outShape.size(); ++k) {
    flat = flat + d.vars[k] * stride;
    stride *= d.extents[k];
  }
  // Its coordinates in the input; every one taken modulo its extent, which
  // keeps Halide's bounds of the input access exactly the input's shape.
  std::vector<Expr> at;
  stride = 1;
  for (size_t k = 0; k < inShape.size(); ++k) {
    int extent = static_cast<int>(inShape[inShape.size() - 1 - k]);
    at.push_back((stride == 1 ? flat : flat / stride) % extent);
    stride *= extent;
  }
  at.push_back(d.vars.back());  // the batch
  Func out(a.name());
  out(d.vars) = a.in().f(at);
  scheduleStructural(out, d, a.opts);
  return out;
}

Func lowerAdd(const OpArgs &a) {
  Dims d = a.outDims();
  Expr sum;
  for (const LValue *in : a.inputs) {
    if (in->shape != a.outShape)
      throw LoweringError(a.op.name + ": add input " + shapeStr(in->shape) + " differs from " + shapeStr(a.outShape));
    Expr v = in->f(d.exprs());
    sum = sum.defined() ? sum + v : v;
  }
  Func out(a.name());
  out(d.vars) = sum;
  scheduleStructural(out, d, a.opts);
  return out;
}

// Nested selects on the axis coordinate, each input's access clamped to its
// own extent so that no input is read outside its shape.
Func lowerConcat(const OpArgs &a) {
  size_t axis = static_cast<size_t>(a.op.intAttr("axis"));
  if (axis >= a.outShape.size()) throw LoweringError(a.op.name + ": concat axis out of range");
  Dims d = dimsOf(a.outShape);
  size_t k = halideDim(a.outShape.size(), axis);
  Halide::Var v = d.vars[k];
  std::vector<int> offsets;
  int offset = 0;
  for (const LValue *in : a.inputs) {
    offsets.push_back(offset);
    offset += static_cast<int>(in->shape[axis]);
  }
  if (offset != d.extents[k]) throw LoweringError(a.op.name + ": concat inputs do not add up to the output");
  Expr value;
  for (size_t j = a.inputs.size(); j-- > 0;) {
    const LValue &in = *a.inputs[j];
    int len = static_cast<int>(in.shape[axis]);
    std::vector<Expr> at = d.exprs();
    at[k] = Halide::clamp(v - offsets[j], 0, len - 1);
    Expr e = in.f(at);
    value = value.defined() ? Halide::select(v < offsets[j] + len, e, value) : e;
  }
  Func out(a.name());
  out(d.vars) = value;
  scheduleStructural(out, d, a.opts);
  return out;
}

}  // namespace lower
}  // namespace nncc
