// fuse-activation: an activation layer that is the only reader of a dense,
// conv2d or conv2d_transpose without an activation of its own becomes that
// op's fused `activation`, applied in its epilogue with no extra pass over
// memory. The fused value takes the activation's name, which readers and the
// API know it by.
#include "compiler/passes/GraphRewrite.h"
#include "compiler/passes/Pass.h"

namespace nncc {
namespace {

class FuseActivation : public Pass {
 public:
  const char *name() const override { return "fuse-activation"; }

  bool run(Graph &g, Diagnostics &) override {
    std::vector<bool> erase(g.ops.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const Op &act = g.ops[i];
      if (!opInfo(act.kind).isActivation) continue;
      int producerIdx = g.value(act.inputs[0]).producer;
      if (producerIdx < 0) continue;
      Op &producer = g.ops[static_cast<size_t>(producerIdx)];
      if (!hasEpilogue(producer.kind) || producer.attr("activation").hasActivation) continue;
      if (countUses(g, producer.output) != 1) continue;  // its pre-activation value is needed elsewhere
      Attr fused;
      fused.type = AttrType::Activation;
      fused.hasActivation = true;
      fused.act.kind = act.kind;
      if (act.attrs.count("alpha")) fused.act.alpha = act.floatAttr("alpha");
      if (act.attrs.count("axis")) fused.act.axis = act.intAttr("axis");
      producer.attrs["activation"] = fused;
      // The producer's value now holds the activation's result, under its name.
      g.value(producer.output).name = g.value(act.output).name;
      replaceAllUses(g, act.output, producer.output);
      erase[i] = changed = true;
    }
    if (changed) eraseOps(g, erase);
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> createFuseActivationPass() { return std::make_unique<FuseActivation>(); }

}  // namespace nncc
