// Weight binding: a weights file's tensors checked against a graph's
// parameters, or the parameters initialized when there is no file.
#include "compiler/weights/WeightBinding.h"

#include "compiler/weights/Initializers.h"
#include "compiler/weights/Safetensors.h"

#include <cmath>
#include <cstdio>

namespace nncc {

bool bindWeights(const Graph &g, const TensorMap &file, const std::string &fileName, bool partial, TensorMap &out,
                 Diagnostics &d) {
  const size_t before = d.errorCount();
  for (const Param &p : g.params) {
    Location loc(fileName, p.name);
    auto it = file.find(p.name);
    if (it == file.end()) {
      if (partial)
        out[p.name] = TensorF32{p.shape, initializeParam(p, g.seed)};
      else
        d.error(loc, "missing: the model has a parameter of shape " + shapeStr(p.shape) +
                         " with this name (use --partial-weights to initialize missing ones)");
      continue;
    }
    const TensorF32 &t = it->second;
    if (t.shape != p.shape) {
      d.error(loc, "shape " + shapeStr(t.shape) + " does not match the parameter's " + shapeStr(p.shape));
      continue;
    }
    if (static_cast<int64_t>(t.data.size()) != numElements(t.shape)) {  // only for maps not read from a file
      d.error(loc, "the tensor holds " + std::to_string(t.data.size()) + " values, but its shape " +
                       shapeStr(t.shape) + " needs " + std::to_string(numElements(t.shape)));
      continue;
    }
    out[p.name] = t;
  }
  for (const auto &[name, t] : file)
    if (!g.findParam(name) && !isOptimizerState(g, name))
      d.error(Location(fileName, name), "the model has no parameter with this name");
  return d.errorCount() == before;
}

bool isOptimizerState(const Graph &g, const std::string &name) {
  static const char *const states[] = {"momentum_buffer", "sum", "square_avg", "acc_delta", "exp_avg", "exp_avg_sq"};
  size_t dot = name.rfind('.');
  if (dot == std::string::npos || !g.findParam(name.substr(0, dot))) return false;
  for (const char *s : states)
    if (name.compare(dot + 1, std::string::npos, s) == 0) return true;
  return false;
}

bool loadWeightsForGraph(const Graph &g, const std::string &path, bool partial, TensorMap &out, Diagnostics &d,
                         bool strict) {
  if (path.empty()) {
    for (auto &[name, t] : initializeAll(g)) out[name] = std::move(t);
    return true;
  }
  TensorMap file;
  if (!readSafetensors(path, file, d)) return false;
  bool finite = checkFiniteWeights(file, path, strict, d);
  return bindWeights(g, file, path, partial, out, d) && finite;
}

bool checkFiniteWeights(const TensorMap &file, const std::string &fileName, bool strict, Diagnostics &d) {
  bool ok = true;
  for (const auto &[name, t] : file) {  // a std::map: tensors in name order
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < t.data.size(); ++i)
      if (!std::isfinite(t.data[i]) && bad++ == 0) first = i;
    if (!bad) continue;
    float v = t.data[first];
    std::string what = std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
    std::string msg = std::to_string(bad) + " of " + std::to_string(t.data.size()) +
                      " values are not finite (the first, at index " + std::to_string(first) + ", is " + what + ")";
    if (strict) {
      d.error(Location(fileName, name), msg + "; --strict refuses non-finite weights");
      ok = false;
    } else {
      d.warning(Location(fileName, name), msg);
    }
  }
  return ok;
}

namespace {
// a + b and a * b, saturating at UINT64_MAX.
uint64_t addSat(uint64_t a, uint64_t b, bool &sat) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    sat = true;
    return UINT64_MAX;
  }
  return r;
}
uint64_t mulSat(uint64_t a, uint64_t b, bool &sat) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) {
    sat = true;
    return UINT64_MAX;
  }
  return r;
}
uint64_t elements(const Shape &s, bool &sat) {
  uint64_t n = 1;
  for (int64_t dim : s) n = mulSat(n, dim < 0 ? 0 : static_cast<uint64_t>(dim), sat);
  return n;
}
}  // namespace

MemoryNeed memoryNeeded(const Graph &g) {
  MemoryNeed m;
  for (const Param &p : g.params) m.params = addSat(m.params, mulSat(elements(p.shape, m.saturated), 4, m.saturated), m.saturated);
  const uint64_t batch = g.maxBatch < 1 ? 1 : static_cast<uint64_t>(g.maxBatch);
  for (const Value &v : g.values) {
    if (!v.shapeKnown) continue;
    uint64_t bytes = mulSat(mulSat(elements(v.shape, m.saturated), batch, m.saturated), 4, m.saturated);
    m.activations = addSat(m.activations, bytes, m.saturated);
  }
  m.total = addSat(m.params, m.activations, m.saturated);
  return m;
}

bool checkMemoryLimit(const Graph &g, uint64_t limit, Diagnostics &d) {
  MemoryNeed m = memoryNeeded(g);
  if (!m.saturated && m.total <= limit) return true;
  auto n = [](uint64_t v) { return std::to_string(v); };
  std::string need = m.saturated ? "more than " + n(UINT64_MAX) + " bytes"
                                 : n(m.total) + " bytes (" + n(m.params) + " of parameters + " + n(m.activations) +
                                       " of activations at max_batch " + std::to_string(g.maxBatch) + ")";
  d.error(Location(g.file, ""), "the model needs " + need + ", more than the limit of " + n(limit) +
                                    " bytes; raise --max-memory or lower --max-batch");
  return false;
}

}  // namespace nncc
