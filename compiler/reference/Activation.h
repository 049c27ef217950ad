// Activations in the reference interpreter, written once and used both by the
// activation layers and by the fused `activation` attribute of dense, conv2d
// and conv2d_transpose, so that the two spellings compute the same network.
#pragma once
#include "compiler/ir/Graph.h"
#include "compiler/weights/Tensor.h"

namespace nncc {
namespace reference {

// One element-wise activation (relu, sigmoid, tanh, step, leaky_relu, elu) of x.
double activateElement(OpKind kind, double alpha, double x);

// Applies `act` in place to a batched tensor [N, ...]. Element-wise kinds
// act per element; softmax and log_softmax normalize along act.axis of the
// per-sample shape (subtracting the maximum first). Returns false with
// `error` when the axis is out of range or the kind is not an activation.
bool applyActivation(const Activation &act, TensorF32 &t, std::string &error);

// Applies an op's fused `activation` attribute, if it has one, to its output.
bool applyFusedActivation(const Op &op, TensorF32 &out, std::string &error);

}  // namespace reference
}  // namespace nncc
