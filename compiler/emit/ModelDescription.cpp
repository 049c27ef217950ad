// The model description (see ModelDescription.h): kernels deduplicated by
// key, then the forward program, one step per op on the refs of its inputs,
// its parameters and its output, and the output copies of the memory plan.
#include "compiler/emit/ModelDescription.h"

#include <map>
#include <stdexcept>

namespace nncc {

ModelDescription describeModel(const Graph &g, const MemoryPlan &plan, const std::vector<std::string> &opKeys) {
  ModelDescription d;
  d.arenaFloats = plan.arenaFloats;
  std::map<std::string, int> byKey;
  auto valueRef = [&](int v) {
    const ValueSlot &s = plan.slots[static_cast<size_t>(v)];
    RefDesc r;
    switch (s.kind) {
      case ValueSlot::Input: r.kind = RefDesc::Input; break;
      case ValueSlot::Output: r.kind = RefDesc::Output; break;
      case ValueSlot::Arena: r.kind = RefDesc::Arena; break;
      case ValueSlot::None: throw std::logic_error("value " + g.value(v).name + " has no place in the memory plan");
    }
    r.index = s.index;
    r.offset = s.offset;
    r.dims = g.value(v).shape;
    d.refs.push_back(r);
  };
  auto step = [&](int kernel, size_t first) {
    d.forward.push_back({kernel, static_cast<int>(first), static_cast<int>(d.refs.size() - first)});
  };
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op &op = g.ops[i];
    auto it = byKey.find(opKeys.at(i));
    if (it == byKey.end()) {
      it = byKey.emplace(opKeys[i], static_cast<int>(d.kernelKeys.size())).first;
      d.kernelKeys.push_back(opKeys[i]);
      d.kernelOp.push_back(static_cast<int>(i));
    }
    size_t first = d.refs.size();
    for (int in : op.inputs) valueRef(in);
    for (int p : op.params) {
      RefDesc r;
      r.kind = RefDesc::Param;
      r.index = p;
      r.dims = g.params[static_cast<size_t>(p)].shape;
      r.batched = false;
      d.refs.push_back(r);
    }
    valueRef(op.output);
    step(it->second, first);
  }
  for (const OutputCopy &c : plan.copies) {
    size_t first = d.refs.size();
    valueRef(c.value);
    RefDesc out;
    out.kind = RefDesc::Output;
    out.index = c.output;
    out.dims = g.value(g.outputs[static_cast<size_t>(c.output)]).shape;
    d.refs.push_back(out);
    step(-1, first);
  }
  return d;
}

}  // namespace nncc
