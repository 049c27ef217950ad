// fold-preprocess: a model's `preprocess` normalization, (x - mean[c]) /
// std[c], whose only reader is a dense, conv2d or conv2d_transpose becomes
// that op's prologue (Op::fused.preprocess): the op normalizes its input as
// it reads it (for a convolution, in the copy that pads the input anyway), so
// the normalized image never goes through memory. Exact, padding included:
// the zero padding is applied to the normalized input, as in the unfused
// graph (folding into the weights would need a per-channel pad value
// instead). Inference only.
#include "compiler/passes/GraphRewrite.h"
#include "compiler/passes/Pass.h"

namespace nncc {
namespace {

class FoldPreprocess : public Pass {
 public:
  const char *name() const override { return "fold-preprocess"; }

  bool run(Graph &g, Diagnostics &) override {
    std::vector<int> reader(g.values.size(), -1);
    for (size_t i = 0; i < g.ops.size(); ++i)
      for (int in : g.ops[i].inputs) reader[static_cast<size_t>(in)] = static_cast<int>(i);
    std::vector<bool> erase(g.ops.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const Op &pre = g.ops[i];
      if (pre.kind != OpKind::Preprocess || countUses(g, pre.output) != 1) continue;
      int r = reader[static_cast<size_t>(pre.output)];
      if (r < 0) continue;
      Op &consumer = g.ops[static_cast<size_t>(r)];
      if (!hasEpilogue(consumer.kind) || consumer.fused.preprocess || consumer.inputs.empty() ||
          consumer.inputs[0] != pre.output)
        continue;
      consumer.fused.preprocess = true;
      consumer.fused.preprocessMean = pre.attr("mean").floats;
      consumer.fused.preprocessStd = pre.attr("std").floats;
      consumer.inputs[0] = pre.inputs[0];
      erase[i] = changed = true;
    }
    if (changed) eraseOps(g, erase);
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> createFoldPreprocessPass() { return std::make_unique<FoldPreprocess>(); }

}  // namespace nncc
