// Autodiff (see Autodiff.h): which values need a gradient, the losses, then
// the ops in reverse topological order, each through its gradient rule.
#include "compiler/passes/Autodiff.h"

#include <sstream>

namespace nncc {
namespace {

// How an op passes gradients to its inputs.
enum class InputRule {
  None,     // no gradient rule (an error on a trainable path)
  Alias,    // the input's gradient is the output's, maybe reshaped
  Kernel,   // a kernel computes it
};

InputRule inputRule(const Op &op) {
  switch (op.kind) {
    case OpKind::Add:
    case OpKind::Flatten:
    case OpKind::Reshape:
      return InputRule::Alias;
    case OpKind::Dropout:
      return op.floatAttr("rate") == 0.0 ? InputRule::Alias : InputRule::Kernel;
    case OpKind::Dense:
    case OpKind::Conv2D:
    case OpKind::Conv2DTranspose:
    case OpKind::MaxPool2D:
    case OpKind::AvgPool2D:
    case OpKind::GlobalAvgPool2D:
    case OpKind::GlobalMaxPool2D:
    case OpKind::Relu:
    case OpKind::Sigmoid:
    case OpKind::Tanh:
    case OpKind::LeakyRelu:
    case OpKind::Elu:
    case OpKind::Softmax:
    case OpKind::LogSoftmax:
    case OpKind::Concat:
    case OpKind::BatchNorm:
      return InputRule::Kernel;
    default:
      return InputRule::None;
  }
}

bool hasParamRule(const Op &op) {
  return op.kind == OpKind::Dense || op.kind == OpKind::Conv2D || op.kind == OpKind::Conv2DTranspose ||
         op.kind == OpKind::BatchNorm;
}

std::string why(const Op &op) {
  switch (op.kind) {
    case OpKind::Step: return "'step' has no gradient; use sigmoid or another activation to train";
    default: return std::string("training through '") + opName(op.kind) + "' is not supported";
  }
}

}  // namespace

bool trainsDifferently(const Op &op) {
  return op.kind == OpKind::BatchNorm || (op.kind == OpKind::Dropout && op.floatAttr("rate") > 0.0);
}

bool buildBackward(const Graph &g, BackwardProgram &bp, Diagnostics &diags) {
  bp = BackwardProgram();
  bp.valueGrad.assign(g.values.size(), -1);
  if (!g.training) return true;
  const TrainingConfig &t = *g.training;
  bool ok = true;

  // A value needs a gradient when a trainable parameter influences it.
  std::vector<bool> needs(g.values.size(), false);
  for (const Op &op : g.ops) {
    bool n = false;
    for (int in : op.inputs) n = n || needs[static_cast<size_t>(in)];
    for (int p : op.params) n = n || g.params[static_cast<size_t>(p)].trainable;
    needs[static_cast<size_t>(op.output)] = n;
  }

  // Gradient contributions per value, filled as the steps are built.
  std::vector<std::vector<int>> contributions(g.values.size());
  auto newGrad = [&](const std::string &name, const Shape &shape, int aliasOf = -1) {
    bp.grads.push_back({name, shape, aliasOf});
    return static_cast<int>(bp.grads.size()) - 1;
  };

  for (size_t l = 0; l < t.losses.size(); ++l) {
    const Loss &loss = t.losses[l];
    const Value &v = g.value(loss.output);
    TrainStep s(TrainStepKind::Loss);
    s.loss = static_cast<int>(l);
    s.gradOut = newGrad("d" + v.name + "@loss" + std::to_string(l), v.shape);
    contributions[static_cast<size_t>(loss.output)].push_back(s.gradOut);
    bp.steps.push_back(s);
  }

  // The gradient of value v: its one contribution, or their sum.
  auto finalize = [&](int v) -> int {
    std::vector<int> &c = contributions[static_cast<size_t>(v)];
    if (c.empty()) return -1;
    if (c.size() == 1) return bp.valueGrad[static_cast<size_t>(v)] = c[0];
    TrainStep s(TrainStepKind::Sum);
    s.gradIns = c;
    s.gradOut = newGrad("d" + g.value(v).name, g.value(v).shape);
    bp.steps.push_back(s);
    return bp.valueGrad[static_cast<size_t>(v)] = s.gradOut;
  };

  for (size_t i = g.ops.size(); i-- > 0;) {
    const Op &op = g.ops[i];
    int dy = finalize(op.output);
    if (dy < 0) continue;  // the op does not influence the cost
    bool trainableParams = false;
    for (int p : op.params) trainableParams = trainableParams || g.params[static_cast<size_t>(p)].trainable;
    if (trainableParams && !hasParamRule(op)) {
      diags.error(op.loc, why(op));
      ok = false;
      continue;
    }
    for (size_t k = 0; k < op.params.size(); ++k) {
      int p = op.params[k];
      if (!g.params[static_cast<size_t>(p)].trainable) continue;
      TrainStep s(TrainStepKind::ParamGrad);
      s.op = static_cast<int>(i);
      s.wrt = static_cast<int>(k);
      s.param = p;
      s.gradIns = {dy};
      bp.steps.push_back(s);
    }
    for (size_t k = 0; k < op.inputs.size(); ++k) {
      int in = op.inputs[k];
      if (!needs[static_cast<size_t>(in)]) continue;
      InputRule rule = inputRule(op);
      if (rule == InputRule::None) {
        diags.error(op.loc, why(op));
        ok = false;
        break;
      }
      const Value &v = g.value(in);
      if (rule == InputRule::Alias) {
        int root = bp.grads[static_cast<size_t>(dy)].aliasOf >= 0 ? bp.grads[static_cast<size_t>(dy)].aliasOf : dy;
        contributions[static_cast<size_t>(in)].push_back(newGrad("d" + v.name + "@" + op.name, v.shape, root));
        continue;
      }
      TrainStep s(TrainStepKind::InputGrad);
      s.op = static_cast<int>(i);
      s.wrt = static_cast<int>(k);
      s.gradIns = {dy};
      s.gradOut = newGrad("d" + v.name + "@" + op.name, v.shape);
      contributions[static_cast<size_t>(in)].push_back(s.gradOut);
      bp.steps.push_back(s);
    }
  }

  if (t.l1 != 0.0 || t.l2 != 0.0)
    for (size_t p = 0; p < g.params.size(); ++p)
      if (g.params[p].trainable && g.params[p].regularized) {
        TrainStep s(TrainStepKind::RegCost);
        s.param = static_cast<int>(p);
        bp.steps.push_back(s);
      }
  return ok;
}

std::string printBackward(const Graph &g, const BackwardProgram &bp) {
  std::ostringstream os;
  auto gname = [&](int b) { return "%" + bp.grads[static_cast<size_t>(b)].name; };
  os << "backward " << g.name << ": " << bp.steps.size() << " steps, " << bp.grads.size() << " gradient buffers\n";
  for (const TrainStep &s : bp.steps) {
    os << "  ";
    switch (s.kind) {
      case TrainStepKind::Loss: {
        const Loss &l = g.training->losses[static_cast<size_t>(s.loss)];
        os << gname(s.gradOut) << ", cost" << s.loss << " = " << lossKindName(l.kind) << "(%" << g.value(l.output).name
           << ", target" << s.loss << ")";
        break;
      }
      case TrainStepKind::ParamGrad:
        os << "grad @" << g.params[static_cast<size_t>(s.param)].name << " = " << opName(g.ops[static_cast<size_t>(s.op)].kind)
           << "_grad_" << paramRoleSuffix(g.params[static_cast<size_t>(s.param)].role) << "(" << gname(s.gradIns[0]) << ")";
        break;
      case TrainStepKind::InputGrad:
        os << gname(s.gradOut) << " = " << opName(g.ops[static_cast<size_t>(s.op)].kind) << "_grad_input" << s.wrt << "("
           << gname(s.gradIns[0]) << ")";
        break;
      case TrainStepKind::Sum: {
        os << gname(s.gradOut) << " = sum(";
        for (size_t k = 0; k < s.gradIns.size(); ++k) os << (k ? ", " : "") << gname(s.gradIns[k]);
        os << ")";
        break;
      }
      case TrainStepKind::RegCost:
        os << "cost += regularization(@" << g.params[static_cast<size_t>(s.param)].name << ")";
        break;
    }
    os << "\n";
  }
  for (size_t b = 0; b < bp.grads.size(); ++b)
    if (bp.grads[b].aliasOf >= 0)
      os << "  " << gname(static_cast<int>(b)) << " " << shapeStr(bp.grads[b].shape) << " aliases "
         << gname(bp.grads[b].aliasOf) << "\n";
  return os.str();
}

}  // namespace nncc
