// The model description (see ModelDescription.h): kernels deduplicated by
// key; the prepack program (each prepacked conv weight packed into the packed
// area); the forward program, one step per op on the refs of its inputs, its
// parameters (a prepacked weight: its packed slice) and its output, and the
// output copies of the memory plan; with
// training, the train program (the forward ops on the training arena, the
// losses and regularization costs, the backward steps), the update
// program (one in-place optimizer call per trainable parameter) and the
// train_step program (the weights' updates fused into their gradient
// kernels, the other parameters' updates after the backward steps).
#include "compiler/emit/ModelDescription.h"

#include "compiler/ir/OpCost.h"

#include <map>
#include <stdexcept>

namespace nncc {

namespace {

class Describer {
 public:
  Describer(const Graph &g, ModelDescription &d) : g_(g), d_(d) {}

  int kernel(const std::string &key, KernelSource src) {
    auto it = byKey_.find(key);
    if (it != byKey_.end()) return it->second;
    d_.kernelKeys.push_back(key);
    d_.kernelSources.push_back(src);
    return byKey_[key] = static_cast<int>(d_.kernelKeys.size()) - 1;
  }
  void ref(RefDesc::Kind kind, int index, int64_t offset, const Shape &dims, bool batched, bool isInt = false,
           Layout layout = Layout::Planar, int border = 0, bool interior = false) {
    RefDesc r;
    r.channelsLast = layout == Layout::ChannelsLast;
    r.border = border;
    r.interior = interior;
    r.kind = kind;
    r.index = index;
    r.offset = offset;
    r.dims = dims;
    r.batched = batched;
    r.isInt = isInt;
    d_.refs.push_back(r);
  }
  size_t mark() const { return d_.refs.size(); }
  void step(std::vector<StepDesc> &program, int kernel, size_t first, std::string name, int64_t work = -1) {
    program.push_back({kernel, static_cast<int>(first), static_cast<int>(d_.refs.size() - first), work, std::move(name)});
  }
  void params(const Op &op) {
    for (int p : op.params) ref(RefDesc::Param, p, 0, g_.params[static_cast<size_t>(p)].shape, false);
  }
  // The parameters of op `i`'s forward kernel: its weight prepacked, when
  // it is, the others raw.
  void forwardParams(size_t i) {
    const Op &op = g_.ops[i];
    for (int p : op.params) {
      const Param &prm = g_.params[static_cast<size_t>(p)];
      if (prm.role == ParamRole::Weight && i < packedOffset_.size() && packedOffset_[i] >= 0)
        ref(RefDesc::Packed, 0, packedOffset_[i], packedShape_[i], false);
      else
        ref(RefDesc::Param, p, 0, prm.shape, false);
    }
  }
  // The prepack program: each prepacked op's weight packed into its slice
  // of the packed area.
  void prepack(const std::vector<PackedWeightDesc> &packed) {
    packedOffset_.assign(g_.ops.size(), -1);
    packedShape_.assign(g_.ops.size(), Shape{});
    for (size_t i = 0; i < packed.size() && i < g_.ops.size(); ++i) {
      if (packed[i].packKey.empty()) continue;
      const Op &op = g_.ops[i];
      int weight = -1;
      for (int p : op.params)
        if (g_.params[static_cast<size_t>(p)].role == ParamRole::Weight) weight = p;
      if (weight < 0) throw std::logic_error(op.name + ": a prepacked weight needs a weight parameter");
      packedOffset_[i] = d_.packedFloats;
      packedShape_[i] = packed[i].shape;
      int k = kernel(packed[i].packKey, {KernelSource::Prepack, static_cast<int>(i), 0});
      size_t first = mark();
      ref(RefDesc::Param, weight, 0, g_.params[static_cast<size_t>(weight)].shape, false);
      ref(RefDesc::Packed, 0, d_.packedFloats, packed[i].shape, false);
      step(d_.prepack, k, first, "pack:" + op.name);
      // Each slice 128-byte aligned, as the arena's values.
      d_.packedFloats += (numElements(packed[i].shape) + 31) / 32 * 32;
    }
  }

