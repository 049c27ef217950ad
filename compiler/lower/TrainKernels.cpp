// The training kernels' driver (see Lowering.h): binds a backward-program
// step's arguments as ImageParams in the documented order, calls the op's
// gradient rule, the loss or the optimizer, and makes every output a pure
// Func of its own (see KernelLowering.cpp for why). Also the kernel keys that
// let identical steps share one kernel. A weight's gradient kernel in
// train_step may end in the optimizer's update (lowerFusedUpdateKernel).
#include "compiler/lower/TrainKernels.h"

#include <sstream>

namespace nncc {

namespace {

using lower::LValue;
using lower::Namer;

// An output Func with no update stage (Halide 14 emits aligned stores into
// an output with one, which a gradient array slice need not be).
Halide::Func pureOutput(Halide::Func f, const Shape &shape, bool batched, Namer &namer, const LowerOptions &opts) {
  if (!f.has_update_definition() && f.outputs() == 1) {
    f.compute_root();
    return f;
  }
  lower::Dims d = lower::dimsOf(shape);
  if (!batched) d.vars.pop_back(), d.extents.pop_back();
  Halide::Func out(namer.unique(f.name() + "_out"));
  out(d.vars) = f(d.exprs());
  if (batched) lower::schedulePointwise(out, d, opts);
  return out;
}

LValue bindValue(const std::string &name, const Shape &shape, Halide::Type type, Namer &namer,
                 std::vector<Halide::Argument> &args, Halide::ImageParam *keep = nullptr) {
  lower::Dims d = lower::dimsOf(shape);
  Halide::ImageParam ip(type, static_cast<int>(d.size()), namer.unique(name));
  lower::constrainDense(ip, shape, true);
  Halide::Func f(namer.unique(name + "_in"));
  f(d.vars) = ip(d.exprs());
  args.emplace_back(ip);
  if (keep) *keep = ip;
  return {f, shape};
}

Halide::ImageParam bindFlat(const std::string &name, int64_t numel, Namer &namer, std::vector<Halide::Argument> &args) {
  Halide::ImageParam ip(Halide::Float(32), 1, namer.unique(name));
  lower::constrainDense(ip, Shape{numel}, false);
  args.emplace_back(ip);
  return ip;
}

// Dense bounds on a kernel's output buffers; the buffers of a Tuple after the
// first share its bounds (Halide's rule), so only their strides are set.
void constrainOutput(Halide::Func f, const Shape &shape, bool batched) {
  if (f.outputs() == 1) return lower::constrainDense(f.output_buffer(), shape, batched);
  std::vector<Halide::OutputImageParam> bufs = f.output_buffers();
  lower::constrainDense(bufs[0], shape, batched);
  for (size_t k = 1; k < bufs.size(); ++k) {
    int stride = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
      bufs[k].dim(static_cast<int>(d)).set_stride(stride);
      stride *= static_cast<int>(shape[shape.size() - 1 - d]);
    }
  }
}

bool isClassification(LossKind k) { return k == LossKind::SoftmaxCrossEntropy || k == LossKind::CrossEntropy; }

// A gradient step's arguments bound in the documented order (the op's
// inputs, its output, the output's gradient, its parameters, dropout's
// scalars), then its gradient rule: the parameter's or the input's gradient.
// `params` receives the op's parameters by role.
Halide::Func lowerGradientRule(const Graph &g, const TrainStep &s, const LowerOptions &opts, Namer &namer,
                               std::vector<Halide::Argument> &args, std::map<ParamRole, Halide::ImageParam> &params) {
  const TrainingConfig &t = *g.training;
  const Op &op = g.ops[static_cast<size_t>(s.op)];
  std::vector<LValue> inputs;
  Halide::ImageParam first;
  for (size_t j = 0; j < op.inputs.size(); ++j)
    inputs.push_back(bindValue("in" + std::to_string(j), g.value(op.inputs[j]).shape, Halide::Float(32), namer, args,
                               j == 0 ? &first : nullptr));
  const Shape &yShape = g.value(op.output).shape;
  LValue y = bindValue("out", yShape, Halide::Float(32), namer, args);
  LValue dy = bindValue("dout", yShape, Halide::Float(32), namer, args);
  lower::GradArgs a{g, op, opts, namer, inputs, y, dy, {}, first.dim(first.dimensions() - 1).extent(), t.l1, t.l2};
  for (int p : op.params) {
    Halide::ImageParam ip = lower::bindParam(g.params[static_cast<size_t>(p)], namer);
    args.emplace_back(ip);
    a.params.emplace(g.params[static_cast<size_t>(p)].role, ip);
  }
  params = a.params;
  lower::DropoutScalars dropout;  // Params: the Exprs and `args` keep them alive
  if (op.kind == OpKind::Dropout) {
    args.emplace_back(dropout.seedLo);
    args.emplace_back(dropout.seedHi);
    args.emplace_back(dropout.step);
    a.dropout = &dropout;
  }
  if (s.kind == TrainStepKind::ParamGrad) return lower::lowerParamGradient(a, g.params[static_cast<size_t>(s.param)]);
  return lower::lowerInputGradient(a, s.wrt);
}

// An optimizer update over `numel` elements: vectorized, all dimensions
// fused first; GuardWithIf, as the update is in place (a shifted tail would
// update some elements twice). A weight of 32 K elements or more is
// parallel over its outermost dimension (the others fused and vectorized):
// the update streams the weight, its gradient and the optimizer's states
// (20-28 bytes per element), which one core cannot keep up with.
// (Splitting the fused dimension into tasks with GuardWithIf instead wrote
// past the buffers in Halide 14: mlp's second training loss changed, and
// Optimizer.SgdMomentumOnALargeWeight aborts on the heap corruption.)
void scheduleUpdate(Halide::Func upd, int64_t numel, const LowerOptions &opts) {
  constexpr int64_t kParallelElements = 1 << 15;
  std::vector<Halide::Var> v = upd.args();
  const bool parallel = opts.schedule && v.size() >= 2 && numel >= kParallelElements;
  const size_t inner = parallel ? v.size() - 1 : v.size();
  Halide::Var i = v[0];
  for (size_t k = 1; k < inner; ++k) {
    Halide::Var fused(i.name() + "_" + v[k].name());
    upd.fuse(i, v[k], fused);
    i = fused;
  }
  if (parallel) upd.parallel(v.back());
  int lanes = lower::vectorFactor(opts, static_cast<int>(numel));
  if (lanes > 1) upd.vectorize(i, lanes, Halide::TailStrategy::GuardWithIf);
}

}  // namespace

