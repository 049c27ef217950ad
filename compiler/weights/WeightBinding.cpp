// Weight binding: a weights file's tensors checked against a graph's
// parameters, or the parameters initialized when there is no file.
#include "compiler/weights/WeightBinding.h"

#include "compiler/weights/Initializers.h"
#include "compiler/weights/Safetensors.h"

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
    if (!g.findParam(name)) d.error(Location(fileName, name), "the model has no parameter with this name");
  return d.errorCount() == before;
}

bool loadWeightsForGraph(const Graph &g, const std::string &path, bool partial, TensorMap &out, Diagnostics &d) {
  if (path.empty()) {
    for (auto &[name, t] : initializeAll(g)) out[name] = std::move(t);
    return true;
  }
  TensorMap file;
  if (!readSafetensors(path, file, d)) return false;
  return bindWeights(g, file, path, partial, out, d);
}

}  // namespace nncc
