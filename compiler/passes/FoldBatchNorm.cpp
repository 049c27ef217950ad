// fold-batchnorm: an inference-mode batchnorm that is the only reader of a
// dense, conv2d or conv2d_transpose (with nothing fused after it yet) moves
// into that op's epilogue: the op's result is normalized per channel with the
// running statistics before anything else reads it, so the batchnorm costs
// no pass over memory of its own. The batchnorm's four parameters stay where
// they are in the parameter list (and in weights files) and now belong to
// the op; the fused value takes the batchnorm's name. The weights are not
// rewritten: they remain the instance's own, loadable and trainable.
// Inference only (training normalizes with batch statistics).
#include "compiler/passes/GraphRewrite.h"
#include "compiler/passes/Pass.h"

namespace nncc {
namespace {

class FoldBatchNorm : public Pass {
 public:
  const char *name() const override { return "fold-batchnorm"; }

  bool run(Graph &g, Diagnostics &) override {
    std::vector<bool> erase(g.ops.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      Op &bn = g.ops[i];
      if (bn.kind != OpKind::BatchNorm) continue;
      int producerIdx = g.value(bn.inputs[0]).producer;
      if (producerIdx < 0) continue;
      Op &producer = g.ops[static_cast<size_t>(producerIdx)];
      if (!hasEpilogue(producer.kind) || producer.attr("activation").hasActivation || producer.fused.batchnorm ||
          producer.fused.residual || countUses(g, producer.output) != 1)
        continue;
      producer.fused.batchnorm = true;
      producer.fused.batchnormEpsilon = bn.floatAttr("epsilon");
      for (int p : bn.params) {
        producer.params.push_back(p);
        g.params[static_cast<size_t>(p)].op = producerIdx;
      }
      bn.params.clear();
      g.value(producer.output).name = g.value(bn.output).name;
      replaceAllUses(g, bn.output, producer.output);
      erase[i] = changed = true;
    }
    if (changed) eraseOps(g, erase);
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> createFoldBatchNormPass() { return std::make_unique<FoldBatchNorm>(); }

}  // namespace nncc
