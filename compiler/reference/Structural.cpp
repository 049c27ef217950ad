// Reference kernels of the structural family: flatten, reshape and dropout
// (inference: the identity) copy the row-major elements; add sums 2+ inputs
// element-wise; concat joins inputs along an axis of the per-sample shape.
#include "compiler/ir/DropoutMask.h"
#include "compiler/reference/Indexing.h"
#include "compiler/reference/Kernels.h"

namespace nncc {
namespace reference {

bool runCopy(const KernelArgs &a, std::string &error) {
  if (a.in().data.size() != a.out.data.size()) {
    error = "cannot copy " + shapeStr(a.in().shape) + " to " + shapeStr(a.out.shape);
    return false;
  }
  a.out.data = a.in().data;
  return true;
}

bool runDropout(const KernelArgs &a, std::string &error) {
  if (!runCopy(a, error)) return false;
  if (!a.training) return true;
  double rate = a.op.floatAttr("rate"), scale = 1.0 / (1.0 - rate);
  uint32_t salt = dropoutSalt(a.op.name);
  for (size_t i = 0; i < a.out.data.size(); ++i)
    a.out.data[i] = dropoutKeeps(a.training->seed, a.training->step, salt, static_cast<uint32_t>(i), rate)
                        ? static_cast<float>(double(a.out.data[i]) * scale)
                        : 0.0f;
  return true;
}

bool runAdd(const KernelArgs &a, std::string &error) {
  for (const TensorF32 *t : a.inputs) {
    if (t->shape != a.out.shape) {
      error = "add input " + shapeStr(t->shape) + " differs from the output shape " + shapeStr(a.out.shape);
      return false;
    }
  }
  for (size_t i = 0; i < a.out.data.size(); ++i) {
    double sum = 0.0;
    for (const TensorF32 *t : a.inputs) sum += t->data[i];
    a.out.data[i] = static_cast<float>(sum);
  }
  return true;
}

// Along the axis, the inputs' slices follow one another: for every outer
// index, input 0's len0 * inner elements, then input 1's, and so on.
bool runConcat(const KernelArgs &a, std::string &error) {
  size_t axis = static_cast<size_t>(a.op.intAttr("axis"));
  if (axis + 1 >= a.out.shape.size()) {
    error = "concat axis " + std::to_string(axis) + " is out of range for " + shapeStr(sampleShape(a.out));
    return false;
  }
  AxisSplit out = splitAtAxis(a.out, axis);
  int64_t total = 0;
  for (const TensorF32 *t : a.inputs) {
    AxisSplit s = splitAtAxis(*t, axis);
    bool ok = t->shape.size() == a.out.shape.size() && s.outer == out.outer && s.inner == out.inner;
    if (!ok) {
      error = "concat input " + shapeStr(t->shape) + " does not fit the output " + shapeStr(a.out.shape);
      return false;
    }
    total += s.len;
  }
  if (total != out.len) {
    error = "concat inputs add up to " + std::to_string(total) + " along the axis, the output has " +
            std::to_string(out.len);
    return false;
  }
  for (int64_t o = 0; o < out.outer; ++o) {
    int64_t offset = 0;  // where this input's slice starts along the axis
    for (const TensorF32 *t : a.inputs) {
      AxisSplit s = splitAtAxis(*t, axis);
      for (int64_t i = 0; i < s.len; ++i)
        for (int64_t k = 0; k < s.inner; ++k) a.out.data[out.at(o, offset + i, k)] = t->data[s.at(o, i, k)];
      offset += s.len;
    }
  }
  return true;
}

}  // namespace reference
}  // namespace nncc
