// Internal interface of the gradient lowerings (the backward kernels of
// compiler/passes/Autodiff.h): what each op's gradient rule receives, and the
// rules, one function per kind of gradient. Gradients.cpp holds the rules of
// the activations, the structural ops and the pools; DenseGradients.cpp those
// of dense; ConvGradients.cpp those of conv2d.
#pragma once
#include "compiler/lower/LowerOps.h"

namespace nncc {
namespace lower {

struct GradArgs {
  const Graph &g;
  const Op &op;
  const LowerOptions &opts;
  Namer &namer;
  std::vector<LValue> inputs;  // the forward op's inputs
  LValue y;                    // its output
  LValue dy;                   // the gradient of the cost with respect to y
  std::map<ParamRole, Halide::ImageParam> params;
  Halide::Expr batch;          // the batch extent
  double l1 = 0.0, l2 = 0.0;   // regularization of the op's regularized weight
  const struct DropoutScalars *dropout = nullptr;  // dropout: the mask's scalar arguments

  std::string name(const std::string &suffix) const { return namer.unique(op.name + "_" + suffix); }
  const Halide::ImageParam &param(ParamRole r) const;
};

// The gradient with respect to the op's pre-activation result: dy through
// the fused activation when the op has one, else dy itself. `inlined`: an
// element-wise activation's gradient is left unscheduled, so that it inlines
// into the kernel's read of it (no pass of its own over memory); softmax's
// keeps its reduction's schedule.
LValue gradThroughFusedActivation(const GradArgs &a, bool inlined = false);
// The gradient of an activation's input from its output y and dy.
Halide::Func activationBackward(const Activation &act, const LValue &y, const LValue &dy, Namer &namer,
                                const std::string &name, const LowerOptions &opts);

// The gradient of the op's input `wrt` (batched, the input's shape).
Halide::Func lowerInputGradient(const GradArgs &a, int wrt);
// The gradient of parameter `p` of the op (the parameter's shape), with its
// regularization term when the parameter is regularized.
Halide::Func lowerParamGradient(const GradArgs &a, const Param &p);

// DenseGradients.cpp: GEMMs on the register tile of DenseGemm.h.
Halide::Func denseInputGradient(const GradArgs &a);
Halide::Func denseParamGradient(const GradArgs &a, const Param &p);

// ConvGradients.cpp
Halide::Func conv2dInputGradient(const GradArgs &a);
Halide::Func conv2dParamGradient(const GradArgs &a, const Param &p);
Halide::Func conv2dTransposeInputGradient(const GradArgs &a);
Halide::Func conv2dTransposeParamGradient(const GradArgs &a, const Param &p);

// BatchNormTraining.cpp: batchnorm in training mode, per channel (axis 0) over
// every other axis and the batch. The forward gives y and the new running
// statistics (momentum, the variance unbiased); the gradients recompute the
// batch statistics from x.
struct BatchNormTrainFuncs {
  Halide::Func y, runningMean, runningVar;
};
BatchNormTrainFuncs batchNormTrainForward(const Op &op, const LValue &x, const std::map<ParamRole, Halide::ImageParam> &params,
                                          Halide::Expr batch, Namer &namer, const LowerOptions &opts);
Halide::Func batchNormInputGradient(const GradArgs &a);
Halide::Func batchNormParamGradient(const GradArgs &a, const Param &p);

// DropoutTraining.cpp: inverted dropout with the mask of
// compiler/ir/DropoutMask.h; the scalars are the seed's halves and the step.
struct DropoutScalars {
  Halide::Param<uint32_t> seedLo{"seed_lo"}, seedHi{"seed_hi"}, step{"step"};
};
// The mask times 1/(1-rate) at each element of a value of `shape`.
Halide::Func dropoutScale(const Op &op, const Shape &shape, const DropoutScalars &s, Namer &namer);

// The regularization gradient term of a weight value w.
Halide::Expr regularizationGradient(const GradArgs &a, const Param &p, Halide::Expr w);

}  // namespace lower
}  // namespace nncc
