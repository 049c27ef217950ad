// Internal interface of the reference interpreter: the arguments every kernel
// receives, the kernel signature, the kernels of each op family (one .cpp file
// per family) and the one table that maps an OpKind to its kernel.
#pragma once
#include "compiler/ir/Graph.h"
#include "compiler/reference/Interpreter.h"
#include "compiler/weights/Tensor.h"

#include <map>
#include <string>
#include <vector>

namespace nncc {
namespace reference {

struct KernelArgs {
  const Op &op;
  int64_t batch;                              // N
  std::vector<const TensorF32 *> inputs;      // each [N, ...per-sample]
  std::map<ParamRole, const TensorF32 *> params;  // the op's parameters by role
  TensorF32 &out;                             // [N, ...per-sample], zero-filled
  const TrainingMode *training = nullptr;     // null: inference mode

  // The parameter with this role, or null (a bias with use_bias false).
  const TensorF32 *param(ParamRole role) const {
    auto it = params.find(role);
    return it == params.end() ? nullptr : it->second;
  }
  const TensorF32 &in(size_t k = 0) const { return *inputs[k]; }
};

// A kernel computes args.out from the inputs and parameters. It returns false
// with `error` set when an argument is inconsistent with the op (never crashes).
using Kernel = bool (*)(const KernelArgs &args, std::string &error);

// The kernel of an op kind; null for a kind without one.
Kernel kernelFor(OpKind kind);

// Epilogue.cpp: what passes fused after dense and the convolutions, on
// args.out in place: batchnorm, residual add, then the activation, with the
// same arithmetic as the standalone layers (so -O0 and -O2 agree bit for bit).
bool applyFusedEpilogue(const KernelArgs &a, std::string &error);
// y = (x - mean[c]) / std[c] over axis 0 of the per-sample shape, with one
// value for all channels or one per channel: the preprocess layer, and the
// prologue fold-preprocess fuses into an op (Op::fused.preprocess).
bool preprocessTensor(const TensorF32 &in, const std::vector<double> &mean, const std::vector<double> &stdev,
                      TensorF32 &out, std::string &error);
// Normalization.cpp: inference-mode batchnorm of `in` into `out` with the
// running statistics in `args` (shared by the layer and the fused epilogue).
bool batchNormInference(const KernelArgs &args, const TensorF32 &in, TensorF32 &out, std::string &error);

// Dense.cpp
bool runDense(const KernelArgs &a, std::string &error);
// Conv.cpp
bool runConv2D(const KernelArgs &a, std::string &error);
bool runConv2DTranspose(const KernelArgs &a, std::string &error);
// Pool.cpp
bool runMaxPool2D(const KernelArgs &a, std::string &error);
bool runAvgPool2D(const KernelArgs &a, std::string &error);
bool runGlobalAvgPool2D(const KernelArgs &a, std::string &error);
bool runGlobalMaxPool2D(const KernelArgs &a, std::string &error);
// Normalization.cpp
bool runBatchNorm(const KernelArgs &a, std::string &error);
bool runPreprocess(const KernelArgs &a, std::string &error);
// Activation.cpp: relu, sigmoid, tanh, step, leaky_relu, elu, softmax, log_softmax.
bool runActivation(const KernelArgs &a, std::string &error);
// Structural.cpp
bool runCopy(const KernelArgs &a, std::string &error);  // flatten, reshape
bool runDropout(const KernelArgs &a, std::string &error);  // the identity, or the mask in training
bool runAdd(const KernelArgs &a, std::string &error);
bool runConcat(const KernelArgs &a, std::string &error);

}  // namespace reference
}  // namespace nncc
