// Shape inference: fills every value's per-sample shape, resolves "same"
// padding to explicit [t, l, b, r], and creates each op's parameters with
// their shapes, fans and initializers. Reports every shape error found, at the
// op's location; ops downstream of a bad one are skipped, not reported.
#pragma once
#include "compiler/ir/Diagnostics.h"
#include "compiler/ir/Graph.h"

namespace nncc {

bool inferShapes(Graph &g, Diagnostics &diags);

// The spec's output-size formulas, shared by shape inference, the reference
// interpreter and (later) lowering.
// conv: floor((in + pb + pe - dilation*(k-1) - 1) / stride) + 1
int64_t convOutputSize(int64_t in, int64_t k, int64_t stride, int64_t padBegin, int64_t padEnd, int64_t dilation);
// transposed conv: (in-1)*stride - pb - pe + dilation*(k-1) + output_padding + 1
int64_t convTransposeOutputSize(int64_t in, int64_t k, int64_t stride, int64_t padBegin, int64_t padEnd,
                                int64_t dilation, int64_t outputPadding);
// pooling, with PyTorch's ceil_mode rule (the last window must start inside
// the input or the left padding).
int64_t poolOutputSize(int64_t in, int64_t k, int64_t stride, int64_t padBegin, int64_t padEnd, bool ceilMode);
// "same": the total padding for output ceil(in / stride), split with the odd
// one at the end (ONNX SAME_UPPER).
void samePadding(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t &padBegin, int64_t &padEnd);

}  // namespace nncc
