// The reference training cost: the forward pass of the reference interpreter
// followed by the losses of the model's `training` section and its
// regularization, all in double precision, as model-format.md defines them.
// With central finite differences of it, the oracle of the generated
// gradients (tests/unit/GradientCheckTest.cpp).
#pragma once
#include "compiler/ir/Graph.h"
#include "compiler/reference/Interpreter.h"
#include "compiler/weights/Tensor.h"

#include <string>
#include <vector>

namespace nncc {

// One training target per loss, in the order of the losses: class labels
// (`labels`, one per sample) or float targets of the output's shape (`values`).
struct TrainingTarget {
  std::vector<int32_t> labels;
  TensorF32 values;
};

// The whole cost (data losses plus regularization) of `g` on a batch, in
// inference mode or, with `mode`, in training mode (batch statistics,
// dropout); false with `error` on bad arguments.
bool referenceCost(const Graph &g, const TensorMap &params, const std::vector<TensorF32> &inputs,
                   const std::vector<TrainingTarget> &targets, double &cost, std::string &error,
                   const TrainingMode *mode = nullptr);

// d(cost)/d(parameter) of every trainable parameter by central differences
// with step h (relative to max(1, |w|)), in g.params order.
bool finiteDifferenceGradients(const Graph &g, const TensorMap &params, const std::vector<TensorF32> &inputs,
                               const std::vector<TrainingTarget> &targets, double h, TensorMap &grads,
                               std::string &error, const TrainingMode *mode = nullptr);

}  // namespace nncc
