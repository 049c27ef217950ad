// fuse-residual-add: an add of two values, one of them the only use of a
// dense, conv2d or conv2d_transpose with no activation yet, moves into that
// op's epilogue: the op adds the other operand to its result as it writes it
// (ResNet's shortcut), so the add costs no pass over memory of its own. The
// op chosen is the later of the two producers in topological order, so the
// other operand is already computed when it runs; the fused value takes the
// add's name. Runs after fold-batchnorm and before fuse-activation, so
// conv -> batchnorm -> add -> relu becomes one op. Inference only.
#include "compiler/passes/GraphRewrite.h"
#include "compiler/passes/Pass.h"

namespace nncc {
namespace {

class FuseResidualAdd : public Pass {
 public:
  const char *name() const override { return "fuse-residual-add"; }

  bool run(Graph &g, Diagnostics &) override {
    std::vector<bool> erase(g.ops.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const Op &add = g.ops[i];
      if (add.kind != OpKind::Add || add.inputs.size() != 2 || add.inputs[0] == add.inputs[1]) continue;
      // The candidate producers, the later one first.
      int best = -1, other = -1;
      for (int k = 0; k < 2; ++k) {
        int producerIdx = g.value(add.inputs[static_cast<size_t>(k)]).producer;
        if (producerIdx < 0 || erase[static_cast<size_t>(producerIdx)]) continue;
        const Op &producer = g.ops[static_cast<size_t>(producerIdx)];
        if (!hasEpilogue(producer.kind) || producer.attr("activation").hasActivation || producer.fused.residual ||
            countUses(g, producer.output) != 1)
          continue;
        if (best < 0 || producerIdx > best) {
          best = producerIdx;
          other = add.inputs[static_cast<size_t>(1 - k)];
        }
      }
      // The other operand must be computed before the op that now reads it.
      if (best < 0 || g.value(other).producer > best) continue;
      Op &producer = g.ops[static_cast<size_t>(best)];
      producer.fused.residual = true;
      producer.inputs.push_back(other);
      g.value(producer.output).name = g.value(add.output).name;
      replaceAllUses(g, add.output, producer.output);
      erase[i] = changed = true;
    }
    if (changed) eraseOps(g, erase);
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> createFuseResidualAddPass() { return std::make_unique<FuseResidualAdd>(); }

}  // namespace nncc
