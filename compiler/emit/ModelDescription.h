// What a compiled model's descriptor holds (runtime/model/nncc_model.h), as
// plain data: the distinct kernels and which op calls which, every step's
// buffer arguments (refs into the caller's buffers, the parameters or the
// arena of the memory plan), and the programs the entry points run. The
// object emitter encodes it as LLVM constants; a source emitter can write the
// same data as C. Knows nothing of Halide or LLVM.
#pragma once
#include "compiler/ir/Graph.h"
#include "compiler/passes/Autodiff.h"
#include "compiler/passes/MemoryPlan.h"

#include <string>
#include <vector>

namespace nncc {

// Mirrors nncc_buffer_ref (the NNCC_REF_* kinds).
struct RefDesc {
  enum Kind { Input = 0, Output = 1, Param = 2, Arena = 3, Target = 4, Grad = 5, State = 6, Scalars = 7, Scalar = 8, Packed = 9 };
  Kind kind = Arena;
  int index = 0;
  int64_t offset = 0;
  Shape dims;  // row-major, per sample when batched
  bool batched = true;
  bool isInt = false;  // int32 elements (class labels)
  bool channelsLast = false;  // a [C, H, W] value stored as [H, W, C] (Layout::ChannelsLast)
  int border = 0;             // stored with a zero border (Value::border)
  bool interior = false;      // with a border: the producer's view (the interior, border zeroed first)
};

// Mirrors nncc_step: kernel -1 copies refs[firstRef] into refs[firstRef + 1].
struct StepDesc {
  int kernel = -1;
  int firstRef = 0;
  int numRefs = 0;
  int64_t work = -1;  // per sample (estimateOpWork), -1 unknown
  std::string name;   // nncc_step.name: the op or parameter the step is for
};

// What a kernel computes, for the emitter to lower it: a forward op, a step
// of the backward program, the optimizer update of `numel` floats, or a
// weight-gradient step with the update fused in (train_step), or the packing
// of an op's weight for its prepacked forward kernel.
struct KernelSource {
  enum Kind { Op, Train, Update, TrainForward, FusedUpdate, Prepack };
  Kind kind = Op;
  int index = 0;      // Op, TrainForward, Prepack: op index; Train, FusedUpdate: index into BackwardProgram::steps
  int64_t numel = 0;  // Update
};

// A training target as the header and the runtime see it.
struct TargetDesc {
  std::string name;  // "<output>_labels" or "<output>_targets"
  Shape shape;       // per sample; [1] for class labels
  int classes = 0;   // int32 labels: the class count; float targets: 0
};

struct ModelDescription {
  std::vector<std::string> kernelKeys;  // one per distinct kernel
  std::vector<KernelSource> kernelSources;
  std::vector<RefDesc> refs;
  std::vector<StepDesc> forward;        // one step per op, then the output copies
  int64_t arenaFloats = 0;
  // The prepacked weights: one pack kernel call per prepacked op, from its
  // weight into its slice of the packed area (packedFloats floats); run
  // before the programs whenever the weights changed.
  std::vector<StepDesc> prepack;
  int64_t packedFloats = 0;

  // Training (hasTraining), see nncc_model.h.
  bool hasTraining = false;
  std::vector<TargetDesc> targets;
  std::vector<StepDesc> train;          // forward (training mode), losses, regularization, backward
  std::vector<StepDesc> evaluate;       // forward (inference mode), losses, regularization
  std::vector<StepDesc> update;         // one optimizer kernel call per trainable parameter
  // train_step: `train` with each fused weight's gradient kernel replaced by
  // its fused update, run after the op's other backward steps (which read
  // the weight), then `update`'s calls for the other parameters.
  std::vector<StepDesc> trainStep;
  int64_t trainArenaFloats = 0;
  std::vector<int64_t> gradOffset;      // per parameter, -1 when not trainable
  int64_t numGradFloats = 0;
  int numStates = 0;
  std::vector<std::string> stateNames;  // torch.optim's names of the optimizer state
  int numScalars = 6;                   // learning rate, Adam's bias corrections, seed halves, step; then costs and counts
  std::vector<int> costSlots, correctSlots;
  double adamBeta1 = 0, adamBeta2 = 0;
  int schedule = 0;                     // NNCC_SCHEDULE_*
  double scheduleArgs[2] = {0, 0};
  double learningRate = 0;
  uint64_t seed = 0;                    // the model's seed, the default of set_seed

  // The symbol of kernel k for model `name`: "<name>_k<k>".
  static std::string kernelName(const std::string &name, size_t k) { return name + "_k" + std::to_string(k); }
};

// The training half of a description's input: the backward program, its
// memory plan, each step's kernel key, and the update kernel key of each
// parameter (empty for one that is not trainable); the keys of the fused
// weight-gradient kernels of train_step.
struct TrainingInput {
  const BackwardProgram *bp = nullptr;
  const TrainingMemoryPlan *plan = nullptr;
  std::vector<std::string> stepKeys;
  std::vector<std::string> updateKeys;
  std::vector<std::string> trainForwardKeys;  // per op: its training forward kernel's key, "" for none
  std::vector<std::string> fusedKeys;  // per step: its kernel with the update fused in, "" for none
  int numStates = 0;
  std::vector<std::string> stateNames;
};

// An op whose forward kernel takes its weight prepacked: the packed weight's
// row-major shape and the pack kernel's key; an empty key: not prepacked.
struct PackedWeightDesc {
  Shape shape;
  std::string packKey;
};

// Describes `g` with its memory plan; `opKeys` holds each op's kernel key
// (kernels with equal keys are compiled once), `packed` (empty, or one per
// op) its prepacked weight. With `training`, also the training programs,
// whose forward steps read the same packed weights.
ModelDescription describeModel(const Graph &g, const MemoryPlan &plan, const std::vector<std::string> &opKeys,
                               const std::vector<PackedWeightDesc> &packed = {},
                               const TrainingInput *training = nullptr);

}  // namespace nncc
