// Autodiff: from a forward graph with a `training` section, the backward
// program that computes the gradient of the training cost with respect to
// every trainable parameter, op by op in reverse topological order, with a
// gradient rule per op kind (docs/training.md).
//
// The backward program is a list of steps over gradient buffers: the losses
// (each writes its cost and the gradient of its output), per op the gradient
// of each parameter and of each input that needs one, sums where a value
// feeds several ops, and the regularization costs. Ops whose input gradient
// is the output gradient itself (add, flatten, reshape, dropout at rate 0)
// alias it instead of copying. Pure IR: the lowering gives each step kind its
// Halide kernel (compiler/lower/Gradients.cpp, Losses.cpp, Optimizers.cpp).
#pragma once
#include "compiler/ir/Diagnostics.h"
#include "compiler/ir/Graph.h"

#include <string>
#include <vector>

namespace nncc {

// A gradient buffer: batched, of a value's per-sample shape.
struct GradBuffer {
  std::string name;  // "d<value>" or "d<value>@<consumer>"
  Shape shape;
  int aliasOf = -1;  // shares the storage of this buffer (same size, maybe another shape)
};

enum class TrainStepKind {
  Loss,       // a loss on its output value: cost, d(output), correct predictions
  ParamGrad,  // the gradient of a parameter of an op (into the gradient array)
  InputGrad,  // the gradient contribution to an op's input `wrt`
  Sum,        // a value's gradient as the sum of its contributions
  RegCost,    // the regularization cost of one parameter
};

struct TrainStep {
  TrainStepKind kind = TrainStepKind::Loss;
  explicit TrainStep(TrainStepKind k) : kind(k) {}
  int op = -1;               // ParamGrad, InputGrad: the forward op
  int wrt = -1;              // InputGrad: input index; ParamGrad: index into op.params
  int loss = -1;             // Loss: index into training->losses
  int param = -1;            // ParamGrad, RegCost: index into Graph::params
  std::vector<int> gradIns;  // gradient buffers read (dy; the contributions of a Sum)
  int gradOut = -1;          // gradient buffer written (Loss: d(output); InputGrad; Sum)
};

struct BackwardProgram {
  std::vector<GradBuffer> grads;
  std::vector<int> valueGrad;  // per value id: its gradient buffer, -1 if none
  std::vector<TrainStep> steps;
};

// Whether an op computes differently in training (batchnorm with the
// batch's statistics, dropout with its mask): the training forward pass then
// runs a kernel of its own for it.
bool trainsDifferently(const Op &op);

// Builds the backward program of `g` (shapes inferred, training present).
// Reports an error at the op's location for an op on a trainable path that
// has no gradient rule (step; conv2d_transpose is not supported yet).
// Returns false on errors.
bool buildBackward(const Graph &g, BackwardProgram &out, Diagnostics &diags);

// A text form (--emit=backward): one line per step.
std::string printBackward(const Graph &g, const BackwardProgram &bp);

}  // namespace nncc
