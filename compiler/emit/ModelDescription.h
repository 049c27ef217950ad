// What a compiled model's descriptor holds (runtime/model/nncc_model.h), as
// plain data: the distinct kernels and which op calls which, every step's
// buffer arguments (refs into the caller's buffers, the parameters or the
// arena of the memory plan), and the programs the entry points run. The
// object emitter encodes it as LLVM constants; a source emitter can write the
// same data as C. Knows nothing of Halide or LLVM.
#pragma once
#include "compiler/ir/Graph.h"
#include "compiler/passes/MemoryPlan.h"

#include <string>
#include <vector>

namespace nncc {

// Mirrors nncc_buffer_ref (the NNCC_REF_* kinds).
struct RefDesc {
  enum Kind { Input = 0, Output = 1, Param = 2, Arena = 3 };
  Kind kind = Arena;
  int index = 0;
  int64_t offset = 0;
  Shape dims;  // row-major, per sample when batched
  bool batched = true;
};

// Mirrors nncc_step: kernel -1 copies refs[firstRef] into refs[firstRef + 1].
struct StepDesc {
  int kernel = -1;
  int firstRef = 0;
  int numRefs = 0;
};

struct ModelDescription {
  std::vector<std::string> kernelKeys;  // one per distinct kernel (lower/kernelKey)
  std::vector<int> kernelOp;            // per kernel: the first op that uses it (the one lowered)
  std::vector<RefDesc> refs;
  std::vector<StepDesc> forward;        // one step per op, then the output copies
  int64_t arenaFloats = 0;

  // The symbol of kernel k for model `name`: "<name>_k<k>".
  static std::string kernelName(const std::string &name, size_t k) { return name + "_k" + std::to_string(k); }
};

// Describes `g` with its memory plan; `opKeys` holds each op's kernel key
// (ops with equal keys share a kernel).
ModelDescription describeModel(const Graph &g, const MemoryPlan &plan, const std::vector<std::string> &opKeys);

}  // namespace nncc
