// Weight binding (model-format.md, "Parameters and weights files").
#include "compiler/weights/WeightBinding.h"

#include "compiler/weights/Initializers.h"
#include "compiler/weights/Safetensors.h"

namespace nncc {

bool bindWeights(const Graph &g, const TensorMap &file, const std::string &fileName, bool partial, TensorMap &out,
                 Diagnostics &d) {
  size_t before = d.errorCount();
  for (const auto &p : g.params) {
    auto it = file.find(p.name);
    if (it == file.end()) {
      if (partial) out[p.name] = initializeParam(p, g.seed);
      else d.error(Location(fileName, p.name), "missing: the model has a parameter of shape " + shapeStr(p.shape) +
                                                   " with this name (use --partial-weights to initialize missing ones)");
      continue;
    }
    if (it->second.shape != p.shape) {
      d.error(Location(fileName, p.name), "shape " + shapeStr(it->second.shape) + " does not match the parameter's " +
                                              shapeStr(p.shape));
      continue;
    }
    out[p.name] = it->second;
  }
  for (const auto &[name, t] : file)
    if (!g.findParam(name)) d.error(Location(fileName, name), "the model has no parameter with this name");
  return d.errorCount() == before;
}

bool loadWeightsForGraph(const Graph &g, const std::string &path, bool partial, TensorMap &out, Diagnostics &d) {
  if (path.empty()) {
    out = initializeAll(g);
    return true;
  }
  TensorMap file;
  if (!readSafetensors(path, file, d)) return false;
  return bindWeights(g, file, path, partial, out, d);
}

}  // namespace nncc
