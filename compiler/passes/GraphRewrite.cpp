// Graph rewriting helpers.
#include "compiler/passes/GraphRewrite.h"

namespace nncc {

void replaceAllUses(Graph &g, int from, int to) {
  for (auto &op : g.ops)
    for (int &in : op.inputs)
      if (in == from) in = to;
  for (int &o : g.outputs)
    if (o == from) o = to;
  if (g.training)
    for (auto &l : g.training->losses)
      if (l.output == from) l.output = to;
}

bool isGraphOutput(const Graph &g, int value) {
  for (int o : g.outputs)
    if (o == value) return true;
  if (g.training)
    for (const auto &l : g.training->losses)
      if (l.output == value) return true;
  return false;
}

int countUses(const Graph &g, int value) {
  int n = isGraphOutput(g, value) ? 1 : 0;
  for (const auto &op : g.ops)
    for (int in : op.inputs)
      if (in == value) ++n;
  return n;
}

void eraseOps(Graph &g, const std::vector<bool> &erase) {
  std::vector<bool> valueDead(g.values.size(), false), paramDead(g.params.size(), false);
  for (size_t i = 0; i < g.ops.size(); ++i) {
    if (!erase[i]) continue;
    valueDead[static_cast<size_t>(g.ops[i].output)] = true;
    for (int p : g.ops[i].params) paramDead[static_cast<size_t>(p)] = true;
  }
  // New numbering of what survives.
  std::vector<int> valueId(g.values.size(), -1), opId(g.ops.size(), -1), paramId(g.params.size(), -1);
  std::vector<Value> values;
  for (size_t v = 0; v < g.values.size(); ++v) {
    if (valueDead[v]) continue;
    valueId[v] = static_cast<int>(values.size());
    values.push_back(g.values[v]);
  }
  std::vector<Op> ops;
  for (size_t i = 0; i < g.ops.size(); ++i) {
    if (erase[i]) continue;
    opId[i] = static_cast<int>(ops.size());
    ops.push_back(g.ops[i]);
  }
  std::vector<Param> params;
  for (size_t p = 0; p < g.params.size(); ++p) {
    if (paramDead[p]) continue;
    paramId[p] = static_cast<int>(params.size());
    params.push_back(g.params[p]);
  }
  for (auto &v : values) {
    v.id = valueId[static_cast<size_t>(v.id)];
    if (v.producer >= 0) v.producer = opId[static_cast<size_t>(v.producer)];
  }
  for (auto &op : ops) {
    for (int &in : op.inputs) in = valueId[static_cast<size_t>(in)];
    op.output = valueId[static_cast<size_t>(op.output)];
    for (int &p : op.params) p = paramId[static_cast<size_t>(p)];
  }
  for (auto &p : params) p.op = opId[static_cast<size_t>(p.op)];
  for (int &in : g.inputs) in = valueId[static_cast<size_t>(in)];
  for (int &o : g.outputs) o = valueId[static_cast<size_t>(o)];
  if (g.training)
    for (auto &l : g.training->losses) l.output = valueId[static_cast<size_t>(l.output)];
  g.values = std::move(values);
  g.ops = std::move(ops);
  g.params = std::move(params);
}

}  // namespace nncc
