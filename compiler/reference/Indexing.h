// Indexing helpers shared by the reference kernels: row-major [N, C, H, W]
// offsets, bounds tests for padded windows, and the split of a tensor around
// one axis (softmax, batchnorm, concat, preprocess).
#pragma once
#include "compiler/ir/Graph.h"
#include "compiler/weights/Tensor.h"

#include <cstdint>

namespace nncc {
namespace reference {

// The per-sample shape of a batched tensor [N, ...].
inline Shape sampleShape(const TensorF32 &t) { return Shape(t.shape.begin() + 1, t.shape.end()); }

// A batched image tensor [N, C, H, W]: the row-major offset of an element and
// whether a (possibly padded, hence out-of-range) position lies inside it.
struct Image {
  int64_t n = 0, c = 0, h = 0, w = 0;

  static Image of(const TensorF32 &t) { return {t.shape[0], t.shape[1], t.shape[2], t.shape[3]}; }
  int64_t at(int64_t in, int64_t ic, int64_t y, int64_t x) const { return ((in * c + ic) * h + y) * w + x; }
  bool inside(int64_t y, int64_t x) const { return y >= 0 && y < h && x >= 0 && x < w; }
};

// A batched tensor seen as [outer, len, inner] around one axis of its
// per-sample shape: outer = N * (product of the axes before), len = that
// axis, inner = product of the axes after. Element (o, i, k) is at
// (o * len + i) * inner + k.
struct AxisSplit {
  int64_t outer = 1, len = 1, inner = 1;
  int64_t at(int64_t o, int64_t i, int64_t k) const { return (o * len + i) * inner + k; }
};

inline AxisSplit splitAtAxis(const TensorF32 &t, size_t sampleAxis) {
  AxisSplit s;
  size_t axis = sampleAxis + 1;  // skip the batch
  for (size_t d = 0; d < t.shape.size(); ++d) {
    if (d < axis) s.outer *= t.shape[d];
    else if (d == axis) s.len = t.shape[d];
    else s.inner *= t.shape[d];
  }
  return s;
}

}  // namespace reference
}  // namespace nncc
