// pad-borders: gives a channels-last value a zero border (Value::border) as
// wide as the largest zero padding of the convolutions that read it, so that
// they read their padding in place: without it the channels-innermost
// convolution copies its whole input into a zero-padded buffer first (one
// pass over memory per layer, 3-5% of ResNet-18 and VGG). The producer
// writes the interior, the model runtime zeroes the border before it runs
// (docs/runtime.md), and every reader sees the value with its border
// around it. Runs after assign-layouts (channels-last values are never
// graph inputs or outputs); inference only.
#include "compiler/passes/Pass.h"

#include <algorithm>

namespace nncc {
namespace {

// Wider paddings (a rare 9 x 9 "same" conv) keep their copy: the border
// costs memory on every side of every plane.
constexpr int kMaxBorder = 3;

class PadBorders : public Pass {
 public:
  const char *name() const override { return "pad-borders"; }

  bool run(Graph &g, Diagnostics &) override {
    std::vector<int> border(g.values.size(), 0);
    for (const Op &op : g.ops) {
      if (op.kind != OpKind::Conv2D || op.inputs.empty()) continue;
      const Value &in = g.value(op.inputs[0]);
      if (in.layout != Layout::ChannelsLast) continue;
      int widest = 0;
      for (int64_t p : op.intsAttr("padding")) widest = std::max(widest, static_cast<int>(p));
      int &b = border[static_cast<size_t>(in.id)];
      if (widest <= kMaxBorder) b = std::max(b, widest);
    }
    bool changed = false;
    for (Value &v : g.values) {
      int b = v.layout == Layout::ChannelsLast ? border[static_cast<size_t>(v.id)] : 0;
      changed |= v.border != b;
      v.border = b;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> createPadBordersPass() { return std::make_unique<PadBorders>(); }

}  // namespace nncc
