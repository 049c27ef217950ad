// The register-tiled GEMM shared by dense and its gradients
// (docs/schedules.md, "Dense"):
//   acc(v, c) = init(v, c) + sum over k of a(v, k) * b(c, k)
// `v` is the vectorized dimension (the operand `a` is read as whole vectors
// along v, so it must be contiguous along v), `c` the tile's columns (`b` is
// read as broadcast scalars), `k` the reduction, innermost. A tile of
// `vectors` x `lanes` values of v by `cols` columns keeps its accumulators in
// registers; its consumer (the op's output, with the epilogue inlined) is
// stored from them. Dense forward: v = batch, c = units, k = features;
// input gradient: v = features, c = batch, k = units; weight gradient:
// v = features, c = units, k = batch.
#pragma once
#include "compiler/lower/ConvSchedule.h"

#include <functional>

namespace nncc {
namespace lower {

struct GemmTile {
  int lanes = 1, vectors = 1, cols = 1;
  int width() const { return lanes * vectors; }  // the tile's extent along v
};

// The best tile for extents `v` and `c` (at least 1; for a dynamic extent,
// the smallest one the tile will be used for): the fewest wasted values
// (tiles shifted inwards) times the modeled cycles of one reduction step,
// at most 3/4 of the vector registers holding accumulators. `lanes` is the
// machine's vector, or the largest power of two >= 4 that fits `v`, or 1.
// `maxCols` (0: none) caps the columns (see Dense.cpp: the weight rows that
// share an L1 set).
GemmTile chooseGemmTile(const MachineShape &m, int v, int c, int maxCols = 0);

using GemmOperand = std::function<Halide::Expr(Halide::Expr, Halide::Expr)>;

struct GemmSpec {
  std::string name;       // unique; the accumulators are named after it
  Halide::Expr kExtent;   // the reduction's extent (static or dynamic)
  GemmOperand a;          // a(v, k): contiguous along v
  GemmOperand b;          // b(c, k): broadcast
  GemmOperand init;       // init(v, c); zero when empty
  // Copy a's rows of one block of v (the tile's width x k) into a contiguous
  // panel before the block's tiles (Order::VOuter): when a's rows are far
  // apart (a weight's rows 16 KB apart share one L1 set), the tiles of the
  // block then read it from L1 instead of missing on every step.
  bool packA = false;
};

// One tile size of a GEMM: its accumulator Func (one per tile size, since
// the accumulator's schedule is the tile's), read by the consumer at (v, c).
class GemmTileFunc {
 public:
  GemmTileFunc(const GemmSpec &s, const GemmTile &t, const std::string &suffix = "");

  Halide::Expr operator()(Halide::Expr v, Halide::Expr c) const { return acc_(v, c); }
  const GemmTile &tile() const { return t_; }

  // How the consumer's tiles are ordered: `VOuter` loops over the tiles of
  // c inside those of v (the a-panel of one v block stays in cache across
  // its columns), `COuter` the other way round. The outer loop is the
  // parallel one when `parallel`.
  enum class Order { VOuter, COuter };
  // Schedules `stage` (the consumer's pure definition or one of its
  // specializations, over dimensions ov and oc, any others outer) as these
  // tiles: ov split by the tile's width, oc by its columns, both shifted
  // inwards (the extents must be at least the tile's), vectorized and
  // unrolled. Once per stage that reads this accumulator.
  void tileStage(Halide::Stage stage, Halide::Var ov, Halide::Var oc, Order order, bool parallel) const;
  // The accumulator computed per tile of `consumer`, in registers: the
  // reduction innermost, `vectors` x `cols` FMAs per step. Once.
  void computeAt(const Halide::Func &consumer, Order order) const;

 private:
  GemmTile t_;
  Halide::Func acc_, panel_;
  Halide::Var v_{"v"}, c_{"c"};
  Halide::RDom k_;
};

// The number of L1 sets (of 64, 4 KB apart) that rows of `rowFloats` floats
// start in: rows a multiple of 4 KB apart all fall into one set (12 ways on
// the project's Xeon), so a tile reading many of them at once misses.
int l1SetsOfRows(int rowFloats);

// The batch extent of a lowered value's Func, found as the dynamic extent of
// a batched buffer (an input bound by constrainDense) among the buffers it
// reads, directly or through other Funcs. Undefined when there is none.
Halide::Expr batchExtentOf(const Halide::Func &f);

// Whether a GEMM of `flops` (at the smallest batch it is used for) is worth
// splitting over threads: waking the thread pool costs tens of
// microseconds, which a small layer does not earn back; a kernel streaming
// `streamedBytes` (a weight read once, at batch 1) gains the other core's
// cache and bandwidth from 512 KB on (the model runtime then decides per
// call, from the batch: NNCC_PARALLEL_MIN_STREAM_BYTES).
constexpr double kParallelFlops = 8e6;
constexpr double kParallelStreamedBytes = 512 * 1024;
bool worthParallel(double flops, double streamedBytes = 0);

}  // namespace lower
}  // namespace nncc