int optimizerStateCount(const Graph &g) {
  return g.training ? lower::optimizerStates(g.training->optimizer, g.training->optimizerArgs) : 0;
}

std::vector<std::string> optimizerStateNames(const Graph &g) {
  return g.training ? lower::optimizerStateNames(g.training->optimizer, g.training->optimizerArgs)
                    : std::vector<std::string>{};
}

LoweredKernel lowerTrainKernel(const Graph &g, const BackwardProgram &bp, const TrainStep &s, const LowerOptions &opts) {
  Namer namer;
  LoweredKernel k;
  const TrainingConfig &t = *g.training;
  switch (s.kind) {
    case TrainStepKind::Loss: {
      const Loss &loss = t.losses[static_cast<size_t>(s.loss)];
      const Shape &shape = g.value(loss.output).shape;
      Halide::ImageParam yp;
      LValue y = bindValue("output", shape, Halide::Float(32), namer, k.arguments, &yp);
      bool cls = isClassification(loss.kind);
      LValue target = bindValue("target", cls ? Shape{} : shape, cls ? Halide::Int(32) : Halide::Float(32), namer,
                                k.arguments);
      Halide::Expr batch = yp.dim(static_cast<int>(shape.size())).extent();
      lower::LossFuncs f = lower::lowerLoss(loss.kind, y, target, batch, namer, opts);
      Halide::Func cost = pureOutput(f.cost, Shape{1}, false, namer, opts);
      Halide::Func dout = pureOutput(f.doutput, shape, true, namer, opts);
      Halide::Func correct = pureOutput(f.correct, Shape{1}, false, namer, opts);
      constrainOutput(cost, Shape{1}, false);
      constrainOutput(dout, shape, true);
      constrainOutput(correct, Shape{1}, false);
      k.pipeline = Halide::Pipeline({cost, dout, correct});
      return k;
    }
    case TrainStepKind::Sum: {
      const Shape &shape = bp.grads[static_cast<size_t>(s.gradOut)].shape;
      lower::Dims d = lower::dimsOf(shape);
      Halide::Expr sum;
      for (size_t j = 0; j < s.gradIns.size(); ++j) {
        LValue c = bindValue("contribution" + std::to_string(j), shape, Halide::Float(32), namer, k.arguments);
        sum = sum.defined() ? sum + c.f(d.exprs()) : c.f(d.exprs());
      }
      Halide::Func out(namer.unique("sum"));
      out(d.vars) = sum;
      lower::schedulePointwise(out, d, opts);
      constrainOutput(out, shape, true);
      k.pipeline = Halide::Pipeline(out);
      return k;
    }
    case TrainStepKind::RegCost: {
      int64_t numel = numElements(g.params[static_cast<size_t>(s.param)].shape);
      Halide::ImageParam w = bindFlat("weight", numel, namer, k.arguments);
      Halide::Func cost = pureOutput(lower::lowerRegularizationCost(w, numel, t.l1, t.l2, namer), Shape{1}, false, namer, opts);
      constrainOutput(cost, Shape{1}, false);
      k.pipeline = Halide::Pipeline(cost);
      return k;
    }
    case TrainStepKind::ParamGrad:
    case TrainStepKind::InputGrad: {
      std::map<ParamRole, Halide::ImageParam> params;
      Halide::Func grad = lowerGradientRule(g, s, opts, namer, k.arguments, params);
      Halide::Func out;
      if (s.kind == TrainStepKind::ParamGrad) {
        const Param &p = g.params[static_cast<size_t>(s.param)];
        out = pureOutput(grad, p.shape, false, namer, opts);
        constrainOutput(out, p.shape, false);
      } else {
        const Op &op = g.ops[static_cast<size_t>(s.op)];
        const Shape &xShape = g.value(op.inputs[static_cast<size_t>(s.wrt)]).shape;
        out = pureOutput(grad, xShape, true, namer, opts);
        constrainOutput(out, xShape, true);
      }
      k.pipeline = Halide::Pipeline(out);
      return k;
    }
  }
  throw LoweringError("unknown training step");
}

