// --autotune (docs/schedules.md, "Autotuning"): for every distinct kernel of
// a graph that has schedule choices (today the channels-innermost conv2d's
// register tile), time a few candidates under Halide's JIT on this machine
// and keep the fastest. The winners go into a TuneCache (TuneCache.h) that
// later compiles reuse without timing again.
#pragma once
#include "compiler/lower/Lowering.h"
#include "compiler/lower/TuneCache.h"

#include <ostream>

namespace nncc {

struct AutotuneOptions {
  int candidates = 6;      // the model's best few tiles (plus none other)
  int batch = 0;           // the batch the kernels are timed at (0: the graph's max_batch, at most 32)
  double budgetMs = 150;   // timing budget per candidate (at least 3 runs)
  std::ostream *log = nullptr;  // progress, one line per kernel
};

// Tunes every tunable kernel of `g` that `cache` lacks for `opts.target`,
// adding the winners to `cache`; returns how many kernels were timed.
int autotuneGraph(const Graph &g, const LowerOptions &opts, TuneCache &cache, const AutotuneOptions &ao);

}  // namespace nncc
