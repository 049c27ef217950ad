// Passes over the graph IR and the pass manager that runs them. A pass knows
// the IR only (no Halide, no LLVM); it returns whether it changed the graph.
// The manager verifies the IR after every pass, and can print it
// (--print-after-all) and time each pass (--time-passes).
#pragma once
#include "compiler/ir/Diagnostics.h"
#include "compiler/ir/Graph.h"

#include <iosfwd>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace nncc {

class Pass {
 public:
  virtual ~Pass() = default;
  virtual const char *name() const = 0;  // as --print-after-all shows it
  // Transforms `g`; returns true if anything changed.
  virtual bool run(Graph &g, Diagnostics &diags) = 0;
};

struct PassOptions {
  bool printAfterAll = false;
  bool timePasses = false;
  std::ostream *log = nullptr;  // where the IR dumps and timings go (stderr in the driver)
  std::set<std::string> disabled;  // --disable-pass NAME: passes skipped by name
};

class PassManager {
 public:
  void add(std::unique_ptr<Pass> p) { passes_.push_back(std::move(p)); }
  size_t size() const { return passes_.size(); }
  // Whether a pass of this name is in the pipeline.
  bool has(const std::string &name) const;
  // Runs every pass in order. Stops and returns false when a pass reports an
  // error or leaves IR that does not verify (an internal error).
  bool run(Graph &g, Diagnostics &diags, const PassOptions &opts) const;

 private:
  std::vector<std::unique_ptr<Pass>> passes_;
};

// The inference pipeline for an optimization level: -O0 runs nothing, -O1
// the clean-ups (dropout removal, dead-value elimination), -O2 (the
// default) also the fusions (fold-batchnorm, fuse-residual-add,
// fuse-activation). With `training` (the training entry points are emitted
// too), dropout stays and batchnorm and adds are not fused: they act
// differently in training, or need their own gradients. -O2 ends with
// assign-layouts and pad-borders (inference only: the training kernels read
// planar values).
PassManager buildInferencePipeline(int optLevel, bool training = false);

// The passes, one per file.
std::unique_ptr<Pass> createRemoveDropoutPass();
std::unique_ptr<Pass> createDeadValueEliminationPass();
std::unique_ptr<Pass> createFuseActivationPass();
std::unique_ptr<Pass> createFoldBatchNormPass();
std::unique_ptr<Pass> createFuseResidualAddPass();
std::unique_ptr<Pass> createAssignLayoutsPass();
std::unique_ptr<Pass> createFoldPreprocessPass();
std::unique_ptr<Pass> createFusePoolPass();
std::unique_ptr<Pass> createPadBordersPass();

}  // namespace nncc
