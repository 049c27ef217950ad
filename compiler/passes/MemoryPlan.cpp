// The memory plan (see MemoryPlan.h): liveness over the topological order of
// the ops, then first-fit placement of every arena value, largest lifetimes
// placed in program order.
#include "compiler/passes/MemoryPlan.h"

#include "compiler/passes/Autodiff.h"

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
  std::vector<int64_t> sizes;
  std::vector<size_t> first, last;
  std::vector<int> placed;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    int v = g.ops[i].output;
    if (p.slots[static_cast<size_t>(v)].kind != ValueSlot::None) continue;
    sizes.push_back(storedElements(g.value(v)) * g.maxBatch);
    first.push_back(i);
    last.push_back(lastUse[static_cast<size_t>(v)]);
    placed.push_back(v);
    p.naiveFloats += alignUp(sizes.back(), MemoryPlan::kArenaAlignFloats);
  }
  std::vector<int64_t> offsets = placeBuffers(sizes, first, last, p.arenaFloats);
  for (size_t k = 0; k < placed.size(); ++k) {
    ValueSlot &s = p.slots[static_cast<size_t>(placed[k])];
    s.kind = ValueSlot::Arena;
    s.offset = offsets[k];
  }
  return p;
}

std::vector<int64_t> placeBuffers(const std::vector<int64_t> &size, const std::vector<size_t> &first,
                                  const std::vector<size_t> &last, int64_t &arenaFloats) {
  std::vector<size_t> order(size.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return first[a] < first[b]; });
  std::vector<int64_t> offsets(size.size(), 0);
  std::vector<Placed> live;
  arenaFloats = 0;
  for (size_t k : order) {
    // Buffers whose last reader ran before this one is written give their
    // space back; the readers of the writing step stay live while it runs.
    live.erase(std::remove_if(live.begin(), live.end(), [&](const Placed &q) { return q.lastUse < first[k]; }),
               live.end());
    int64_t n = alignUp(size[k], MemoryPlan::kArenaAlignFloats);
    std::sort(live.begin(), live.end(), [](const Placed &a, const Placed &b) { return a.offset < b.offset; });
    int64_t offset = 0;
    for (const Placed &q : live) {
      if (q.offset - offset >= n) break;
      offset = std::max(offset, q.offset + q.size);
    }
    offsets[k] = offset;
    live.push_back({offset, n, last[k]});
    arenaFloats = std::max(arenaFloats, offset + n);
  }
  return offsets;
}

TrainingMemoryPlan planTrainingMemory(const Graph &g, const BackwardProgram &bp) {
  TrainingMemoryPlan p;
  const size_t nv = g.values.size(), ng = bp.grads.size(), F = g.ops.size();
  // Buffers 0..nv-1 are the values, nv.. the gradient buffers (roots only).
  std::vector<int64_t> sizes(nv + ng, 0);
  std::vector<size_t> first(nv + ng, 0), last(nv + ng, 0);
  std::vector<bool> used(nv + ng, false);
  auto root = [&](int b) { return bp.grads[static_cast<size_t>(b)].aliasOf >= 0 ? bp.grads[static_cast<size_t>(b)].aliasOf : b; };
  auto touch = [&](size_t buf, size_t t) {
    if (!used[buf]) {
      used[buf] = true;
      first[buf] = last[buf] = t;
    }
    first[buf] = std::min(first[buf], t);
    last[buf] = std::max(last[buf], t);
  };
  for (size_t i = 0; i < F; ++i) {
    const Op &op = g.ops[i];
    touch(static_cast<size_t>(op.output), i);
    sizes[static_cast<size_t>(op.output)] = storedElements(g.value(op.output)) * g.maxBatch;
    for (int in : op.inputs) touch(static_cast<size_t>(in), i);
  }
  for (size_t j = 0; j < bp.steps.size(); ++j) {
    const TrainStep &s = bp.steps[j];
    size_t t = F + j;
    if (s.kind == TrainStepKind::Loss) touch(static_cast<size_t>(g.training->losses[static_cast<size_t>(s.loss)].output), t);
    if (s.op >= 0) {
      const Op &op = g.ops[static_cast<size_t>(s.op)];
      for (int in : op.inputs) touch(static_cast<size_t>(in), t);
      touch(static_cast<size_t>(op.output), t);
    }
    for (int b : s.gradIns) touch(nv + static_cast<size_t>(root(b)), t);
    if (s.gradOut >= 0) touch(nv + static_cast<size_t>(root(s.gradOut)), t);
  }
  for (size_t b = 0; b < ng; ++b) sizes[nv + b] = numElements(bp.grads[b].shape) * g.maxBatch;
  // An alias's readers keep its root alive: alias buffers are read by the
  // steps that list them, already mapped to the root above.
  std::vector<int64_t> sz;
  std::vector<size_t> fi, la, ids;
  std::vector<bool> isInput(nv, false);
  for (int in : g.inputs) isInput[static_cast<size_t>(in)] = true;
  for (size_t k = 0; k < nv + ng; ++k) {
    if (!used[k] || (k < nv && isInput[k]) || (k >= nv && bp.grads[k - nv].aliasOf >= 0)) continue;
    sz.push_back(sizes[k]);
    fi.push_back(first[k]);
    la.push_back(last[k]);
    ids.push_back(k);
  }
  std::vector<int64_t> off = placeBuffers(sz, fi, la, p.arenaFloats);
  p.valueOffset.assign(nv, -1);
  p.gradOffset.assign(ng, -1);
  for (size_t k = 0; k < ids.size(); ++k) {
    if (ids[k] < nv) p.valueOffset[ids[k]] = off[k];
    else p.gradOffset[ids[k] - nv] = off[k];
  }
  for (size_t b = 0; b < ng; ++b)
    if (bp.grads[b].aliasOf >= 0) p.gradOffset[b] = p.gradOffset[static_cast<size_t>(bp.grads[b].aliasOf)];
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
        os << "arena [" << s.offset * 4 << ", " << (s.offset + storedElements(v) * g.maxBatch) * 4 << ")";
        if (v.border > 0) os << " with a zero border of " << v.border;
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
