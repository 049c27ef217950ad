// Running independent jobs on a few threads, for the emitter's per-kernel
// compiles (docs/codegen.md, "Compiling on several cores").
#pragma once
#include <cstddef>
#include <functional>

namespace nncc {

// The number of threads `nncc -j` defaults to: the online CPUs (at least 1).
unsigned defaultJobs();

// Calls job(i) for every i in [0, n), on min(workers, n) threads taking the
// next index in turn (workers <= 1: in order, on the calling thread). If jobs
// throw, the exception of the lowest index is rethrown once every thread has
// finished; jobs above a failed index may be skipped. The caller keeps the
// results by index, so they do not depend on which thread ran what.
void parallelFor(size_t n, unsigned workers, const std::function<void(size_t)> &job);

}  // namespace nncc