std::string trainKernelKey(const Graph &g, const BackwardProgram &bp, const TrainStep &s) {
  std::ostringstream os;
  const TrainingConfig &t = *g.training;
  switch (s.kind) {
    case TrainStepKind::Loss: {
      const Loss &l = t.losses[static_cast<size_t>(s.loss)];
      os << "loss " << lossKindName(l.kind) << shapeStr(g.value(l.output).shape);
      break;
    }
    case TrainStepKind::Sum:
      os << "sum " << s.gradIns.size() << shapeStr(bp.grads[static_cast<size_t>(s.gradOut)].shape);
      break;
    case TrainStepKind::RegCost:
      os << "reg l1=" << t.l1 << " l2=" << t.l2 << " n=" << numElements(g.params[static_cast<size_t>(s.param)].shape);
      break;
    case TrainStepKind::ParamGrad: {
      const Param &p = g.params[static_cast<size_t>(s.param)];
      os << "grad " << paramRoleSuffix(p.role) << (p.regularized ? " reg" : "") << " l1=" << t.l1 << " l2=" << t.l2
         << " of " << kernelKey(g, g.ops[static_cast<size_t>(s.op)]);
      break;
    }
    case TrainStepKind::InputGrad:
      os << "grad input" << s.wrt << " of " << kernelKey(g, g.ops[static_cast<size_t>(s.op)]);
      break;
  }
  return os.str();
}

LoweredKernel lowerUpdateKernel(const Graph &g, int64_t numel, const LowerOptions &opts) {
  (void)opts;
  Namer namer;
  LoweredKernel k;
  const TrainingConfig &t = *g.training;
  Halide::ImageParam p = bindFlat("param", numel, namer, k.arguments);
  Halide::ImageParam grad = bindFlat("grad", numel, namer, k.arguments);
  std::vector<Halide::ImageParam> states;
  for (int j = 0; j < optimizerStateCount(g); ++j) states.push_back(bindFlat("state" + std::to_string(j), numel, namer, k.arguments));
  lower::UpdateScalars sc;
  k.arguments.emplace_back(sc.lr);
  k.arguments.emplace_back(sc.bc1);
  k.arguments.emplace_back(sc.bc2);
  Halide::Func upd = lower::lowerOptimizerUpdate(t, p, grad, states, sc, namer);
  scheduleUpdate(upd, numel, opts);
  constrainOutput(upd, Shape{numel}, false);
  k.pipeline = Halide::Pipeline(upd);
  return k;
}

bool fusesUpdate(const Graph &g, const TrainStep &s) {
  if (s.kind != TrainStepKind::ParamGrad) return false;
  const Param &p = g.params[static_cast<size_t>(s.param)];
  return p.trainable && p.role == ParamRole::Weight;
}

