// The one table of reference kernels, keyed by OpKind like the op registry
// (compiler/ir/Ops.def): adding an op means adding a row here.
#include "compiler/reference/Kernels.h"

#include <cassert>

namespace nncc {
namespace reference {
namespace {

struct KernelEntry {
  OpKind kind;
  Kernel kernel;
};

std::vector<Kernel> buildTable() {
  using K = OpKind;
  const KernelEntry rows[] = {
      {K::Dense, runDense},
      {K::Conv2D, runConv2D},
      {K::Conv2DTranspose, runConv2DTranspose},
      {K::MaxPool2D, runMaxPool2D},
      {K::AvgPool2D, runAvgPool2D},
      {K::GlobalAvgPool2D, runGlobalAvgPool2D},
      {K::GlobalMaxPool2D, runGlobalMaxPool2D},
      {K::BatchNorm, runBatchNorm},
      {K::Relu, runActivation},
      {K::Sigmoid, runActivation},
      {K::Tanh, runActivation},
      {K::Step, runActivation},
      {K::LeakyRelu, runActivation},
      {K::Elu, runActivation},
      {K::Softmax, runActivation},
      {K::LogSoftmax, runActivation},
      {K::Dropout, runDropout},
      {K::Flatten, runCopy},
      {K::Reshape, runCopy},
      {K::Add, runAdd},
      {K::Concat, runConcat},
      {K::Preprocess, runPreprocess},
  };
  std::vector<Kernel> table(allOps().size(), nullptr);
  for (const KernelEntry &e : rows) {
    size_t k = static_cast<size_t>(e.kind);
    assert(k < table.size() && !table[k] && "one row per op kind");
    table[k] = e.kernel;
  }
  return table;
}

}  // namespace

Kernel kernelFor(OpKind kind) {
  static const std::vector<Kernel> table = buildTable();
  size_t k = static_cast<size_t>(kind);
  return k < table.size() ? table[k] : nullptr;
}

}  // namespace reference
}  // namespace nncc
