// The pass manager and the standard pipelines.
#include "compiler/ir/Printer.h"
#include "compiler/ir/Verifier.h"
#include "compiler/passes/Pass.h"

#include <chrono>
#include <iomanip>
#include <ostream>

namespace nncc {

bool PassManager::run(Graph &g, Diagnostics &diags, const PassOptions &opts) const {
  std::vector<std::pair<const char *, double>> times;
  bool ok = true;
  for (const auto &p : passes_) {
    if (opts.disabled.count(p->name())) continue;
    auto start = std::chrono::steady_clock::now();
    size_t before = diags.errorCount();
    p->run(g, diags);
    times.emplace_back(p->name(), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (diags.errorCount() != before || !verifyGraph(g, diags)) {
      ok = false;
      break;
    }
    if (opts.printAfterAll && opts.log) {
      *opts.log << "; *** IR after " << p->name() << " ***\n";
      printGraph(g, *opts.log);
    }
  }
  if (opts.timePasses && opts.log) {
    double total = 0;
    for (const auto &t : times) total += t.second;
    *opts.log << "; pass timings (seconds)\n";
    for (const auto &t : times)
      *opts.log << ";   " << std::fixed << std::setprecision(6) << t.second << "  " << t.first << "\n";
    *opts.log << ";   " << std::fixed << std::setprecision(6) << total << "  total\n";
    opts.log->unsetf(std::ios::floatfield);
  }
  return ok;
}

bool PassManager::has(const std::string &name) const {
  for (const auto &p : passes_)
    if (name == p->name()) return true;
  return false;
}

PassManager buildInferencePipeline(int optLevel, bool training) {
  PassManager pm;
  if (optLevel >= 1) {
    if (!training) pm.add(createRemoveDropoutPass());
    pm.add(createDeadValueEliminationPass());
  }
  if (optLevel >= 2) {
    if (!training) {
      pm.add(createFoldBatchNormPass());
      pm.add(createFoldPreprocessPass());
      pm.add(createFuseResidualAddPass());
    }
    pm.add(createFuseActivationPass());
    if (!training) {
      pm.add(createFusePoolPass());
      pm.add(createAssignLayoutsPass());
      pm.add(createPadBordersPass());
    }
  }
  return pm;
}

}  // namespace nncc
