// Lowering: a shape-inferred graph IR -> one Halide pipeline, in inference
// mode (dropout is the identity, batchnorm uses its running statistics).
//
// Layout at the boundary (docs/lowering.md): the API is dense row-major per
// sample with the batch outermost, so a tensor [N, C, H, W] is a Halide
// buffer with dims (w, h, c, n), x innermost, and [N, F] is (f, n). The batch
// extent is dynamic (1..max_batch); every other extent is static. Parameters
// are pipeline arguments (ImageParams, so that weights stay mutable), with
// their PyTorch shapes reversed likewise: a conv weight [F, C/g, kh, kw] is
// (kw, kh, c, f).
//
// Only compiler/lower/ includes Halide; passes know nothing of it.
#pragma once
#include "compiler/ir/Graph.h"
#include "compiler/passes/Autodiff.h"
#include "compiler/weights/Tensor.h"

#include <Halide.h>

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace nncc {

// A schedule choice for one kernel, found by --autotune (docs/schedules.md,
// "Autotuning"); zero fields leave the schedule's own choice.
struct ScheduleChoice {
  int convVectors = 0, convCols = 0;  // the channels-innermost conv's register tile
};
// Choices by kernelKey (the same key dedupes identical kernels).
using ScheduleChoices = std::map<std::string, ScheduleChoice>;

struct LowerOptions {
  // The target the schedules are written for (its natural vector width).
  Halide::Target target = Halide::get_host_target();
  // false: leave every Func with Halide's default schedule, for a caller
  // that schedules the pipeline itself (an autoscheduler).
  bool schedule = true;
  // false: no explicit vectorization (vectorFactor is 1), for Halide's C++
  // backend, which lacks some vector forms (predicated loads, odd shuffles);
  // the C++ compiler vectorizes the scalar loops itself.
  bool vectorize = true;
  // The choice for the kernel being lowered (lowerOpKernel sets it from
  // `choices`, by the op's kernelKey).
  ScheduleChoice choice;
  std::shared_ptr<const ScheduleChoices> choices;
  // lowerOpKernel: a conv2d kernel on the channels-innermost path takes its
  // weight prepacked (packedWeightShape) instead of repacking it per call;
  // the compiled model keeps the packed copy (docs/runtime.md, "Prepacked
  // weights"). Off for the JIT users that bind raw weights.
  bool prepackConvWeights = false;
  // ... and so does a dense layer whose units are whole vectors (the packed
  // GEMV), unless the model trains: its weights then change every step and
  // the repack (a transposition, about 60 us for the MLP's 1 MB) cost the
  // MLP's training step more (0.33 -> 0.41 ms) than the packed kernel saves
  // at the training batch.
  bool prepackDenseWeights = false;
  // The Winograd kernel for the conv2d layers it applies to
  // (convUsesWinograd); false: the direct kernels only (nncc
  // --conv-algorithm=direct).
  bool winograd = true;
};

struct LoweredModel {
  Halide::Pipeline pipeline;               // its outputs are `outputs`, in order
  std::vector<Halide::ImageParam> inputs;  // one per Graph::inputs entry, same order
  std::vector<Halide::ImageParam> params;  // one per Graph::params entry, same order
  std::vector<Halide::Func> outputs;       // one per Graph::outputs entry, same order
  std::map<std::string, Halide::Func> values;  // every lowered value (layer or input) by name

  // The pipeline's arguments in the order an emitted function takes them:
  // the inputs, then the parameters.
  std::vector<Halide::Argument> arguments() const;
};

// Thrown for a graph that cannot be lowered (shapes not inferred, an op kind
// without a lowering, attributes inconsistent with the shapes).
struct LoweringError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

LoweredModel lowerGraph(const Graph &g, const LowerOptions &opts = LowerOptions());

// One op as a pipeline of its own: the kernel a compiled model calls for the
// op (docs/codegen.md). Its arguments are the op's inputs (dense, batched, in
// op.inputs order), then its parameters (op.params order); its one output is
// the op's value, dense and batched.
struct LoweredKernel {
  Halide::Pipeline pipeline;
  std::vector<Halide::Argument> arguments;
  // The buffer arguments as ImageParams (lowerOpKernel only), to run the
  // kernel under the JIT (the autotuner).
  std::vector<Halide::ImageParam> imageParams;
};
LoweredKernel lowerOpKernel(const Graph &g, const Op &op, const LowerOptions &opts = LowerOptions());

// Prepacked conv weights (opts.prepackConvWeights): the row-major shape of
// the packed weight that lowerOpKernel(g, op, opts) takes in place of the op's
// weight parameter, or nullopt when that kernel takes the raw weight. The
// pack kernel [weight] -> [packed weight] of such an op, and its key (equal
// keys: the same kernel).
std::optional<Shape> packedWeightShape(const Graph &g, const Op &op, const LowerOptions &opts);
LoweredKernel lowerConvWeightPackKernel(const Graph &g, const Op &op, const LowerOptions &opts);
std::string convWeightPackKernelKey(const Graph &g, const Op &op, const LowerOptions &opts);

// The training kernels (docs/training.md): one per step of the backward
// program (compiler/passes/Autodiff.h), with the arguments
//   Loss:                 [output value, target] -> [cost(1), d(output), correct(1)]
//   ParamGrad, InputGrad: [op inputs..., op output, d(output), op params...] -> [gradient]
//   Sum:                  [contributions...] -> [sum]
//   RegCost:              [weight as a flat vector] -> [cost(1)]
// and the optimizer update of a flat parameter of `numel` floats:
//   [param, grad, states..., lr, bias_correction1, bias_correction2] -> [param, states...] (in place).
LoweredKernel lowerTrainKernel(const Graph &g, const BackwardProgram &bp, const TrainStep &s,
                               const LowerOptions &opts = LowerOptions());
std::string trainKernelKey(const Graph &g, const BackwardProgram &bp, const TrainStep &s);
LoweredKernel lowerUpdateKernel(const Graph &g, int64_t numel, const LowerOptions &opts = LowerOptions());
// train_step's weight-gradient kernel with the optimizer's update fused in
// (docs/training.md), for a ParamGrad step where fusesUpdate:
//   [op inputs..., op output, d(output), op params..., states..., lr, bc1, bc2] -> [param, states...] (in place),
// the parameter and states in the parameter's shape.
bool fusesUpdate(const Graph &g, const TrainStep &s);
LoweredKernel lowerFusedUpdateKernel(const Graph &g, const BackwardProgram &bp, const TrainStep &s,
                                     const LowerOptions &opts = LowerOptions());
std::string fusedUpdateKernelKey(const Graph &g, const BackwardProgram &bp, const TrainStep &s);
// The training forward kernel of an op that trainsDifferently:
//   batchnorm: [x, weight, bias, running_mean, running_var] -> [y, running_mean, running_var] (in place)
//   dropout:   [x, seed_lo, seed_hi, step] -> [y]
// (the dropout gradient takes the same three scalars after its usual arguments).
LoweredKernel lowerTrainForwardKernel(const Graph &g, const Op &op, const LowerOptions &opts = LowerOptions());
std::string trainForwardKernelKey(const Graph &g, const Op &op);
std::string updateKernelKey(const Graph &g, int64_t numel);
// Optimizer state tensors per trainable parameter for `g`'s optimizer, and
// their names (torch.optim's: "exp_avg", ...), as checkpoints store them.
int optimizerStateCount(const Graph &g);
std::vector<std::string> optimizerStateNames(const Graph &g);

// Ops with equal keys lower to the same kernel (same kind, attributes, input,
// parameter and output shapes), so a model compiles each distinct kernel once
// (ResNet's repeated blocks).
std::string kernelKey(const Graph &g, const Op &op);

// Runs a lowered model with Halide's JIT on a batch, with the contract of
// runReference (compiler/reference/Interpreter.h): `inputs` in g.inputs
// order, each [N, ...per-sample], the same N in 1..g.maxBatch; `params` holds
// every parameter of g.params by name with its exact shape; `outputs` gets one
// tensor [N, ...] per g.outputs entry. Returns false with a one-line `error`
// on bad arguments or a Halide error. The first call JIT-compiles the pipeline.
bool runLowered(const Graph &g, LoweredModel &m, const TensorMap &params, const std::vector<TensorF32> &inputs,
                std::vector<TensorF32> &outputs, std::string &error,
                const Halide::Target &target = Halide::get_jit_target_from_environment());

}  // namespace nncc
