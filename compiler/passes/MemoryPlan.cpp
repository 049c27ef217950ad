// The memory plan (see MemoryPlan.h): liveness over the topological order of
// the ops, then first-fit placement of every arena value, largest lifetimes
// placed in program order.
#include "compiler/passes/MemoryPlan.h"

#include <algorithm>
#include <sstream>

namespace nncc {
namespace {

int64_t alignUp(int64_t n, int64_t a) { return (n + a - 1) / a * a; }

struct Placed {
  int64_t offset, size;
  size_t lastUse;
};

}  // namespace

MemoryPlan planMemory(const Graph &g) {
  MemoryPlan p;
  p.slots.assign(g.values.size(), ValueSlot());
  for (const Param &prm : g.params) p.weightFloats += numElements(prm.shape);

  for (size_t k = 0; k < g.inputs.size(); ++k) {
    ValueSlot &s = p.slots[static_cast<size_t>(g.inputs[k])];
    s.kind = ValueSlot::Input;
    s.index = static_cast<int>(k);
  }
  for (size_t k = 0; k < g.outputs.size(); ++k) {
    int v = g.outputs[k];
    ValueSlot &s = p.slots[static_cast<size_t>(v)];
    if (s.kind == ValueSlot::None) {
      s.kind = ValueSlot::Output;
      s.index = static_cast<int>(k);
    } else {
      p.copies.push_back({static_cast<int>(k), v});  // an input, or an output listed again
    }
  }

  // The last op that reads each value (its own producer if none does).
  std::vector<size_t> lastUse(g.values.size(), 0);
  for (size_t i = 0; i < g.ops.size(); ++i) {
    lastUse[static_cast<size_t>(g.ops[i].output)] = std::max(lastUse[static_cast<size_t>(g.ops[i].output)], i);
    for (int in : g.ops[i].inputs) lastUse[static_cast<size_t>(in)] = i;
  }

  std::vector<Placed> live;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    // Values whose last reader ran before op i give their space back. The
    // inputs of op i stay live while it writes its output.
    live.erase(std::remove_if(live.begin(), live.end(), [&](const Placed &q) { return q.lastUse < i; }), live.end());
    int v = g.ops[i].output;
    ValueSlot &s = p.slots[static_cast<size_t>(v)];
    if (s.kind != ValueSlot::None) continue;
    int64_t size = alignUp(numElements(g.value(v).shape) * g.maxBatch, MemoryPlan::kArenaAlignFloats);
    p.naiveFloats += size;
    std::sort(live.begin(), live.end(), [](const Placed &a, const Placed &b) { return a.offset < b.offset; });
    int64_t offset = 0;
    for (const Placed &q : live) {
      if (q.offset - offset >= size) break;
      offset = std::max(offset, q.offset + q.size);
    }
    s.kind = ValueSlot::Arena;
    s.offset = offset;
    live.push_back({offset, size, lastUse[static_cast<size_t>(v)]});
    p.arenaFloats = std::max(p.arenaFloats, offset + size);
  }
  return p;
}

std::string printMemoryPlan(const Graph &g, const MemoryPlan &p) {
  std::ostringstream os;
  os << "plan " << g.name << ": arena " << p.arenaBytes() << " bytes at max_batch " << g.maxBatch << " (without reuse "
     << p.naiveFloats * 4 << "), weights " << p.weightBytes() << " bytes\n";
  for (const Value &v : g.values) {
    const ValueSlot &s = p.slots[static_cast<size_t>(v.id)];
    os << "  " << v.name << " " << shapeStr(v.shape) << ": ";
    switch (s.kind) {
      case ValueSlot::Input: os << "input " << s.index; break;
      case ValueSlot::Output: os << "output " << s.index; break;
      case ValueSlot::Arena:
        os << "arena [" << s.offset * 4 << ", " << (s.offset + numElements(v.shape) * g.maxBatch) * 4 << ")";
        break;
      case ValueSlot::None: os << "unused"; break;
    }
    os << "\n";
  }
  for (const OutputCopy &c : p.copies)
    os << "  output " << c.output << " (" << g.value(g.outputs[static_cast<size_t>(c.output)]).name << "): copy of "
       << g.value(c.value).name << "\n";
  return os.str();
}

}  // namespace nncc
