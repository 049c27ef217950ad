// The per-op work estimate (see OpCost.h).
#include "compiler/ir/OpCost.h"

namespace nncc {

int64_t estimateOpWork(const Graph &g, const Op &op) {
  const Shape &out = g.value(op.output).shape;
  const int64_t outElems = numElements(out);
  auto inShape = [&](size_t k) -> const Shape & { return g.value(op.inputs.at(k)).shape; };
  switch (op.kind) {
    case OpKind::Dense:
      return 2 * numElements(inShape(0)) * outElems;
    case OpKind::Conv2D:
    case OpKind::Conv2DTranspose: {
      const auto &k = op.intsAttr("kernel");
      const int64_t groups = op.intAttr("groups");
      const int64_t cin = inShape(0).at(0);
      // A fused pool (fuse-pool) pools the convolution's result, which is the larger.
      const int64_t convElems = op.fused.pool ? numElements(op.fused.poolInput) : outElems;
      return 2 * convElems * (cin / (groups > 0 ? groups : 1)) * k.at(0) * k.at(1);
    }
    case OpKind::MaxPool2D:
    case OpKind::AvgPool2D: {
      const auto &k = op.intsAttr("size");
      return outElems * k.at(0) * k.at(1);
    }
    case OpKind::GlobalAvgPool2D:
    case OpKind::GlobalMaxPool2D:
      return numElements(inShape(0));
    default:
      return 4 * outElems;  // element-wise, normalization, copies
  }
}

}  // namespace nncc
