// The fast schedules of conv2d and dense (docs/schedules.md): register-tile
// choice from the target's vector width and register count and the layer's
// shape, and the common ending of a scheduled kernel (the fused epilogue
// computed inside the register tile). Used by Conv.cpp and Dense.cpp.
#pragma once
#include "compiler/lower/LowerOps.h"

#include <functional>
#include <vector>

namespace nncc {
namespace lower {

// What the schedules know of the target.
struct MachineShape {
  int lanes = 16;    // f32 lanes of a natural vector (16 AVX-512, 8 AVX2, 4 NEON/SSE)
  int registers = 32; // vector registers (32 AVX-512 and AArch64, 16 otherwise)
};
MachineShape machineShape(const LowerOptions &opts);

// The register tile of the channels-innermost convolution: `vectors` vectors
// of output channels x `cols` output columns of one row, all accumulators in
// registers, the input channels the innermost reduction.
struct ConvTile {
  int vectors = 0, cols = 0;
};
// The best tile for `cout` output channels (a multiple of the lanes; the
// block of channels divides it) and an output row of `width` columns: the
// fewest wasted columns (the last tile is shifted inwards) and the fewest loads
// per FMA, with room left for the weights and the broadcast input.
ConvTile chooseConvTile(const MachineShape &m, int cout, int width, const ScheduleChoice &choice = {});
// The register tile's innermost reduction loop (one step: a few loads and a
// block of FMAs), unrolled by the largest of 8, 4, 2 that divides `extent`
// (all of it up to 8): the loop's own counter, compare and branch otherwise
// cost a 3x3 conv's tile about a sixth of its FMA rate (docs/schedules.md).
// `r` must be placed (reorder) before the call; its two halves take its place.
void unrollReduction(Halide::Stage s, const Halide::RVar &r, int extent);

// Whether a conv2d takes the channels-innermost kernel (whose tile the above
// chooses) rather than the direct one: groups = 1, whole vectors of output
// channels, and either a channels-last output (written with whole vectors)
// or a reduction (cin x kh x kw) deep enough that its FMAs outweigh the
// planar output's scattered stores (the first layers, cin = 1 or 3, are not).
bool channelsInnermostApplies(const MachineShape &m, int groups, int cin, int cout, int kh, int kw,
                              bool channelsLastOutput = false);
// Every valid tile for the shape, best first by the model above (the first
// is the heuristic's choice); --autotune times a few of them.
std::vector<ConvTile> convTileCandidates(const MachineShape &m, int cout, int width);

// How many bands of rows a kernel's tasks of (sample, channel block) split
// into: enough that there are 4 tasks per sample when `blocks` is smaller
// (at batch 1 a layer of one block, cout 64 in 4 x 4 tiles, would otherwise
// run on one thread), each band at least 4 of the `rows`.
int rowBands(int blocks, int rows);

// Whether the tasks of a conv's (sample, channel block) pairs take a
// sample's blocks one after the other (samples outer) rather than a block's
// samples: when the layer's weights (`weightBytes`) fit in half of a 2 MB
// L2, so that each core, starting on its own contiguous part of the tasks
// (runtime/model/ThreadPool.c), reads its part of the batch once and the
// weights from its L2, instead of every sample for its part of the blocks.
// Larger weights keep a block's samples together, sharing the block in L2.
// The plain and the pool-fused convolution both follow it.
bool convSamplesOuter(int64_t weightBytes);

// The parallel loop of a conv's kernel, or of a Func that consumes its rows
// as it computes them: tasks of (sample `n`, channel block `co`) pairs, in
// the order convSamplesOuter(weightBytes) gives, and bands of the `height`
// rows `y` when there are few blocks (rowBands), fused into one parallel
// loop named "task". `inside` are the loops of a task, innermost first,
// ending with `y`.
void scheduleRowTasks(Halide::Func out, std::vector<Halide::VarOrRVar> inside, const Halide::Var &y,
                      const Halide::Var &co, const Halide::Var &n, int blocks, int height, int64_t weightBytes);

// The schedule of a Func `out` (dimensions `d`: x, y, c, n) that reads a
// channels-innermost conv's result row by row as the conv computes it, in
// blocks of `block` channels (a fused pool, or the planar copy of a
// result): compute_root, the conv's tasks (scheduleRowTasks), one output row
// at a time, vectorized along its stored innermost dimension (channels, or
// the columns of a planar result). Returns the loop level at which the conv
// is computed: its row loop.
Halide::LoopLevel scheduleRowConsumer(Halide::Func out, const Dims &d, int block, int64_t weightBytes,
                                      const LowerOptions &opts);

// The schedule of a copy `f` of a planar value into channels-innermost
// order (`c` stored innermost, then the columns `x`): each vector a gather of
// one column from as many planes. Vectors of half the lanes of channels,
// each along the whole row before the next channels, so that their cache
// lines, which for 32 x 32 planes (4 KB apart) all fall in one L1 set, stay
// there for the row's next columns (a whole vector's 16 lines overflowed
// the set's 12 ways: vgg_cifar's 64-channel layers at 32 x 32 in training).
// Nothing vectorized below half a vector of channels.
void scheduleChannelGather(Halide::Func f, const Halide::Var &c, const Halide::Var &x, int channels, int lanes);

// The register tile of the direct (NCHW) convolution: `xvecs` vectors of `vec`
// output columns x `filters` output channels.
struct DirectTile {
  int vec = 1, xvecs = 1, filters = 1;
};
DirectTile chooseDirectTile(const MachineShape &m, int cout, int width);

// Tile overrides for bench/kernels (0: the choice above). Not for the compiler.
struct ScheduleOverrides {
  int convVectors = 0, convCols = 0;
  int denseUnits = 0;
  bool forceDirect = false;
  bool baseline = false;  // the generic schedule of before (for before/after numbers)
};
ScheduleOverrides &scheduleOverrides();

// The op's output from its raw result `raw` (a pure Func over the output's
// dimensions): the fused epilogue (applyFusedActivation) built unscheduled,
// so that it inlines into `raw`'s consumer, its per-channel tables computed
// once; then `tile(out)` schedules the output Func (compute_root, register
// tile, the raw result's accumulator computed inside). A softmax activation
// (a reduction over the raw result) instead gets `tile(raw)` and its own
// schedule after it.
Halide::Func scheduledEpilogue(const OpArgs &a, Halide::Func raw, const std::function<void(Halide::Func)> &tile);

}  // namespace lower
}  // namespace nncc
