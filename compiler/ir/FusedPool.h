// The pooling that ends a conv2d's fused epilogue (Op::fused.pool, set by the
// fuse-pool pass) as an op of its own, for the stages that run it after the
// convolution (the reference interpreter, lowering), and as text (the IR
// printer, kernel keys).
#pragma once
#include "compiler/ir/Graph.h"

#include <string>

namespace nncc {

// A maxpool2d/avgpool2d op with the fused pool's kind and attributes, the
// conv's name, location and output value. Requires op.fused.pool.
Op fusedPoolOp(const Op &op);

// " +maxpool2d(size=[2, 2], stride=[2, 2], padding=[0, 0, 0, 0])", or ""
// when the op has no fused pool.
std::string fusedPoolStr(const Op &op);

}  // namespace nncc
