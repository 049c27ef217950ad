// The model parser: top-level keys, inputs, preprocess, layers and their
// wiring (names, default inputs, topological order, cycles), outputs, init
// and training. Shapes are left to compiler/ir/ShapeInference.
#include "frontend/ModelParser.h"

#include "compiler/ir/ShapeInference.h"
#include "compiler/ir/Verifier.h"
#include "frontend/AttrParser.h"
#include "frontend/JsonLoader.h"
#include "frontend/JsonReader.h"
#include "frontend/TrainingParser.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <queue>
#include <sstream>

namespace nncc {
namespace {

constexpr int64_t kMaxDim = int64_t(1) << 31;       // one input dimension
constexpr int64_t kMaxElements = int64_t(1) << 34;  // per-sample elements of an input

// One layer as read from JSON, before it is placed in the graph.
struct LayerRecord {
  size_t index;
  bool ok = true;
  bool kindKnown = false;
  OpKind kind;
  std::string name;
  Location loc;
  std::vector<std::string> inputNames;
  std::vector<Location> inputLocs;
  bool explicitInputs = false;
  AttrMap attrs;
  std::optional<InitSpec> weightInit, biasInit;
  bool regularize = true;
  std::vector<int> deps;  // resolved: >=0 layer index, <0 -(input index + 1)
};

class ModelParser {
 public:
  ModelParser(const std::string &file, const std::string &baseDir, Diagnostics &d)
      : file_(file), baseDir_(baseDir), d_(d) {}

  std::optional<Graph> parse(const json &root);

 private:
  Location at(const std::string &path) const { return Location(file_, path); }
  void parseInputs(const json &j);
  void parsePreprocess(const json &j);
  void parseLayers(const json &j);
  LayerRecord parseLayer(const json &j, size_t index, const std::string &defaultName);
  void checkName(const std::string &name, const Location &loc, const char *what);
  void resolveWiring();
  void placeOps();
  void parseOutputs(const json *j);
  void parseOutputList(const json &j);
  void parseInit(const json &j);
  void rejectUntrainable();

