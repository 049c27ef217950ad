// The memory plan: where every value of an inference graph lives while a
// compiled forward pass runs. Graph inputs are read from the caller's
// buffers and graph outputs are written into the caller's buffers; every
// other value gets a slice of one per-instance arena, sized for max_batch and
// reused once the value's last reader has run (liveness over the ops'
// topological order, first fit). Each op is one kernel call (a "step"); an
// output that is a graph input, or a value listed twice as an output, is
// filled by a copy step at the end.
//
// An analysis over the IR only (no Halide, no LLVM); the emitter turns it into
// the descriptor the model runtime executes (docs/codegen.md).
#pragma once
#include "compiler/ir/Graph.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nncc {

// Where a value lives.
struct ValueSlot {
  enum Kind { None, Input, Output, Arena };
  Kind kind = None;
  int index = -1;      // Input: index in Graph::inputs; Output: index in Graph::outputs
  int64_t offset = 0;  // Arena: offset in floats (a multiple of kArenaAlignFloats)
};

// One output filled by copying another slot (after all ops have run).
struct OutputCopy {
  int output = -1;  // index in Graph::outputs
  int value = -1;   // value id copied from (its slot says where it lives)
};

struct MemoryPlan {
  static constexpr int64_t kArenaAlignFloats = 16;  // 64-byte aligned slices

  std::vector<ValueSlot> slots;   // one per value id
  std::vector<OutputCopy> copies;
  int64_t arenaFloats = 0;        // the arena's size at max_batch
  int64_t naiveFloats = 0;        // what the arena would need without reuse (for reports)
  int64_t weightFloats = 0;       // every parameter, trainable or not

  int64_t arenaBytes() const { return arenaFloats * 4; }
  int64_t weightBytes() const { return weightFloats * 4; }
};

// Plans `g` (shapes inferred, ops in topological order).
MemoryPlan planMemory(const Graph &g);

// The arena of a training step (forward, losses, backward): every forward
// value but the graph inputs (outputs included: the caller passes none) and
// every gradient buffer, each live from the step that writes it to the last
// step that reads it; the backward steps of an op read its inputs and output.
struct BackwardProgram;
struct TrainingMemoryPlan {
  std::vector<int64_t> valueOffset;  // per value id; -1 for graph inputs
  std::vector<int64_t> gradOffset;   // per gradient buffer (an alias: its root's)
  int64_t arenaFloats = 0;
};
TrainingMemoryPlan planTrainingMemory(const Graph &g, const BackwardProgram &bp);

// First-fit placement of buffers with lifetimes: buffer k of `size[k]`
// floats lives over steps [first[k], last[k]]; buffers are placed in order of
// `first`. Returns the offsets (multiples of kArenaAlignFloats) and sets
// `arenaFloats` to the peak.
std::vector<int64_t> placeBuffers(const std::vector<int64_t> &size, const std::vector<size_t> &first,
                                  const std::vector<size_t> &last, int64_t &arenaFloats);

// A text form for --emit=plan and the tests: one line per value.
std::string printMemoryPlan(const Graph &g, const MemoryPlan &p);

}  // namespace nncc