 private:
  const Graph &g_;
  ModelDescription &d_;
  std::map<std::string, int> byKey_;
  std::vector<int64_t> packedOffset_;  // per op: its packed weight's offset, -1 when not prepacked
  std::vector<Shape> packedShape_;
};

int scheduleCode(const std::string &s) {
  if (s == "step") return 1;
  if (s == "exponential") return 2;
  if (s == "cosine") return 3;
  return 0;
}

// nncc_step.name of a backward-program step.
std::string trainStepName(const Graph &g, const TrainingConfig &tc, const TrainStep &s) {
  switch (s.kind) {
    case TrainStepKind::Loss: return "loss:" + g.value(tc.losses[static_cast<size_t>(s.loss)].output).name;
    case TrainStepKind::RegCost: return "regularization:" + g.params[static_cast<size_t>(s.param)].name;
    case TrainStepKind::Sum: return "grad-sum";
    case TrainStepKind::ParamGrad: return "grad:" + g.params[static_cast<size_t>(s.param)].name;
    case TrainStepKind::InputGrad:
      return "grad:" + g.ops[static_cast<size_t>(s.op)].name + ".input" + std::to_string(s.wrt);
  }
  return "";
}

void describeTraining(const Graph &g, const TrainingInput &t, Describer &ds, ModelDescription &d) {
  const TrainingConfig &tc = *g.training;
  const BackwardProgram &bp = *t.bp;
  const TrainingMemoryPlan &plan = *t.plan;
  d.hasTraining = true;
  d.trainArenaFloats = plan.arenaFloats;
  d.numStates = t.numStates;
  d.stateNames = t.stateNames;
  d.learningRate = tc.optimizerArgs.at("learning_rate");
  d.seed = g.seed;
  if (tc.optimizer == "adam") d.adamBeta1 = tc.optimizerArgs.at("beta1"), d.adamBeta2 = tc.optimizerArgs.at("beta2");
  d.schedule = scheduleCode(tc.schedule);
  if (tc.schedule == "step") d.scheduleArgs[0] = tc.scheduleArgs.at("step_size"), d.scheduleArgs[1] = tc.scheduleArgs.at("gamma");
  if (tc.schedule == "exponential") d.scheduleArgs[0] = tc.scheduleArgs.at("gamma");
  if (tc.schedule == "cosine") d.scheduleArgs[0] = tc.scheduleArgs.at("total_steps"), d.scheduleArgs[1] = tc.scheduleArgs.at("min_lr");
  for (const Param &p : g.params) {
    d.gradOffset.push_back(p.trainable ? d.numGradFloats : -1);
    if (p.trainable) d.numGradFloats += numElements(p.shape);
  }
  for (const Loss &l : tc.losses) {
    bool cls = l.kind == LossKind::SoftmaxCrossEntropy || l.kind == LossKind::CrossEntropy;
    const Value &v = g.value(l.output);
    d.targets.push_back({v.name + (cls ? "_labels" : "_targets"), cls ? Shape{1} : v.shape,
                         cls ? static_cast<int>(v.shape.at(0)) : 0});
  }

  auto valueRef = [&](int v) {
    int64_t off = plan.valueOffset[static_cast<size_t>(v)];
    if (off < 0) {
      for (size_t k = 0; k < g.inputs.size(); ++k)
        if (g.inputs[k] == v) return ds.ref(RefDesc::Input, static_cast<int>(k), 0, g.value(v).shape, true);
      throw std::logic_error("value " + g.value(v).name + " has no place in the training plan");
    }
    ds.ref(RefDesc::Arena, 0, off, g.value(v).shape, true);
  };
  auto gradRef = [&](int b) {
    ds.ref(RefDesc::Arena, 0, plan.gradOffset[static_cast<size_t>(b)], bp.grads[static_cast<size_t>(b)].shape, true);
  };
  auto scalars = [&](int slot) { ds.ref(RefDesc::Scalars, 0, int64_t(slot) * 16, Shape{1}, false); };
  auto dropoutScalars = [&] {
    for (int slot = 3; slot < 6; ++slot) ds.ref(RefDesc::Scalar, 0, int64_t(slot) * 16, Shape{}, false);
  };
  auto flatParam = [&](int p) {
    ds.ref(RefDesc::Param, p, 0, Shape{numElements(g.params[static_cast<size_t>(p)].shape)}, false);
  };

  // The forward ops, every value in the training arena: in inference mode
  // for evaluate, in training mode (batchnorm, dropout) for train.
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op &op = g.ops[i];
    size_t first = ds.mark();
    for (int in : op.inputs) valueRef(in);
    ds.forwardParams(i);
    valueRef(op.output);
    ds.step(d.evaluate, d.forward[i].kernel, first, op.name);
    if (t.trainForwardKeys[i].empty()) {
      d.train.push_back(d.evaluate.back());
      continue;
    }
    int k = ds.kernel(t.trainForwardKeys[i], {KernelSource::TrainForward, static_cast<int>(i), 0});
    first = ds.mark();
    valueRef(op.inputs.at(0));
    if (op.kind == OpKind::Dropout) {
      dropoutScalars();
      valueRef(op.output);
    } else {  // batchnorm: the running statistics are updated in place
      ds.params(op);
      valueRef(op.output);
      for (int p : op.params)
        if (!g.params[static_cast<size_t>(p)].trainable)
          ds.ref(RefDesc::Param, p, 0, g.params[static_cast<size_t>(p)].shape, false);
    }
    ds.step(d.train, k, first, "train:" + op.name);
  }
  // Losses and regularization (in both), then the backward steps (train only).
  std::vector<size_t> order;
  for (size_t j = 0; j < bp.steps.size(); ++j)
    if (bp.steps[j].kind == TrainStepKind::Loss || bp.steps[j].kind == TrainStepKind::RegCost) order.push_back(j);
  size_t shared = order.size();
  for (size_t j = 0; j < bp.steps.size(); ++j)
    if (bp.steps[j].kind != TrainStepKind::Loss && bp.steps[j].kind != TrainStepKind::RegCost) order.push_back(j);
  // train_step fuses a weight's update into its gradient kernel, which must
  // then run after the op's other steps (the input gradient reads the
  // weight): right after the op's last step, when the op's steps are
  // consecutive. Every step of an op touches the op's inputs, output and
  // output gradient, so the memory plan keeps them alive until then.
  std::vector<bool> fused(bp.steps.size(), false);
  std::map<int, size_t> lastOfOp;  // op -> its last position in `order`
  for (size_t q = 0; q < order.size(); ++q)
    if (bp.steps[order[q]].op >= 0) lastOfOp[bp.steps[order[q]].op] = q;
  for (size_t q = 0; q < order.size(); ++q) {
    size_t j = order[q];
    if (j >= t.fusedKeys.size() || t.fusedKeys[j].empty()) continue;
    bool consecutive = true;
    for (size_t r = q; r <= lastOfOp[bp.steps[j].op]; ++r) consecutive = consecutive && bp.steps[order[r]].op == bp.steps[j].op;
    fused[j] = consecutive;
  }
  std::vector<bool> paramFused(g.params.size(), false);
  for (size_t j = 0; j < bp.steps.size(); ++j)
    if (fused[j]) paramFused[static_cast<size_t>(bp.steps[j].param)] = true;
  auto fusedStep = [&](size_t j) {
    const TrainStep &s = bp.steps[j];
    const Op &op = g.ops[static_cast<size_t>(s.op)];
    const Param &p = g.params[static_cast<size_t>(s.param)];
    int64_t off = d.gradOffset[static_cast<size_t>(s.param)];
    int k = ds.kernel(t.fusedKeys[j], {KernelSource::FusedUpdate, static_cast<int>(j), 0});
    size_t first = ds.mark();
    for (int in : op.inputs) valueRef(in);
    valueRef(op.output);
    gradRef(s.gradIns[0]);
    ds.params(op);
    for (int st = 0; st < t.numStates; ++st) ds.ref(RefDesc::State, 0, st * d.numGradFloats + off, p.shape, false);
    for (int sc = 0; sc < 3; ++sc) ds.ref(RefDesc::Scalar, 0, int64_t(sc) * 16, Shape{}, false);
    ds.ref(RefDesc::Param, s.param, 0, p.shape, false);
    for (int st = 0; st < t.numStates; ++st) ds.ref(RefDesc::State, 0, st * d.numGradFloats + off, p.shape, false);
    ds.step(d.trainStep, k, first, "grad+update:" + p.name);
  };
  d.trainStep = d.train;  // the forward steps
  for (size_t q = 0; q < order.size(); ++q) {
    size_t j = order[q];
    const TrainStep &s = bp.steps[j];
    int k = ds.kernel(t.stepKeys[j], {KernelSource::Train, static_cast<int>(j), 0});
    size_t first = ds.mark();
    switch (s.kind) {
      case TrainStepKind::Loss: {
        const Loss &l = tc.losses[static_cast<size_t>(s.loss)];
        const TargetDesc &td = d.targets[static_cast<size_t>(s.loss)];
        valueRef(l.output);
        ds.ref(RefDesc::Target, s.loss, 0, td.classes ? Shape{} : td.shape, true, td.classes != 0);
        d.costSlots.push_back(d.numScalars++);
        scalars(d.costSlots.back());
        gradRef(s.gradOut);
        d.correctSlots.push_back(d.numScalars++);
        scalars(d.correctSlots.back());
        break;
      }
      case TrainStepKind::RegCost:
        flatParam(s.param);
        d.costSlots.push_back(d.numScalars++);
        scalars(d.costSlots.back());
        break;
      case TrainStepKind::Sum:
        for (int b : s.gradIns) gradRef(b);
        gradRef(s.gradOut);
        break;
      case TrainStepKind::ParamGrad:
      case TrainStepKind::InputGrad: {
        const Op &op = g.ops[static_cast<size_t>(s.op)];
        for (int in : op.inputs) valueRef(in);
        valueRef(op.output);
        gradRef(s.gradIns[0]);
        ds.params(op);
        if (op.kind == OpKind::Dropout) dropoutScalars();
        if (s.kind == TrainStepKind::InputGrad) {
          gradRef(s.gradOut);
        } else {
          const Param &p = g.params[static_cast<size_t>(s.param)];
          ds.ref(RefDesc::Grad, 0, d.gradOffset[static_cast<size_t>(s.param)], p.shape, false);
        }
        break;
      }
    }
    ds.step(d.train, k, first, trainStepName(g, tc, s));
    if (d.evaluate.size() < g.ops.size() + shared) d.evaluate.push_back(d.train.back());
    if (!fused[j]) d.trainStep.push_back(d.train.back());
    if (s.op >= 0 && lastOfOp[s.op] == q)
      for (size_t r = 0; r <= q; ++r)
        if (fused[order[r]] && bp.steps[order[r]].op == s.op) fusedStep(order[r]);
  }
  // The optimizer: one in-place update per trainable parameter.
  for (size_t p = 0; p < g.params.size(); ++p) {
    if (!g.params[p].trainable) continue;
    int64_t n = numElements(g.params[p].shape);
    int k = ds.kernel(t.updateKeys[p], {KernelSource::Update, static_cast<int>(p), n});
    size_t first = ds.mark();
    flatParam(static_cast<int>(p));
    ds.ref(RefDesc::Grad, 0, d.gradOffset[p], Shape{n}, false);
    for (int s = 0; s < t.numStates; ++s) ds.ref(RefDesc::State, 0, s * d.numGradFloats + d.gradOffset[p], Shape{n}, false);
    for (int s = 0; s < 3; ++s) ds.ref(RefDesc::Scalar, 0, int64_t(s) * 16, Shape{}, false);
    flatParam(static_cast<int>(p));
    for (int s = 0; s < t.numStates; ++s) ds.ref(RefDesc::State, 0, s * d.numGradFloats + d.gradOffset[p], Shape{n}, false);
    ds.step(d.update, k, first, "update:" + g.params[p].name);
    if (!paramFused[p]) d.trainStep.push_back(d.update.back());
  }
}

}  // namespace

