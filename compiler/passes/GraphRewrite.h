// Small rewriting helpers shared by the passes: redirecting the uses of a
// value, counting uses, and erasing ops (with their values and parameters)
// while keeping every id dense and the order topological.
#pragma once
#include "compiler/ir/Graph.h"

#include <vector>

namespace nncc {

// Makes every reader of `from` (ops, graph outputs, losses) read `to`.
void replaceAllUses(Graph &g, int from, int to);

// How many ops read `value`, plus one if it is a graph output or a loss's.
int countUses(const Graph &g, int value);
bool isGraphOutput(const Graph &g, int value);

// Removes the ops marked in `erase` (by index), their output values and their
// parameters; renumbers values, ops and parameters.
void eraseOps(Graph &g, const std::vector<bool> &erase);

// Whether ops of this kind have an epilogue that passes can fuse into
// (Op::fused, the `activation` attribute): dense and the convolutions.
inline bool hasEpilogue(OpKind k) {
  return k == OpKind::Dense || k == OpKind::Conv2D || k == OpKind::Conv2DTranspose;
}

}  // namespace nncc
