// A rough cost model of the ops: the work of one op per sample, about its
// floating-point operations (2 per multiply-add of conv2d, conv2d_transpose
// and dense; a few per output element, or per window element of a pool, for
// the others). The model runtime runs a step whose work times the batch is
// small on one thread (runtime/model, nncc_step.work).
#pragma once
#include "compiler/ir/Graph.h"

namespace nncc {

int64_t estimateOpWork(const Graph &g, const Op &op);

}  // namespace nncc
