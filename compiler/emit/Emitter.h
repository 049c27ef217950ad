// Emission: a graph IR with its parameter values -> ONE relocatable object
// (or LLVM IR / assembly) holding the Halide pipeline, the Halide runtime, the
// generic model runtime (runtime/model/), the weights, and the public entry
// points NAME_create, NAME_forward, ...; plus the C/C++ header.
#pragma once
#include "compiler/ir/Graph.h"
#include "compiler/weights/Tensor.h"

#include <ostream>
#include <string>

namespace nncc {

enum class OutputKind { Object, StaticLibrary, Assembly, LLVMIR, CppSource };

struct EmitOptions {
  std::string target = "host";  // a Halide target string
  OutputKind kind = OutputKind::Object;
  bool training = true;  // emit the training entry points when the model has a training section
  // "manual": nncc's schedules (compiler/lower); "auto": Halide's Mullapudi2016
  // autoscheduler on every inference kernel (training kernels keep nncc's).
  std::string schedule = "manual";
  // The Winograd conv kernel where it applies (LowerOptions::winograd;
  // nncc --conv-algorithm=direct: false).
  bool winograd = true;
  // --autotune: time candidate schedules of the kernels missing from the
  // cache and add the winners (compiler/lower/Autotune.h); --tune-cache:
  // the cache file (default defaultTuneCachePath()). With a cache file but
  // no autotune, the cached choices are used and nothing is timed.
  bool autotune = false;
  std::string tuneCache;
  // Threads compiling the kernels (nncc -j): 0 = defaultJobs() (the online
  // CPUs), 1 = all on the calling thread. The output does not depend on it.
  unsigned jobs = 0;
  bool timePhases = false;      // --time-passes: print the emission phases' times to `log`
  std::ostream *log = nullptr;  // the autotuner's progress, the timings
  // Out, when set: the bytes of the prepacked weight copy an instance keeps
  // (docs/runtime.md), for the header.
  int64_t *packedWeightBytes = nullptr;
};

// Compiles `g` (already through the passes) with parameter values `params`
// (every Graph::params entry by name) into the bytes of the output file.
// Returns false with `error` set on failure (a bad target, an internal error).
bool emitModel(const Graph &g, const TensorMap &params, const EmitOptions &opts, std::string &bytes,
               std::string &error);

}  // namespace nncc
