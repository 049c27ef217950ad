// Per-op kernels: each op of a graph becomes a Halide pipeline of its own,
// with the op's inputs and parameters as arguments and its value as the one
// output. A compiled model calls one kernel per op on buffers of its memory
// plan (compiler/passes/MemoryPlan.h); identical ops share one kernel.
// With LowerOptions::prepackConvWeights a channels-innermost conv2d takes
// its weight prepacked, and its pack kernel (weight -> packed weight) is
// lowered here too.
#include "compiler/ir/FusedPool.h"
#include "compiler/lower/ConvKernel.h"

#include <sstream>

namespace nncc {

namespace lower {

LowerOptions optionsForOp(const Graph &g, const Op &op, const LowerOptions &options) {
  LowerOptions opts = options;
  if (opts.choices) {
    auto it = opts.choices->find(kernelKey(g, op));
    if (it != opts.choices->end()) opts.choice = it->second;
  }
  return opts;
}

}  // namespace lower

LoweredKernel lowerOpKernel(const Graph &g, const Op &op, const LowerOptions &options) {
  using namespace lower;
  LowerOptions opts = optionsForOp(g, op, options);
  std::optional<ConvWeightPacking> packing = prepackedConvWeight(g, op, opts);
  Namer namer;
  LoweredKernel k;
  std::vector<LValue> inputs;
  inputs.reserve(op.inputs.size());
  std::vector<std::string> inputFuncs;
  for (size_t i = 0; i < op.inputs.size(); ++i) {
    Value v = g.value(op.inputs[i]);
    if (!v.shapeKnown) throw LoweringError(op.name + ": input '" + v.name + "' has no inferred shape");
    v.name = "in" + std::to_string(i);
    Halide::ImageParam ip;
    inputs.push_back(bindInput(v, namer, ip));
    inputFuncs.push_back(inputs.back().f.name());
    k.arguments.emplace_back(ip);
    k.imageParams.push_back(ip);
  }
  std::vector<Halide::ImageParam> params;
  for (int p : op.params) {
    Param prm = g.params[static_cast<size_t>(p)];
    if (packing && prm.role == ParamRole::Weight) prm.shape = packing->shape();  // dense, static
    params.push_back(bindParam(prm, namer));
    k.arguments.emplace_back(params.back());
    k.imageParams.push_back(params.back());
  }
  std::vector<const LValue *> ins;
  for (const LValue &v : inputs) ins.push_back(&v);
  Halide::Func f = lowerOp(g, op, opts, namer, ins, params, packing.has_value());
  const Shape &shape = g.value(op.output).shape;
  const Layout layout = g.value(op.output).layout;
  bool isInput = false;
  for (const std::string &n : inputFuncs) isInput |= f.name() == n;
  // The output must be a pure Func of its own: for an identity (dropout),
  // and for a Func with an update stage, for which Halide 14 emits aligned
  // vector stores (vmovaps) into the caller's buffer, assuming its host
  // pointer vector-aligned; a malloc'd output (16-byte aligned) then faults.
  // (That was the "multi-output" crash of earlier versions: segnet_tiny's
  // logits, a conv without a fused activation, at batch 3.)
  if (isInput || f.has_update_definition()) {
    Dims d = dimsOf(shape, layout);
    Halide::Func copy(namer.unique(op.name + "_out"));
    copy(d.vars) = f(d.exprs());
    schedulePointwise(copy, d, opts);
    f = copy;
  }
  constrainLayout(f.output_buffer(), shape, layout, true, g.value(op.output).border, true);
  k.pipeline = Halide::Pipeline(f);
  return k;
}

std::optional<Shape> packedWeightShape(const Graph &g, const Op &op, const LowerOptions &opts) {
  std::optional<lower::ConvWeightPacking> packing = lower::prepackedConvWeight(g, op, lower::optionsForOp(g, op, opts));
  if (!packing) return std::nullopt;
  return packing->shape();
}

// packed = ConvWeightPacking::define(weight), the output dense with its
// static shape, f vectorized, parallel over the blocks.
LoweredKernel lowerConvWeightPackKernel(const Graph &g, const Op &op, const LowerOptions &options) {
  using namespace lower;
  LowerOptions opts = optionsForOp(g, op, options);
  std::optional<ConvWeightPacking> packing = prepackedConvWeight(g, op, opts);
  if (!packing) throw LoweringError(op.name + ": its weight is not prepacked");
  const Param *weight = nullptr;
  for (int p : op.params)
    if (g.params[static_cast<size_t>(p)].role == ParamRole::Weight) weight = &g.params[static_cast<size_t>(p)];
  if (!weight) throw LoweringError(op.name + ": missing parameter 'weight'");
  Namer namer;
  LoweredKernel k;
  Halide::ImageParam w = bindParam(*weight, namer);  // conv2d (kx, ky, ci, f); dense (i, u), a 1 x 1 conv's
  k.arguments.emplace_back(w);
  k.imageParams.push_back(w);
  const bool dense = op.kind == OpKind::Dense;
  Halide::Func packed = packing->define([w, dense](Halide::Expr kx, Halide::Expr ky, Halide::Expr ci, Halide::Expr f) {
    return dense ? w(ci, f) : w(kx, ky, ci, f);
  }, namer.unique(op.name + "_packed_weight"));
  packing->schedule(packed, machineShape(opts));
  constrainDense(packed.output_buffer(), packing->shape(), false);
  k.pipeline = Halide::Pipeline(packed);
  return k;
}

std::string convWeightPackKernelKey(const Graph &g, const Op &op, const LowerOptions &opts) {
  std::optional<Shape> packed = packedWeightShape(g, op, opts);
  for (int p : op.params) {
    const Param &prm = g.params[static_cast<size_t>(p)];
    if (prm.role == ParamRole::Weight && packed)
      return "pack-conv-weight weight" + shapeStr(prm.shape) + " ->" + shapeStr(*packed);
  }
  return "";
}

std::string kernelKey(const Graph &g, const Op &op) {
  std::ostringstream os;
  auto layoutTag = [&](int v) {
    const Value &val = g.value(v);
    return std::string(val.layout == Layout::ChannelsLast ? "/channels_last" : "") +
           (val.border > 0 ? "+border" + std::to_string(val.border) : "");
  };
  os << opName(op.kind) << " ->" << shapeStr(g.value(op.output).shape) << layoutTag(op.output);
  for (const auto &kv : op.attrs) os << " " << kv.first << "=" << kv.second.str();
  if (op.fused.batchnorm) os << " +batchnorm(" << Attr::makeFloat(op.fused.batchnormEpsilon).str() << ")";
  if (op.fused.residual) os << " +residual";
  if (op.fused.preprocess)
    os << " +preprocess(" << Attr::makeFloatList(op.fused.preprocessMean).str() << ", "
       << Attr::makeFloatList(op.fused.preprocessStd).str() << ")";
  os << fusedPoolStr(op);
  for (int in : op.inputs) os << " in" << shapeStr(g.value(in).shape) << layoutTag(in);
  for (int p : op.params) {
    const Param &prm = g.params[static_cast<size_t>(p)];
    os << " " << paramRoleSuffix(prm.role) << shapeStr(prm.shape);
  }
  return os.str();
}

}  // namespace nncc
