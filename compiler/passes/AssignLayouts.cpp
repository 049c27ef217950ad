// assign-layouts: chooses how each value between kernels is stored
// (Value::layout). A feature map whose channels fill whole vectors (C a
// multiple of 16, the widest f32 vector) and that flows between
// convolutions, pools and element-wise ops is stored channels-last
// ([H, W, C]): the channels-innermost convolution then reads its input and
// writes its output with whole vectors instead of gathering and scattering
// across planes. Graph inputs and outputs keep the API's planar layout, so
// the conversions happen inside the first and last kernels that touch them.
// Layouts are storage only: every op keeps its logical [C, H, W] meaning, and
// the reference interpreter ignores them. Inference only (the pipeline does
// not run it with training).
#include "compiler/passes/GraphRewrite.h"
#include "compiler/passes/Pass.h"

namespace nncc {
namespace {

constexpr int64_t kChannelVector = 16;

// Ops that read and write a [C, H, W] value in either layout at full speed.
bool layoutFriendly(const Op &op) {
  switch (op.kind) {
    case OpKind::Conv2D:
      return op.intAttr("groups") == 1;
    case OpKind::MaxPool2D:
    case OpKind::AvgPool2D:
    case OpKind::Add:
    case OpKind::Relu:
    case OpKind::LeakyRelu:
    case OpKind::Elu:
    case OpKind::Sigmoid:
    case OpKind::Tanh:
    case OpKind::BatchNorm:
    case OpKind::Dropout:
      return true;
    default:
      return false;
  }
}

// Ops that may also read a channels-last value (they reduce or reshape it,
// so a gather there is cheap next to what the producer saves).
bool readsAnyLayout(const Op &op) {
  return layoutFriendly(op) || op.kind == OpKind::GlobalAvgPool2D || op.kind == OpKind::GlobalMaxPool2D ||
         op.kind == OpKind::Flatten;
}

class AssignLayouts : public Pass {
 public:
  const char *name() const override { return "assign-layouts"; }

  bool run(Graph &g, Diagnostics &) override {
    std::vector<std::vector<int>> readers(g.values.size());
    for (size_t i = 0; i < g.ops.size(); ++i)
      for (int in : g.ops[i].inputs) readers[static_cast<size_t>(in)].push_back(static_cast<int>(i));
    std::vector<bool> boundary(g.values.size(), false);
    for (int v : g.inputs) boundary[static_cast<size_t>(v)] = true;
    for (int v : g.outputs) boundary[static_cast<size_t>(v)] = true;
    bool changed = false;
    for (const Op &op : g.ops) {
      Value &v = g.value(op.output);
      bool wanted = !boundary[static_cast<size_t>(v.id)] && v.shape.size() == 3 && v.shape[0] % kChannelVector == 0 &&
                    layoutFriendly(op) && !readers[static_cast<size_t>(v.id)].empty();
      for (int r : readers[static_cast<size_t>(v.id)]) wanted = wanted && readsAnyLayout(g.ops[static_cast<size_t>(r)]);
      Layout l = wanted ? Layout::ChannelsLast : Layout::Planar;
      changed |= v.layout != l;
      v.layout = l;
    }
    return changed;
  }
};

}  // namespace

std::unique_ptr<Pass> createAssignLayoutsPass() { return std::make_unique<AssignLayouts>(); }

}  // namespace nncc