  std::string file_, baseDir_;
  Diagnostics &d_;
  Graph g_;
  std::vector<Shape> inputShapes_;
  std::vector<bool> inputShapeOk_;  // false: reported; layers reading it are skipped
  std::vector<std::string> inputNames_;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> preprocess_;
  std::map<std::string, Location> preprocessLocs_;
  std::vector<LayerRecord> layers_;
  std::map<std::string, int> names_;  // layer name -> index, input name -> -(i+1)
  std::vector<size_t> order_;         // topological order of layers_
  std::vector<Location> outputLocs_;  // where each of g_.outputs is named
};

// Identifiers of the generated header that share a scope with the input and
// output names (generated-api.md): the parameters of NAME_forward and of the
// training entry points, and the RAII class's members. An input or output
// with one of these names would make the header fail to compile.
const char *apiClash(const std::string &name, bool input) {
  static const char *common[] = {"m", "batch", "m_", "check", "get"};
  static const char *training[] = {"labels", "loss", "correct"};
  for (const char *c : common)
    if (name == c) return "a parameter or member name of the generated entry points";
  if (input)
    for (const char *t : training)
      if (name == t) return "a parameter name of the generated training entry points";
  return nullptr;
}

std::string upperName(std::string s) {
  for (char &c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

void ModelParser::checkName(const std::string &name, const Location &loc, const char *what) {
  if (!isCIdentifier(name))
    d_.error(loc, std::string(what) + " '" + name + "' is not a C identifier (letters, digits and _, not starting with a digit)");
  else if (isReservedCName(name))
    d_.error(loc, std::string(what) + " '" + name + "' is a C/C++ keyword");
}

std::optional<Graph> ModelParser::parse(const json &root) {
  g_.file = file_;
  ObjectReader r(root, Location(file_, ""), d_, "the model");
  if (!r.isObject()) return std::nullopt;
  if (auto v = r.getInt("nncc", true, INT64_MIN, INT64_MAX); v && *v != 1)
    d_.error(r.at("nncc"), "unsupported format version " + std::to_string(*v) + " (this nncc reads version 1)");
  if (auto n = r.getString("name", true)) {
    checkName(*n, r.at("name"), "model name");
    g_.name = *n;
  }
  if (const json *in = r.get("inputs", true)) parseInputs(*in);
  if (const json *pre = r.get("preprocess")) parsePreprocess(*pre);
  if (const json *ls = r.get("layers", true)) parseLayers(*ls);
  const json *outs = r.get("outputs");
  if (auto w = r.getString("weights", false)) {
    if (w->empty()) d_.error(r.at("weights"), "'weights' must not be empty");
    g_.weightsPath = (w->front() == '/' || baseDir_.empty()) ? *w : baseDir_ + "/" + *w;
  }
  if (const json *init = r.get("init")) parseInit(*init);
  if (auto mb = r.getInt("max_batch", false, 1, 1 << 20)) g_.maxBatch = *mb;
  const json *training = r.get("training");
  r.finish();

  // Layers with bad attributes still take part in wiring, so that problems
  // independent of them are reported in the same run; only a broken
  // structure (no layers, unknown names, cycles) stops here.
  if (layers_.empty() || inputNames_.empty()) return std::nullopt;
  size_t before = d_.errorCount();
  resolveWiring();
  if (d_.errorCount() != before) return std::nullopt;
  placeOps();
  parseOutputs(outs);
  if (g_.outputs.empty()) return std::nullopt;
  if (training) {
    g_.training = parseTraining(*training, r.at("training"), g_, d_);
    rejectUntrainable();
  }
  return std::move(g_);
}

void ModelParser::parseInputs(const json &j) {
  if (!j.is_array() || j.empty()) {
    d_.error(at("inputs"), "'inputs' must be a non-empty list of {name, shape}, found " +
                               (j.is_array() ? std::string("an empty list") : jsonTypeName(j)));
    return;
  }
  for (size_t i = 0; i < j.size(); ++i) {
    Location loc = at("inputs").child(i);
    ObjectReader r(j[i], loc, d_, "an input");
    auto name = r.getString("name", true);
    const json *shape = r.get("shape", true);
    if (auto dt = r.getString("dtype", false); dt && *dt != "float32")
      d_.error(r.at("dtype"), "input dtype must be \"float32\", found \"" + *dt + "\"");
    r.finish();
    Shape s;
    bool shapeOk = false;
    if (shape) {
      if (!shape->is_array() || (shape->size() != 1 && shape->size() != 3)) {
        std::string found = jsonTypeName(*shape);
        if (shape->is_array()) {
          found = "a list of " + std::to_string(shape->size());
          if (shape->size() <= 8) {
            found = "[";
            for (size_t k = 0; k < shape->size(); ++k) found += (k ? ", " : "") + (*shape)[k].dump();
            found += "]";
          }
        }
        d_.error(r.at("shape"), "input shape must be [F] or [C, H, W] (per sample, without the batch), found " + found);
      } else {
        shapeOk = true;
        for (size_t k = 0; k < shape->size(); ++k) {
          auto v = readInt((*shape)[k], r.at("shape").child(k), "a shape entry", d_);
          if (v && (*v < 1 || *v > kMaxDim)) {
            d_.error(r.at("shape").child(k), "input dimensions must be in [1, 2147483648], found " + std::to_string(*v));
            v.reset();
          }
          int64_t dim = v.value_or(1);
          shapeOk &= v.has_value();
          s.push_back(dim);
        }
        if (shapeOk && numElements(s) > kMaxElements) {
          d_.error(r.at("shape"), "input shape " + shapeStr(s) + " has more than 2^34 elements per sample");
          shapeOk = false;
        }
      }
    }
    if (!name) continue;
    checkName(*name, r.at("name"), "input name");
    if (const char *why = apiClash(*name, true))
      d_.error(r.at("name"), "input name '" + *name + "' is " + why + " (the header would not compile); rename the input");
    if (names_.count(*name)) {
      d_.error(r.at("name"), "duplicate input name '" + *name + "'");
      continue;
    }
    names_[*name] = -static_cast<int>(inputNames_.size()) - 1;
    inputNames_.push_back(*name);
    inputShapes_.push_back(s);
    inputShapeOk_.push_back(shapeOk);
  }
}

void ModelParser::parsePreprocess(const json &j) {
  if (!j.is_object()) {
    d_.error(at("preprocess"), "'preprocess' must be an object keyed by input name, found " + std::string(jsonTypeName(j)));
    return;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    Location loc = at("preprocess").child(it.key());
    auto nameIt = names_.find(it.key());
    if (nameIt == names_.end()) {
      d_.error(loc, "'" + it.key() + "' is not an input of the model");
      continue;
    }
    size_t input = static_cast<size_t>(-nameIt->second - 1);
    const Shape &shape = inputShapes_[input];
    ObjectReader r(it.value(), loc, d_, "a preprocess entry");
    AttrMap attrs;
    AttrSchema meanS{"mean", AttrType::FloatList};
    AttrSchema stdS{"std", AttrType::FloatList};
    stdS.min = 0;
    stdS.minExclusive = true;
    OpInfo info = opInfo(OpKind::Preprocess);
    info.attrs = {meanS, stdS};
    info.attrs[0].required = info.attrs[1].required = true;
    bool ok = parseAttrs(info, r, attrs);
    r.finish();
    if (!ok) continue;
    size_t c = !inputShapeOk_[input] ? 0 : shape.empty() ? 1 : static_cast<size_t>(shape[0]);
    for (const char *key : {"mean", "std"}) {
      size_t n = attrs[key].floats.size();
      if (n != 1 && n != c && c != 0)
        d_.error(r.at(key), std::string("'") + key + "' has " + std::to_string(n) + " values; the input has " +
                                std::to_string(c) + (shape.size() == 3 ? " channels" : " features") + " (give 1 or " +
                                std::to_string(c) + ")");
    }
    preprocess_[it.key()] = {attrs["mean"].floats, attrs["std"].floats};
    preprocessLocs_[it.key()] = loc;
  }
}

LayerRecord ModelParser::parseLayer(const json &j, size_t index, const std::string &defaultName) {
  LayerRecord rec;
  rec.index = index;
  rec.name = defaultName;
  rec.loc = at("layers").child(index);
  size_t before = d_.errorCount();
  if (!j.is_object()) {
    d_.error(rec.loc, "a layer must be an object, found " + std::string(jsonTypeName(j)));
    rec.ok = false;
    return rec;
  }
  // The name first, so that every later message carries it.
  if (auto it = j.find("name"); it != j.end()) {
    if (it->is_string()) rec.name = it->get<std::string>();
  }
  rec.loc.layerName = rec.name;
  std::string typeName = j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "";
  ObjectReader r(j, rec.loc, d_, typeName.empty() ? "a layer" : "a " + typeName + " layer");
  auto type = r.getString("type", true);
  auto name = r.getString("name", false);
  if (name) checkName(*name, r.at("name"), "layer name");
  auto kind = type ? opKindFromName(*type) : std::nullopt;
  if (type && (!kind || !opInfo(*kind).isLayerType)) {
    d_.error(r.at("type"), "unknown layer type '" + *type + "'");
    rec.ok = false;
    return rec;  // its keys cannot be checked
  }
  if (!kind) {
    // No usable type (reported): which other keys are allowed is unknown.
    rec.ok = false;
    return rec;
  }
  rec.kind = *kind;
  rec.kindKnown = true;
  const OpInfo &info = opInfo(rec.kind);
  if (const json *ins = r.get("inputs")) {
    rec.explicitInputs = true;
    if (!ins->is_array() || ins->empty()) {
      d_.error(r.at("inputs"), "'inputs' must be a non-empty list of layer or input names, found " +
                                   (ins->is_array() ? std::string("an empty list")
                                    : ins->is_string() ? "\"" + ins->get<std::string>() + "\" (write [\"" +
                                                             ins->get<std::string>() + "\"])"
                                                       : std::string(jsonTypeName(*ins))));
    } else {
      for (size_t k = 0; k < ins->size(); ++k) {
        if (!(*ins)[k].is_string()) {
          d_.error(r.at("inputs").child(k), "an input name must be a string, found " + std::string(jsonTypeName((*ins)[k])));
          continue;
        }
        rec.inputNames.push_back((*ins)[k].get<std::string>());
        rec.inputLocs.push_back(r.at("inputs").child(k));
      }
      size_t n = ins->size();
      if (static_cast<int>(n) < info.minInputs || (info.maxInputs >= 0 && static_cast<int>(n) > info.maxInputs)) {
        std::string want = info.maxInputs < 0 ? "at least " + std::to_string(info.minInputs)
                                               : std::to_string(info.minInputs);
        d_.error(r.at("inputs"), std::string(info.name) + " takes " + want + " input" +
                                     (info.minInputs == 1 && info.maxInputs == 1 ? "" : "s") + ", found " +
                                     std::to_string(n));
      }
    }
  } else if (info.minInputs > 1) {
    d_.error(rec.loc, std::string(info.name) + " needs 'inputs' naming at least " + std::to_string(info.minInputs) + " layers");
  }
  parseAttrs(info, r, rec.attrs);
  bool paramLayer = rec.kind == OpKind::Dense || rec.kind == OpKind::Conv2D || rec.kind == OpKind::Conv2DTranspose;
  if (paramLayer) {
    if (const json *init = r.get("init")) {
      ObjectReader ir(*init, r.at("init"), d_, "a layer's init");
      if (const json *w = ir.get("weights")) rec.weightInit = nncc::parseInit(*w, ir.at("weights"), d_);
      if (const json *b = ir.get("bias")) rec.biasInit = nncc::parseInit(*b, ir.at("bias"), d_);
      ir.finish();
    }
    if (auto reg = r.getBool("regularize", false)) rec.regularize = *reg;
  }
  r.finish();
  rec.ok = d_.errorCount() == before;
  return rec;
}

void ModelParser::parseLayers(const json &j) {
  if (!j.is_array() || j.empty()) {
    d_.error(at("layers"), "'layers' must be a non-empty list, found " +
                               (j.is_array() ? std::string("an empty list") : jsonTypeName(j)));
    return;
  }
  for (size_t i = 0; i < j.size(); ++i) {
    std::string type = j[i].is_object() && j[i].contains("type") && j[i]["type"].is_string()
                           ? j[i]["type"].get<std::string>()
                           : "layer";
    layers_.push_back(parseLayer(j[i], i, type + "_" + std::to_string(i)));
  }
  for (const auto &l : layers_) {
    auto [it, fresh] = names_.emplace(l.name, static_cast<int>(l.index));
    if (fresh) continue;
    if (it->second < 0)
      d_.error(l.loc, "layer name '" + l.name + "' is already the name of an input");
    else
      d_.error(l.loc, "duplicate layer name '" + l.name + "' (also layers[" + std::to_string(it->second) + "])");
  }
}

void ModelParser::resolveWiring() {
  size_t before = d_.errorCount();
  for (auto &l : layers_) {
    if (!l.explicitInputs) {
      if (l.index > 0) {
        l.deps.push_back(static_cast<int>(l.index) - 1);
      } else if (inputNames_.size() == 1) {
        l.deps.push_back(-1);
      } else {
        d_.error(l.loc, "the first layer needs 'inputs': the model has " + std::to_string(inputNames_.size()) + " inputs");
      }
      continue;
    }
    for (size_t k = 0; k < l.inputNames.size(); ++k) {
      auto it = names_.find(l.inputNames[k]);
      if (it == names_.end())
        d_.error(l.inputLocs[k], "unknown input '" + l.inputNames[k] + "' (no layer or input has that name)");
      else if (it->second == static_cast<int>(l.index))
        d_.error(l.inputLocs[k], "layer '" + l.name + "' takes its own output as input (a cycle)");
      else
        l.deps.push_back(it->second);
    }
  }
  if (d_.errorCount() != before) return;
  // Kahn's algorithm, taking the earliest ready layer first so that a model
  // already in order keeps its order.
  size_t n = layers_.size();
  std::vector<int> pending(n, 0);
  std::vector<std::vector<size_t>> users(n);
  for (const auto &l : layers_)
    for (int dep : l.deps)
      if (dep >= 0) {
        ++pending[l.index];
        users[static_cast<size_t>(dep)].push_back(l.index);
      }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<size_t>> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push(i);
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    order_.push_back(i);
    for (size_t u : users[i])
      if (--pending[u] == 0) ready.push(u);
  }
  if (order_.size() == n) return;
  // Report each cycle once: walk back along unplaced inputs until a layer repeats.
  std::vector<bool> reported(n, false);
  for (size_t start = 0; start < n; ++start) {
    if (pending[start] == 0 || reported[start]) continue;
    std::vector<size_t> path;
    std::vector<int> seenAt(n, -1);
    size_t cur = start;
    while (seenAt[cur] < 0) {
      seenAt[cur] = static_cast<int>(path.size());
      path.push_back(cur);
      for (int dep : layers_[cur].deps)
        if (dep >= 0 && pending[static_cast<size_t>(dep)] != 0) {
          cur = static_cast<size_t>(dep);
          break;
        }
    }
    bool fresh = true;
    for (size_t k = static_cast<size_t>(seenAt[cur]); k < path.size(); ++k) fresh &= !reported[path[k]];
    for (size_t k : path) reported[k] = true;
    if (!fresh) continue;
    // path[k + 1] is an input of path[k]: from `cur`, the data flows
    // cur -> path.back() -> ... -> path[seenAt[cur] + 1] -> cur.
    std::string cycle = layers_[cur].name;
    // A long cycle (a hostile model) is named by its first and last 8 layers.
    const size_t first = static_cast<size_t>(seenAt[cur]) + 1, len = path.size() - first;
    for (size_t k = path.size(), i = 0; k-- > first; ++i) {
      if (len > 20 && i == 8) {
        cycle += " -> ... (" + std::to_string(len - 16) + " more)";
        k = first + 8;
        continue;
      }
      cycle += " -> " + layers_[path[k]].name;
    }
    cycle += " -> " + layers_[cur].name;
    const LayerRecord &l = layers_[cur];
    d_.error(l.loc, "the layers form a cycle: " + cycle + " (each is an input of the next)");
  }
}

void ModelParser::placeOps() {
  std::vector<int> inputValue(inputNames_.size());
  for (size_t i = 0; i < inputNames_.size(); ++i) {
    int v = g_.addValue(inputNames_[i], -1);
    g_.value(v).shape = inputShapes_[i];
    g_.value(v).shapeKnown = inputShapeOk_[i];
    g_.inputs.push_back(v);
    inputValue[i] = v;
    auto pre = preprocess_.find(inputNames_[i]);
    if (pre == preprocess_.end()) continue;
    Op op;
    op.kind = OpKind::Preprocess;
    op.name = inputNames_[i] + ".preprocess";
    op.loc = preprocessLocs_[inputNames_[i]];
    op.inputs = {v};
    op.attrs["mean"] = Attr::makeFloatList(pre->second.first);
    op.attrs["std"] = Attr::makeFloatList(pre->second.second);
    op.output = g_.addValue(op.name, static_cast<int>(g_.ops.size()));
    inputValue[i] = op.output;
    g_.ops.push_back(op);
  }
  std::vector<int> layerValue(layers_.size(), -1);
  for (size_t idx : order_) {
    LayerRecord &l = layers_[idx];
    const OpInfo *info = l.kindKnown ? &opInfo(l.kind) : nullptr;
    int nIn = static_cast<int>(l.deps.size());
    bool inputsOk = info && nIn >= info->minInputs && (info->maxInputs < 0 || nIn <= info->maxInputs);
    if (!inputsOk) {
      // An unknown layer type or a wrong number of inputs (both reported):
      // its value exists, with no shape, so that the layers reading it are
      // skipped by shape inference.
      layerValue[idx] = g_.addValue(l.name, -1);
      continue;
    }
    Op op;
    op.kind = l.kind;
    op.name = l.name;
    op.loc = l.loc;
    op.attrs = l.attrs;
    op.weightInit = l.weightInit;
    op.biasInit = l.biasInit;
    op.regularize = l.regularize;
    for (int dep : l.deps)
      op.inputs.push_back(dep >= 0 ? layerValue[static_cast<size_t>(dep)] : inputValue[static_cast<size_t>(-dep - 1)]);
    op.output = g_.addValue(op.name, static_cast<int>(g_.ops.size()));
    layerValue[idx] = op.output;
    g_.ops.push_back(op);
  }
}

void ModelParser::parseOutputs(const json *j) {
  if (!j) {
    g_.outputs.push_back(g_.findValue(layers_.back().name));
  } else {
    parseOutputList(*j);
  }
  // The header's macros upper-case the names: NAME_<INPUT>_SIZE and
  // NAME_<OUTPUT>_SIZE must all differ.
  std::map<std::string, std::string> macros;  // upper-cased -> name
  for (int v : g_.inputs) macros.emplace(upperName(g_.value(v).name), g_.value(v).name);
  for (size_t i = 0; i < g_.outputs.size(); ++i) {
    const std::string &name = g_.value(g_.outputs[i]).name;
    Location loc = i < outputLocs_.size() ? outputLocs_[i] : Location(file_, "outputs");
    if (const char *why = apiClash(name, false))
      d_.error(loc, "output name '" + name + "' is " + why + " (the header would not compile); rename the layer");
    auto [it, fresh] = macros.emplace(upperName(name), name);
    if (!fresh && it->second != name)  // the same name twice is reported elsewhere
      d_.error(loc, "output '" + name + "' and '" + it->second + "' give the same header macro " +
                        upperName(g_.name) + "_" + it->first + "_SIZE (macros are upper-cased); rename one of them");
  }
}

void ModelParser::parseOutputList(const json &jr) {
  const json *j = &jr;
  if (!j->is_array() || j->empty()) {
    d_.error(at("outputs"), "'outputs' must be a non-empty list of layer names, found " +
                                (j->is_array() ? std::string("an empty list")
                                 : j->is_string() ? "\"" + j->get<std::string>() + "\" (write [\"" +
                                                        j->get<std::string>() + "\"])"
                                                  : std::string(jsonTypeName(*j))));
    return;
  }
  for (size_t i = 0; i < j->size(); ++i) {
    Location loc = at("outputs").child(i);
    if (!(*j)[i].is_string()) {
      d_.error(loc, "an output must be a layer name, found " + std::string(jsonTypeName((*j)[i])));
      continue;
    }
    std::string name = (*j)[i].get<std::string>();
    auto it = names_.find(name);
    if (it == names_.end()) {
      d_.error(loc, "unknown output '" + name + "' (no layer has that name)");
      continue;
    }
    if (it->second < 0) {
      d_.error(loc, "output '" + name + "' is an input of the model; outputs must name layers");
      continue;
    }
    int v = g_.findValue(name);
    for (int o : g_.outputs)
      if (o == v) d_.error(loc, "output '" + name + "' is listed twice");
    g_.outputs.push_back(v);
    outputLocs_.push_back(loc);
  }
}

void ModelParser::parseInit(const json &j) {
  ObjectReader r(j, at("init"), d_, "'init'");
  if (auto s = r.get("seed")) {
    if (s->is_number_unsigned() || (s->is_number_integer() && s->get<int64_t>() >= 0))
      g_.seed = s->get<uint64_t>();
    else
      d_.error(r.at("seed"), "'seed' must be a non-negative integer, found " +
                                 (s->is_number_integer() ? std::to_string(s->get<int64_t>()) : std::string(jsonTypeName(*s))));
  }
  if (const json *w = r.get("weights"))
    if (auto spec = nncc::parseInit(*w, r.at("weights"), d_)) g_.defaultWeightInit = *spec;
  if (const json *b = r.get("bias"))
    if (auto spec = nncc::parseInit(*b, r.at("bias"), d_)) g_.defaultBiasInit = *spec;
  r.finish();
}

void ModelParser::rejectUntrainable() {
  for (const auto &op : g_.ops) {
    bool fusedStep = op.attrs.count("activation") && op.attr("activation").hasActivation &&
                     op.attr("activation").act.kind == OpKind::Step;
    if (op.kind == OpKind::Step || fusedStep)
      d_.error(fusedStep ? op.loc.child("activation") : op.loc,
               "a step activation cannot be trained (its gradient is zero everywhere); remove 'training' or use sigmoid");
  }
}

std::string dirName(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

std::optional<Graph> parseModelJson(const std::string &text, const std::string &displayName,
                                    const std::string &baseDir, Diagnostics &diags) {
  size_t before = diags.errorCount();
  auto root = parseJsonStrict(text, displayName, diags);
  if (!root) return std::nullopt;
  auto g = ModelParser(displayName, baseDir, diags).parse(*root);
  if (diags.errorCount() != before) return std::nullopt;
  return g;
}

std::optional<Graph> loadModel(const std::string &path, Diagnostics &diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // A driver-level error: no place in a model to point at.
    diags.error(Location("nncc", ""), "error: cannot open the model file '" + path + "': " + std::strerror(errno));
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  size_t before = diags.errorCount();
  auto root = parseJsonStrict(ss.str(), path, diags);
  if (!root) return std::nullopt;
  auto g = ModelParser(path, dirName(path), diags).parse(*root);
  if (!g) return std::nullopt;
  // Shape inference also runs on a graph with attribute errors: it skips the
  // ops they touch and reports the independent shape problems.
  inferShapes(*g, diags);
  if (diags.errorCount() != before) return std::nullopt;
  if (!verifyGraph(*g, diags)) return std::nullopt;
  return g;
}

}  // namespace nncc
