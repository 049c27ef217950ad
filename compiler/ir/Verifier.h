// The IR verifier: structural invariants every pass must keep (value ids in
// range, ops in topological order, every shape known, attributes complete and
// of the schema's types, parameters consistent with their ops). A failure is
// an internal error of the compiler, reported at the op's location.
#pragma once
#include "compiler/ir/Diagnostics.h"
#include "compiler/ir/Graph.h"

namespace nncc {

bool verifyGraph(const Graph &g, Diagnostics &diags);

}  // namespace nncc