ModelDescription describeModel(const Graph &g, const MemoryPlan &plan, const std::vector<std::string> &opKeys,
                               const std::vector<PackedWeightDesc> &packed, const TrainingInput *training) {
  ModelDescription d;
  Describer ds(g, d);
  d.arenaFloats = plan.arenaFloats;
  ds.prepack(packed);
  auto valueRef = [&](int v, bool written) {
    const ValueSlot &s = plan.slots[static_cast<size_t>(v)];
    RefDesc::Kind kind = RefDesc::Arena;
    switch (s.kind) {
      case ValueSlot::Input: kind = RefDesc::Input; break;
      case ValueSlot::Output: kind = RefDesc::Output; break;
      case ValueSlot::Arena: kind = RefDesc::Arena; break;
      case ValueSlot::None: throw std::logic_error("value " + g.value(v).name + " has no place in the memory plan");
    }
    const Value &val = g.value(v);
    ds.ref(kind, s.index, s.offset, val.shape, true, false, val.layout, val.border, written && val.border > 0);
  };
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op &op = g.ops[i];
    int k = ds.kernel(opKeys.at(i), {KernelSource::Op, static_cast<int>(i), 0});
    size_t first = ds.mark();
    for (int in : op.inputs) valueRef(in, false);
    ds.forwardParams(i);
    valueRef(op.output, true);
    ds.step(d.forward, k, first, op.name, estimateOpWork(g, op));
  }
  for (const OutputCopy &c : plan.copies) {
    size_t first = ds.mark();
    valueRef(c.value, false);
    ds.ref(RefDesc::Output, c.output, 0, g.value(g.outputs[static_cast<size_t>(c.output)]).shape, true);
    ds.step(d.forward, -1, first, "copy:" + g.value(c.value).name);
  }
  if (training) describeTraining(g, *training, ds, d);
  return d;
}

}  // namespace nncc
