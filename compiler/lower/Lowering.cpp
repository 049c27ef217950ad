// The lowering driver: graph inputs and parameters become ImageParams with
// static per-sample bounds and a dynamic batch; every op is lowered in
// topological order through the one table keyed by OpKind; the graph outputs
// become the pipeline's outputs. Also the helpers the op families share (dims,
// padding, the schedule policy) and the JIT runner used by the tests.
#include "compiler/lower/LowerOps.h"

#include <cassert>

namespace nncc {
namespace lower {
namespace {

struct LowerEntry {
  OpKind kind;
  LowerFn fn;
};

std::vector<LowerFn> buildTable() {
  using K = OpKind;
  const LowerEntry rows[] = {
      {K::Dense, lowerDense},
      {K::Conv2D, lowerConv2D},
      {K::Conv2DTranspose, lowerConv2DTranspose},
      {K::MaxPool2D, lowerMaxPool2D},
      {K::AvgPool2D, lowerAvgPool2D},
      {K::GlobalAvgPool2D, lowerGlobalAvgPool2D},
      {K::GlobalMaxPool2D, lowerGlobalMaxPool2D},
      {K::BatchNorm, lowerBatchNorm},
      {K::Relu, lowerActivation},
      {K::Sigmoid, lowerActivation},
      {K::Tanh, lowerActivation},
      {K::Step, lowerActivation},
      {K::LeakyRelu, lowerActivation},
      {K::Elu, lowerActivation},
      {K::Softmax, lowerActivation},
      {K::LogSoftmax, lowerActivation},
      {K::Dropout, lowerDropout},
      {K::Flatten, lowerReshape},
      {K::Reshape, lowerReshape},
      {K::Add, lowerAdd},
      {K::Concat, lowerConcat},
      {K::Preprocess, lowerPreprocess},
  };
  std::vector<LowerFn> table(allOps().size(), nullptr);
  for (const LowerEntry &e : rows) {
    size_t k = static_cast<size_t>(e.kind);
    assert(k < table.size() && !table[k] && "one row per op kind");
    table[k] = e.fn;
  }
  return table;
}

}  // namespace

LowerFn lowererFor(OpKind kind) {
  static const std::vector<LowerFn> table = buildTable();
  size_t k = static_cast<size_t>(kind);
  return k < table.size() ? table[k] : nullptr;
}

// Dense row-major bounds on a buffer of per-sample shape `s` (reversed), plus
// a batch dimension with min 0 and a dynamic extent when `batched`.
void constrainDense(Halide::OutputImageParam p, const Shape &s, bool batched) {
  int stride = 1;
  for (size_t d = 0; d < s.size(); ++d) {
    int extent = static_cast<int>(s[s.size() - 1 - d]);
    p.dim(static_cast<int>(d)).set_bounds(0, extent).set_stride(stride).set_estimate(0, extent);
    stride *= extent;
  }
  // The batch's estimate is for an autoscheduler (--schedule=auto).
  if (batched) p.dim(static_cast<int>(s.size())).set_min(0).set_stride(stride).set_estimate(0, kBatchEstimate);
}

void constrainLayout(Halide::OutputImageParam p, const Shape &s, Layout layout, bool batched, int border,
                     bool interior) {
  if (layout != Layout::ChannelsLast || s.size() != 3) return constrainDense(p, s, batched);
  const int c = static_cast<int>(s[0]), h = static_cast<int>(s[1]), w = static_cast<int>(s[2]);
  const int b = border, lo = interior ? 0 : -b, grow = interior ? 0 : 2 * b;
  // (The estimates stay non-negative: Halide 14's C++ backend names a
  // constant after its value, and "const_-1" does not compile.)
  p.dim(0).set_bounds(lo, w + grow).set_stride(c).set_estimate(0, w);
  p.dim(1).set_bounds(lo, h + grow).set_stride(c * (w + 2 * b)).set_estimate(0, h);
  p.dim(2).set_bounds(0, c).set_stride(1).set_estimate(0, c);
  if (batched) p.dim(3).set_min(0).set_stride(c * (w + 2 * b) * (h + 2 * b)).set_estimate(0, kBatchEstimate);
}

// A Halide name from a parameter name: "conv1.weight" -> "conv1_weight".
std::string sanitize(const std::string &name) {
  std::string out = name;
  for (char &ch : out)
    if (ch == '.') ch = '_';
  return out;
}

Dims Dims::without(size_t k) const {
  Dims d = *this;
  d.vars.erase(d.vars.begin() + static_cast<std::ptrdiff_t>(k));
  d.extents.erase(d.extents.begin() + static_cast<std::ptrdiff_t>(k));
  return d;
}

Dims dimsOf(const Shape &s) {
  Dims d;
  static const char *const image[] = {"x", "y", "c"};
  for (size_t k = 0; k < s.size(); ++k) {
    std::string name = s.size() == 3 ? image[k] : s.size() == 1 ? "i" : "d" + std::to_string(k);
    d.vars.emplace_back(name);
    d.extents.push_back(static_cast<int>(s[s.size() - 1 - k]));
  }
  d.vars.emplace_back("n");
  d.extents.push_back(-1);
  return d;
}

Dims dimsOf(const Shape &s, Layout layout) {
  Dims d = dimsOf(s);
  if (layout == Layout::ChannelsLast && s.size() == 3) d.inner = 2;
  return d;
}

std::string Namer::unique(const std::string &wanted) {
  std::string base = sanitize(wanted);
  std::string name = base;
  for (int k = 2; used_.count(name); ++k) name = base + "_" + std::to_string(k);
  used_.insert(name);
  return name;
}

const Halide::ImageParam &OpArgs::param(ParamRole r) const {
  auto it = params.find(r);
  if (it == params.end())
    throw LoweringError(op.name + ": missing parameter '" + paramRoleSuffix(r) + "'");
  return it->second;
}

std::string OpArgs::name(const std::string &suffix) const {
  return namer.unique(suffix.empty() ? op.name : op.name + "_" + suffix);
}

Halide::Func padXY(const LValue &in, Halide::Expr value, const std::string &name) {
  Dims d = dimsOf(in.shape);
  if (d.size() != 4) throw LoweringError(name + ": padding needs an image, got " + shapeStr(in.shape));
  int w = d.extents[0], h = d.extents[1];
  Halide::Var x = d.vars[0], y = d.vars[1], c = d.vars[2], n = d.vars[3];
  Halide::Func padded(name);
  Halide::Expr inside = x >= 0 && x < w && y >= 0 && y < h;
  padded(x, y, c, n) = Halide::select(inside, in.f(Halide::clamp(x, 0, w - 1), Halide::clamp(y, 0, h - 1), c, n), value);
  return padded;
}

LValue bindInput(const Value &v, Namer &namer, Halide::ImageParam &ip) {
  Dims d = dimsOf(v.shape);
  ip = Halide::ImageParam(Halide::Float(32), static_cast<int>(d.size()), namer.unique(v.name));
  constrainLayout(ip, v.shape, v.layout, true, v.border);
  Halide::Func f(namer.unique(v.name + "_in"));
  f(d.vars) = ip(d.exprs());  // inlined into its consumers
  return {f, v.shape, v.border, v.layout == Layout::ChannelsLast && v.shape.size() == 3};
}

Halide::ImageParam bindParam(const Param &p, Namer &namer) {
  Halide::ImageParam ip(Halide::Float(32), static_cast<int>(p.shape.size()), namer.unique(sanitize(p.name)));
  constrainDense(ip, p.shape, false);
  return ip;
}

Halide::Func lowerOp(const Graph &g, const Op &op, const LowerOptions &opts, Namer &namer,
                     const std::vector<const LValue *> &inputs, const std::vector<Halide::ImageParam> &params,
                     bool packedWeight) {
  LowerFn fn = lowererFor(op.kind);
  if (!fn) throw LoweringError(op.name + ": no lowering for op '" + opName(op.kind) + "'");
  const Value &out = g.value(op.output);
  if (!out.shapeKnown) throw LoweringError(op.name + ": shape not inferred");
  std::vector<const LValue *> ins = inputs;
  LValue normalized;  // the fused preprocess prologue of input 0
  if (op.fused.preprocess) {
    if (ins.empty()) throw LoweringError(op.name + ": a fused preprocess needs an input");
    normalized = preprocessed(*ins[0], op.fused.preprocessMean, op.fused.preprocessStd, namer, op.name + "_preprocess");
    ins[0] = &normalized;
  }
  OpArgs a{g, op, opts, namer, ins, {}, out.shape, packedWeight};
  for (size_t k = 0; k < op.params.size(); ++k)
    a.params.emplace(g.params[static_cast<size_t>(op.params[k])].role, params.at(k));
  return fn(a);
}

// ---- The schedule policy ----

int vectorFactor(const LowerOptions &opts, int extent) {
  if (!opts.vectorize) return 1;
  int natural = opts.target.natural_vector_size(Halide::Float(32));
  int v = 1;
  while (v * 2 <= natural && v * 2 <= extent) v *= 2;
  return v >= 4 ? v : 1;
}

namespace {

// Vectorizes d.vars[d.inner] of stage `s` (moved inside `rvars`, if any,
// and, when it is not the first dimension, inside the others too) and makes
// the outermost dimensions parallel.
void vectorizeAndParallelize(Halide::Stage s, const Dims &d, const std::vector<Halide::RVar> &rvars,
                             bool update, const LowerOptions &opts) {
  const Halide::Var &vec = d.vars[d.inner];
  int v = vectorFactor(opts, d.extents[d.inner]);
  if (v > 1) {
    Halide::Var outer(vec.name() + "_o"), inner(vec.name() + "_v");
    s.split(vec, outer, inner, v, update ? Halide::TailStrategy::GuardWithIf : Halide::TailStrategy::ShiftInwards);
    if (!rvars.empty() || d.inner != 0) {
      std::vector<Halide::VarOrRVar> order{inner};
      for (const Halide::RVar &r : rvars) order.emplace_back(r);
      order.emplace_back(outer);
      for (size_t k = 0; k < d.size(); ++k)
        if (k != d.inner) order.emplace_back(d.vars[k]);
      s.reorder(order);
    }
    s.vectorize(inner);
  } else if (d.inner != 0) {
    std::vector<Halide::VarOrRVar> order;
    for (const Halide::RVar &r : rvars) order.emplace_back(r);
    order.emplace_back(vec);
    for (size_t k = 0; k < d.size(); ++k)
      if (k != d.inner) order.emplace_back(d.vars[k]);
    s.reorder(order);
  }
  std::vector<Halide::Var> outerDims;  // the dimensions outside the vectorized one
  for (size_t k = 0; k < d.size(); ++k)
    if (k != d.inner) outerDims.push_back(d.vars[k]);
  size_t k = outerDims.size();
  if (k >= 2 && d.size() >= 3) {
    Halide::Var fused(outerDims[k - 2].name() + outerDims[k - 1].name());
    s.fuse(outerDims[k - 2], outerDims[k - 1], fused).parallel(fused);
  } else if (d.size() == 2) {
    s.parallel(d.vars[1]);
  }
}

// A compute_root Func stored with d.vars[d.inner] innermost.
void storeInnerFirst(Halide::Func f, const Dims &d) {
  if (d.inner == 0) return;
  std::vector<Halide::Var> order{d.vars[d.inner]};
  for (size_t k = 0; k < d.size(); ++k)
    if (k != d.inner) order.push_back(d.vars[k]);
  f.reorder_storage(order);
}

}  // namespace

void schedulePointwise(Halide::Func f, const Dims &d, const LowerOptions &opts) {
  if (!opts.schedule) return;
  f.compute_root();
  storeInnerFirst(f, d);
  vectorizeAndParallelize(f, d, {}, false, opts);
}

void scheduleReduction(Halide::Func f, const Dims &d, const std::vector<Halide::RVar> &rvars,
                       const LowerOptions &opts, int update) {
  if (!opts.schedule) return;  // an autoscheduler decides
  f.compute_root();
  storeInnerFirst(f, d);
  vectorizeAndParallelize(f, d, {}, false, opts);
  vectorizeAndParallelize(f.update(update), d, rvars, true, opts);
}

}  // namespace lower

// ---- The driver ----

std::vector<Halide::Argument> LoweredModel::arguments() const {
  std::vector<Halide::Argument> args;
  for (const Halide::ImageParam &p : inputs) args.emplace_back(p);
  for (const Halide::ImageParam &p : params) args.emplace_back(p);
  return args;
}

LoweredModel lowerGraph(const Graph &g, const LowerOptions &opts) {
  using namespace lower;
  LoweredModel m;
  Namer namer;
  std::vector<LValue> values(g.values.size());
  std::vector<bool> lowered(g.values.size(), false);

  for (int id : g.inputs) {
    const Value &v = g.value(id);
    if (!v.shapeKnown) throw LoweringError("input '" + v.name + "' has no inferred shape");
    Halide::ImageParam ip;
    values[static_cast<size_t>(id)] = bindInput(v, namer, ip);
    lowered[static_cast<size_t>(id)] = true;
    m.inputs.push_back(ip);
    m.values[v.name] = values[static_cast<size_t>(id)].f;
  }
  for (const Param &p : g.params) {
    m.params.push_back(bindParam(p, namer));
  }

  for (const Op &op : g.ops) {
    const Value &out = g.value(op.output);
    std::vector<const LValue *> ins;
    for (int in : op.inputs) {
      if (!lowered[static_cast<size_t>(in)]) throw LoweringError(op.name + ": input not lowered yet");
      ins.push_back(&values[static_cast<size_t>(in)]);
    }
    std::vector<Halide::ImageParam> ps;
    for (int p : op.params) ps.push_back(m.params[static_cast<size_t>(p)]);
    Halide::Func f = lowerOp(g, op, opts, namer, ins, ps);
    values[static_cast<size_t>(op.output)] = {f, out.shape};
    lowered[static_cast<size_t>(op.output)] = true;
    m.values[out.name] = f;
  }

  std::set<std::string> used;
  for (int id : g.outputs) {
    const Value &v = g.value(id);
    if (!lowered[static_cast<size_t>(id)]) throw LoweringError("output '" + v.name + "' was not lowered");
    Halide::Func f = values[static_cast<size_t>(id)].f;
    bool isInput = v.producer < 0;
    bool readByOthers = false;  // an output that later ops read too (segnet's logits -> probs)
    for (const Op &op : g.ops)
      for (int in : op.inputs) readByOthers |= in == id;
    // An output must be a Func of its own, written once into the caller's
    // buffer, and pure: Halide 14 emits aligned vector stores into an output
    // with an update stage (docs/codegen.md, "Why every kernel output is a
    // pure Func"). This whole-network pipeline (JIT tests, autoschedulers)
    // keeps the conservative rule of copying every output of a multi-output
    // pipeline; compiled models use per-op kernels (KernelLowering.cpp).
    bool severalOutputs = g.outputs.size() > 1;
    if (isInput || readByOthers || severalOutputs || used.count(f.name())) {
      Dims d = dimsOf(v.shape);
      Halide::Func copy(namer.unique(v.name + "_out"));
      copy(d.vars) = f(d.exprs());
      schedulePointwise(copy, d, opts);
      f = copy;
    }
    used.insert(f.name());
    constrainDense(f.output_buffer(), v.shape, true);
    m.outputs.push_back(f);
  }
  m.pipeline = Halide::Pipeline(m.outputs);
  return m;
}

bool runLowered(const Graph &g, LoweredModel &m, const TensorMap &params, const std::vector<TensorF32> &inputs,
                std::vector<TensorF32> &outputs, std::string &error, const Halide::Target &target) {
  auto halideSizes = [](const Shape &s) {
    std::vector<int> sizes;
    for (auto it = s.rbegin(); it != s.rend(); ++it) sizes.push_back(static_cast<int>(*it));
    return sizes;
  };
  if (inputs.size() != g.inputs.size() || m.inputs.size() != g.inputs.size() || m.params.size() != g.params.size()) {
    error = "expected " + std::to_string(g.inputs.size()) + " inputs, got " + std::to_string(inputs.size());
    return false;
  }
  int64_t batch = inputs.empty() || inputs[0].shape.empty() ? 0 : inputs[0].shape[0];
  if (batch < 1 || batch > g.maxBatch) {
    error = "batch " + std::to_string(batch) + " is outside 1.." + std::to_string(g.maxBatch);
    return false;
  }
  // Halide buffers wrap copies, so the caller's tensors stay const.
  std::vector<std::vector<float>> storage;
  storage.reserve(inputs.size() + g.params.size());
  std::vector<Halide::Buffer<float>> bound;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Shape want = g.value(g.inputs[k]).shape;
    want.insert(want.begin(), batch);
    if (inputs[k].shape != want || static_cast<int64_t>(inputs[k].data.size()) != numElements(want)) {
      error = "input " + std::to_string(k) + " has shape " + shapeStr(inputs[k].shape) + ", expected " + shapeStr(want);
      return false;
    }
    storage.push_back(inputs[k].data);
    bound.emplace_back(storage.back().data(), halideSizes(want));
    m.inputs[k].set(bound.back());
  }
  for (size_t k = 0; k < g.params.size(); ++k) {
    const Param &p = g.params[k];
    auto it = params.find(p.name);
    if (it == params.end() || it->second.shape != p.shape ||
        static_cast<int64_t>(it->second.data.size()) != numElements(p.shape)) {
      error = "parameter '" + p.name + "' is missing or not of shape " + shapeStr(p.shape);
      return false;
    }
    storage.push_back(it->second.data);
    bound.emplace_back(storage.back().data(), halideSizes(p.shape));
    m.params[k].set(bound.back());
  }
  std::vector<Halide::Buffer<void>> outBufs;
  std::vector<Shape> outShapes;
  for (int id : g.outputs) {
    Shape s = g.value(id).shape;
    s.insert(s.begin(), batch);
    outShapes.push_back(s);
    outBufs.emplace_back(Halide::Buffer<float>(halideSizes(s)));
  }
  try {
    Halide::Realization r(outBufs);
    m.pipeline.realize(r, target);
  } catch (const std::exception &e) {
    error = std::string("Halide: ") + e.what();
    for (auto &ip : m.inputs) ip.reset();
    for (auto &ip : m.params) ip.reset();
    return false;
  }
  outputs.clear();
  for (size_t k = 0; k < outBufs.size(); ++k) {
    Halide::Buffer<float> b = outBufs[k];
    TensorF32 t;
    t.shape = outShapes[k];
    t.data.assign(b.data(), b.data() + numElements(t.shape));
    outputs.push_back(std::move(t));
  }
  for (auto &ip : m.inputs) ip.reset();
  for (auto &ip : m.params) ip.reset();
  return true;
}

}  // namespace nncc
