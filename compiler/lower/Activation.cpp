// Lowering of the activation family: relu, sigmoid, tanh, step, leaky_relu,
// elu (one pointwise Func) and softmax, log_softmax (a max and a sum of
// exponentials along the axis, then one pointwise Func: numerically stable).
// `activate` serves both the standalone layers and the fused `activation`
// attribute of dense, conv2d and conv2d_transpose.
#include "compiler/lower/LowerOps.h"

namespace nncc {
namespace lower {
namespace {

using Halide::Expr;
using Halide::Func;

Expr activateElement(OpKind kind, double alpha, Expr x) {
  switch (kind) {
    case OpKind::Relu: return Halide::max(x, 0.f);
    case OpKind::Sigmoid: return 1.f / (1.f + Halide::exp(-x));
    case OpKind::Tanh: return Halide::tanh(x);
    case OpKind::Step: return Halide::select(x > 0.f, 1.f, 0.f);
    case OpKind::LeakyRelu: return Halide::select(x > 0.f, x, f32(alpha) * x);
    case OpKind::Elu: return Halide::select(x > 0.f, x, f32(alpha) * (Halide::exp(x) - 1.f));
    default: throw LoweringError(std::string("'") + opName(kind) + "' is not an element-wise activation");
  }
}

// Schedule of the softmax family: the max and the sum are reductions over the
// axis, the result is pointwise.
void scheduleSoftmax(Func mx, Func sum, Func out, const Dims &reduced, const Dims &full, const Halide::RDom &r,
                     const LowerOptions &opts) {
  scheduleReduction(mx, reduced, {r.x}, opts);
  scheduleReduction(sum, reduced, {r.x}, opts);
  schedulePointwise(out, full, opts);
}

Func softmax(const LValue &in, int64_t axis, bool log, Namer &namer, const std::string &name,
             const LowerOptions &opts) {
  if (axis < 0 || axis >= static_cast<int64_t>(in.shape.size()))
    throw LoweringError(name + ": softmax axis " + std::to_string(axis) + " is out of range for " + shapeStr(in.shape));
  Dims full = dimsOf(in.shape);
  size_t k = halideDim(in.shape.size(), static_cast<size_t>(axis));
  Dims reduced = full.without(k);
  Halide::RDom r({Halide::Range(0, full.extents[k])}, namer.unique(name + "_r"));
  std::vector<Expr> at = full.exprs();
  at[k] = r.x;
  std::vector<Expr> red = reduced.exprs();

  Func mx(namer.unique(name + "_max")), sum(namer.unique(name + "_sum")), out(name);
  mx(reduced.vars) = Halide::Float(32).min();
  mx(red) = Halide::max(mx(red), in.f(at));
  sum(reduced.vars) = 0.f;
  sum(red) += Halide::exp(in.f(at) - mx(red));
  Expr shifted = in.f(full.exprs()) - mx(red);
  // strict_float: Halide would otherwise reassociate (x - max) - log(sum)
  // into x - (max + log(sum)), which rounds log(sum) away next to a large
  // max (tests/lit/hostile/numerics-log-softmax.test).
  out(full.vars) = log ? Halide::strict_float(shifted - Halide::log(sum(red))) : Halide::exp(shifted) / sum(red);
  scheduleSoftmax(mx, sum, out, reduced, full, r, opts);
  return out;
}

}  // namespace

Func activate(const Activation &act, const LValue &producer, Namer &namer, const std::string &name,
              const LowerOptions &opts, Layout layout) {
  if (act.kind == OpKind::Softmax || act.kind == OpKind::LogSoftmax)
    return softmax(producer, act.axis, act.kind == OpKind::LogSoftmax, namer, name, opts);
  Dims d = dimsOf(producer.shape, layout);
  Func out(name);
  out(d.vars) = activateElement(act.kind, act.alpha, producer.f(d.exprs()));
  schedulePointwise(out, d, opts);
  return out;
}

std::string preActivationName(const OpArgs &a) {
  return a.op.attr("activation").hasActivation ? a.name("preact") : a.name();
}

// An activation layer: its own attributes make the Activation.
Func lowerActivation(const OpArgs &a) {
  Activation act;
  act.kind = a.op.kind;
  if (a.op.attrs.count("alpha")) act.alpha = a.op.floatAttr("alpha");
  if (a.op.attrs.count("axis")) act.axis = a.op.intAttr("axis");
  if (a.in().shape != a.outShape) throw LoweringError(a.op.name + ": input and output shapes differ");
  return activate(act, a.in(), a.namer, a.name(), a.opts, a.g.value(a.op.output).layout);
}

}  // namespace lower
}  // namespace nncc
