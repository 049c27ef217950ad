// The IR verifier.
#include "compiler/ir/Verifier.h"

#include <set>

namespace nncc {

bool verifyGraph(const Graph &g, Diagnostics &d) {
  size_t before = d.errorCount();
  auto fail = [&](const Location &loc, const std::string &msg) { d.error(loc, "internal error: IR verifier: " + msg); };
  int nValues = static_cast<int>(g.values.size());
  std::vector<bool> defined(g.values.size(), false);
  for (int in : g.inputs) {
    if (in < 0 || in >= nValues) fail(Location(g.file, ""), "graph input id out of range");
    else defined[static_cast<size_t>(in)] = true;
    if (in >= 0 && in < nValues && g.value(in).layout != Layout::Planar)
      fail(Location(g.file, ""), "graph input '" + g.value(in).name + "' is not in the API's planar layout");
  }
  for (int out : g.outputs)
    if (out >= 0 && out < nValues && g.value(out).layout != Layout::Planar)
      fail(Location(g.file, ""), "graph output '" + g.value(out).name + "' is not in the API's planar layout");
  std::set<std::string> names;
  for (const auto &v : g.values)
    if (!names.insert(v.name).second) fail(Location(g.file, ""), "two values are named '" + v.name + "'");
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op &op = g.ops[i];
    const OpInfo &info = opInfo(op.kind);
    int n = static_cast<int>(op.inputs.size()) - (op.fused.residual ? 1 : 0);  // the fused add's operand
    if (n < info.minInputs || (info.maxInputs >= 0 && n > info.maxInputs))
      fail(op.loc, "op has " + std::to_string(n) + " inputs");
    for (int in : op.inputs) {
      if (in < 0 || in >= nValues) fail(op.loc, "input id out of range");
      else if (!defined[static_cast<size_t>(in)]) fail(op.loc, "input '" + g.value(in).name + "' is used before it is defined");
    }
    if (op.output < 0 || op.output >= nValues) {
      fail(op.loc, "output id out of range");
      continue;
    }
    if (defined[static_cast<size_t>(op.output)]) fail(op.loc, "output defined twice");
    defined[static_cast<size_t>(op.output)] = true;
    const Value &out = g.value(op.output);
    if (out.producer != static_cast<int>(i)) fail(op.loc, "output's producer is not this op");
    if (!out.shapeKnown || out.shape.empty()) fail(op.loc, "output shape unknown");
    for (int64_t dim : out.shape)
      if (dim < 1) fail(op.loc, "output shape " + shapeStr(out.shape) + " has an empty dimension");
    if (out.layout == Layout::ChannelsLast && out.shape.size() != 3)
      fail(op.loc, "a channels_last value must have the shape [C, H, W], not " + shapeStr(out.shape));
    if (out.border < 0 || (out.border > 0 && out.layout != Layout::ChannelsLast))
      fail(op.loc, "only a channels_last value has a zero border (border " + std::to_string(out.border) + ")");
    for (const auto &s : info.attrs) {
      auto it = op.attrs.find(s.name);
      if (it == op.attrs.end()) fail(op.loc, "attribute '" + s.name + "' missing");
      else if (it->second.type != s.type) fail(op.loc, "attribute '" + s.name + "' has the wrong type");
      else if (s.type == AttrType::Padding && (it->second.same || it->second.ints.size() != 4))
        fail(op.loc, "padding not resolved to [t, l, b, r]");
    }
    if (op.attrs.size() != info.attrs.size()) fail(op.loc, "unexpected attributes");
    for (int p : op.params) {
      if (p < 0 || p >= static_cast<int>(g.params.size()) || g.params[static_cast<size_t>(p)].op != static_cast<int>(i))
        fail(op.loc, "parameter does not belong to this op");
    }
  }
  for (int o : g.outputs)
    if (o < 0 || o >= nValues || !defined[static_cast<size_t>(o)]) fail(Location(g.file, "outputs"), "output not defined");
  if (g.outputs.empty()) fail(Location(g.file, ""), "graph has no outputs");
  return d.errorCount() == before;
}

}  // namespace nncc
