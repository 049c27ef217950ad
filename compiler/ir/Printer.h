// The IR's stable text form (nncc --emit=ir): one line per input, parameter
// and op, shapes on every value (N is the symbolic batch), attributes in the
// op registry's order and normalized.
#pragma once
#include "compiler/ir/Graph.h"

#include <iosfwd>

namespace nncc {

void printGraph(const Graph &g, std::ostream &os);

}  // namespace nncc
