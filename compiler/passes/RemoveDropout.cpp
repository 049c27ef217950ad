// remove-dropout: dropout is the identity at inference, so its readers read
// its input instead. A dropout whose value is a graph output stays (its name
// is part of the generated API); the identity costs nothing once lowered.
#include "compiler/passes/GraphRewrite.h"
#include "compiler/passes/Pass.h"

namespace nncc {
namespace {

class RemoveDropout : public Pass {
 public:
  const char *name() const override { return "remove-dropout"; }

  bool run(Graph &g, Diagnostics &) override {
    std::vector<bool> erase(g.ops.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const Op &op = g.ops[i];
      if (op.kind != OpKind::Dropout || isGraphOutput(g, op.output)) continue;
      replaceAllUses(g, op.output, op.inputs[0]);
      erase[i] = changed = true;
    }
    if (changed) eraseOps(g, erase);
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> createRemoveDropoutPass() { return std::make_unique<RemoveDropout>(); }

}  // namespace nncc
