// dead-value-elimination: removes every op whose value no graph output (or
// loss) depends on, with its parameters. One backward sweep over the
// topological order, no recursion.
#include "compiler/passes/GraphRewrite.h"
#include "compiler/passes/Pass.h"

namespace nncc {
namespace {

class DeadValueElimination : public Pass {
 public:
  const char *name() const override { return "dead-value-elimination"; }

  bool run(Graph &g, Diagnostics &) override {
    std::vector<bool> live(g.values.size(), false);
    for (size_t v = 0; v < g.values.size(); ++v) live[v] = isGraphOutput(g, static_cast<int>(v));
    std::vector<bool> erase(g.ops.size(), false);
    bool changed = false;
    for (size_t i = g.ops.size(); i-- > 0;) {
      const Op &op = g.ops[i];
      if (!live[static_cast<size_t>(op.output)]) {
        erase[i] = changed = true;
        continue;
      }
      for (int in : op.inputs) live[static_cast<size_t>(in)] = true;
    }
    if (changed) eraseOps(g, erase);
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> createDeadValueEliminationPass() { return std::make_unique<DeadValueElimination>(); }

}  // namespace nncc
