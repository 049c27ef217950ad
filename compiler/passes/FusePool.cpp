// fuse-pool: a maxpool2d or avgpool2d that is the only reader of a conv2d
// becomes that conv's fused pooling, the last step of its epilogue (after the
// activation): the convolution's result is then pooled as its rows are
// computed (compiler/lower/FusedPool.cpp) instead of being written to memory
// whole and read back by a kernel of its own. The fused value takes the
// pool's name and shape; `fused.poolInput` keeps the shape of the result it
// pools. Runs after fuse-activation (conv -> relu -> pool becomes one op) and
// before assign-layouts. Inference only.
#include "compiler/passes/GraphRewrite.h"
#include "compiler/passes/Pass.h"

namespace nncc {
namespace {

class FusePool : public Pass {
 public:
  const char *name() const override { return "fuse-pool"; }

  bool run(Graph &g, Diagnostics &) override {
    std::vector<bool> erase(g.ops.size(), false);
    bool changed = false;
    for (size_t i = 0; i < g.ops.size(); ++i) {
      const Op &pool = g.ops[i];
      if (pool.kind != OpKind::MaxPool2D && pool.kind != OpKind::AvgPool2D) continue;
      int producerIdx = g.value(pool.inputs[0]).producer;
      if (producerIdx < 0 || erase[static_cast<size_t>(producerIdx)]) continue;
      Op &conv = g.ops[static_cast<size_t>(producerIdx)];
      if (conv.kind != OpKind::Conv2D || conv.fused.pool) continue;
      if (countUses(g, conv.output) != 1) continue;  // the unpooled result is needed elsewhere
      Value &v = g.value(conv.output);
      conv.fused.pool = true;
      conv.fused.poolKind = pool.kind;
      conv.fused.poolAttrs = pool.attrs;
      conv.fused.poolInput = v.shape;
      v.name = g.value(pool.output).name;
      v.shape = g.value(pool.output).shape;
      replaceAllUses(g, pool.output, conv.output);
      erase[i] = changed = true;
    }
    if (changed) eraseOps(g, erase);
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> createFusePoolPass() { return std::make_unique<FusePool>(); }

}  // namespace nncc