LoweredKernel lowerFusedUpdateKernel(const Graph &g, const BackwardProgram &bp, const TrainStep &s,
                                     const LowerOptions &opts) {
  (void)bp;
  Namer namer;
  LoweredKernel k;
  const Param &p = g.params[static_cast<size_t>(s.param)];
  std::map<ParamRole, Halide::ImageParam> params;
  // The gradient as the rule schedules it, computed once per call inside
  // this kernel; the update reads it (and the weight, which the gradient's
  // regularization term reads first) element by element.
  Halide::Func grad = pureOutput(lowerGradientRule(g, s, opts, namer, k.arguments, params), p.shape, false, namer, opts);
  grad.compute_root();
  lower::Dims d = lower::dimsOf(p.shape);
  d.vars.pop_back(), d.extents.pop_back();
  std::vector<Halide::Expr> at = d.exprs(), states;
  for (int j = 0; j < optimizerStateCount(g); ++j) {
    Halide::ImageParam st(Halide::Float(32), static_cast<int>(p.shape.size()), namer.unique("state" + std::to_string(j)));
    lower::constrainDense(st, p.shape, false);
    k.arguments.emplace_back(st);
    states.push_back(st(at));
  }
  lower::UpdateScalars sc;
  k.arguments.emplace_back(sc.lr);
  k.arguments.emplace_back(sc.bc1);
  k.arguments.emplace_back(sc.bc2);
  Halide::Func upd = lower::lowerOptimizerUpdate(*g.training, d.vars, params.at(p.role)(at), grad(at), states, sc, namer);
  scheduleUpdate(upd, numElements(p.shape), opts);
  constrainOutput(upd, p.shape, false);
  k.pipeline = Halide::Pipeline(upd);
  return k;
}

std::string fusedUpdateKernelKey(const Graph &g, const BackwardProgram &bp, const TrainStep &s) {
  return trainKernelKey(g, bp, s) + " then " + updateKernelKey(g, numElements(g.params[static_cast<size_t>(s.param)].shape));
}

LoweredKernel lowerTrainForwardKernel(const Graph &g, const Op &op, const LowerOptions &opts) {
  Namer namer;
  LoweredKernel k;
  const Shape &shape = g.value(op.output).shape;
  Halide::ImageParam xp;
  LValue x = bindValue("in0", g.value(op.inputs.at(0)).shape, Halide::Float(32), namer, k.arguments, &xp);
  if (op.kind == OpKind::Dropout) {
    lower::DropoutScalars s;
    k.arguments.emplace_back(s.seedLo);
    k.arguments.emplace_back(s.seedHi);
    k.arguments.emplace_back(s.step);
    lower::Dims d = lower::dimsOf(shape);
    Halide::Func scale = lower::dropoutScale(op, shape, s, namer);
    Halide::Func y(namer.unique(op.name));
    y(d.vars) = x.f(d.exprs()) * scale(d.exprs());
    lower::schedulePointwise(y, d, opts);
    constrainOutput(y, shape, true);
    k.pipeline = Halide::Pipeline(y);
    return k;
  }
  if (op.kind != OpKind::BatchNorm) throw LoweringError(op.name + ": no training forward for '" + opName(op.kind) + "'");
  std::map<ParamRole, Halide::ImageParam> params;
  for (int p : op.params) {
    Halide::ImageParam ip = lower::bindParam(g.params[static_cast<size_t>(p)], namer);
    k.arguments.emplace_back(ip);
    params.emplace(g.params[static_cast<size_t>(p)].role, ip);
  }
  lower::BatchNormTrainFuncs f =
      lower::batchNormTrainForward(op, x, params, xp.dim(xp.dimensions() - 1).extent(), namer, opts);
  Shape channels{shape.at(0)};
  Halide::Func y = pureOutput(f.y, shape, true, namer, opts);
  constrainOutput(y, shape, true);
  constrainOutput(f.runningMean, channels, false);
  constrainOutput(f.runningVar, channels, false);
  k.pipeline = Halide::Pipeline({y, f.runningMean, f.runningVar});
  return k;
}

std::string trainForwardKernelKey(const Graph &g, const Op &op) { return "train-forward " + kernelKey(g, op); }

std::string updateKernelKey(const Graph &g, int64_t numel) {
  std::ostringstream os;
  os << "update " << g.training->optimizer;
  for (const auto &kv : g.training->optimizerArgs) os << " " << kv.first << "=" << kv.second;
  os << " n=" << numel;
  return os.str();
}

}  // namespace nncc
