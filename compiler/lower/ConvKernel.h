// The scheduled convolution kernels (docs/schedules.md) as a function of a
// convolution problem rather than of an op: where the input comes from, how
// a weight tap is read, the geometry and what runs on the result. conv2d's
// forward pass (Conv.cpp) and its data gradient (ConvGradients.cpp: the
// forward convolution of the output gradient with the weights flipped in
// (kx, ky) and the channels transposed) are both instances. Also the one
// definition of the channels-innermost kernel's packed weight layout
// (ConvWeightPacking), which a compiled model may keep prepacked.
#pragma once
#include "compiler/lower/ConvSchedule.h"

#include <functional>
#include <optional>

namespace nncc {
namespace lower {

// The attributes of a convolution and its channel counts per group.
struct ConvGeom {
  int kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pt = 0, pl = 0, groups = 1;
  int cin = 0, cout = 0, cinPerGroup = 0, coutPerGroup = 0;
  bool pooled = false;  // the op has a fused pool (Op::fused.pool)
};

// The attributes of a conv2d or conv2d_transpose op with per-sample input
// and output shapes `in` and `out` (a LoweringError when they do not fit).
ConvGeom convGeom(const Op &op, const Shape &in, const Shape &out);

// out(x, y, f, n) = initial(f) + sum over (kx, ky, cg) of
//   weight(kx, ky, cg, f) * in(x*sw - pl + kx*dw, y*sh - pt + ky*dh, group(f)*cinPerGroup + cg, n),
// `in` being zero outside its shape, then epilogue(raw) on the result.
struct ConvProblem {
  LValue in;  // (x, y, c, n), geom.cin channels
  std::function<Halide::Expr(Halide::Expr kx, Halide::Expr ky, Halide::Expr cg, Halide::Expr f)> weight;
  std::function<Halide::Expr(Halide::Expr f)> initial;  // null: 0
  ConvGeom geom;
  Shape outShape;  // [cout, H, W]
  // The result's Func from the raw (pure) result Func: calls tile(F) on the
  // Func F the register tile must schedule (the result itself, or `raw`
  // followed by work of its own) and returns the result.
  std::function<Halide::Func(Halide::Func raw, const std::function<void(Halide::Func)> &tile)> epilogue;
  std::string rawName;                                        // the raw result's Func name
  std::function<std::string(const std::string &)> name;      // unique helper Func names
  LowerOptions opts;
  Layout outLayout = Layout::Planar;  // how the result is stored (Value::layout)
  // Where the channels-innermost kernel's tile computes the result: the root
  // (its own parallel loop over channel blocks and samples), or a fused
  // consumer's loop (a pool's rows, lowerPooledConv2D), which then owns the
  // parallelism and must ask for whole blocks of convChannelBlock channels.
  // (Empty: the root. A LoopLevel cannot be inspected before it is locked.)
  std::optional<Halide::LoopLevel> at = std::nullopt;
  // With `at`, where the result is stored, when outside `at` (a pool whose
  // windows overlap: Halide's sliding window then computes each row once
  // per task). Empty: at `at`.
  std::optional<Halide::LoopLevel> storeAt = std::nullopt;
  // The weight already packed by ConvWeightPacking (a prepacked forward
  // kernel, docs/runtime.md); undefined: the kernel packs `weight` itself.
  // Only the channels-innermost and Winograd kernels read it.
  Halide::ImageParam packedWeight{};
  // The Winograd kernel (convWinograd) rather than the channels-innermost
  // one: set where convUsesWinograd holds.
  bool winograd = false;
};

// How the channels-innermost kernel wants its weight: in blocks of `block`
// output channels and chunks of `chunk` input channels (0: one chunk of all
// cin), each (block, chunk) one contiguous stream in the order the register
// tile reads it, as the 4-D buffer
//   packed(f, cc, tap, q) = weight(tap % kw, tap / kw, (q % chunks) * chunk + cc, (q / chunks) * block + f)
// (Halide dims, f innermost; tap = kx + kw * ky). The in-kernel repack and
// the prepack kernel (lowerConvWeightPackKernel) both use this one
// definition.
//
// For the Winograd kernel (`winograd`: no chunks) the 16 taps are those of
// the transformed filter U = G g G^T (winogradWeight), tap e = 4 * row + col:
//   packed(f, ci, e, fb) = U(e, ci, fb * block + f).
struct ConvWeightPacking {
  int block = 0, cin = 0, kh = 1, kw = 1, cout = 0;
  int chunk = 0;
  bool winograd = false;

  int chunkChannels() const { return chunk > 0 ? chunk : cin; }
  int chunks() const { return cin / chunkChannels(); }
  int taps() const { return winograd ? 16 : kh * kw; }
  // The packed buffer's row-major shape [cout / block * chunks, taps, chunk channels, block].
  Shape shape() const;
  // The packed weight as a Func of (f, cc, tap, q) from the weight accessor,
  // unscheduled.
  Halide::Func define(const std::function<Halide::Expr(Halide::Expr kx, Halide::Expr ky, Halide::Expr ci,
                                                       Halide::Expr f)> &weight,
                      const std::string &name) const;
  // The packed weight of output channel f, input channel ko * chunk + ki and
  // tap (kx, ky).
  Halide::Expr read(const Halide::Func &packed, Halide::Expr f, Halide::Expr ko, Halide::Expr ki, Halide::Expr kx,
                    Halide::Expr ky) const;
  // Tap `tap` (0 .. taps() - 1) of output channel f and input channel ci
  // of chunk ko.
  Halide::Expr readTap(const Halide::Func &packed, Halide::Expr f, Halide::Expr ci, Halide::Expr tap,
                       Halide::Expr ko = 0) const;
  // The repack's loops: f vectorized innermost, then the taps, parallel
  // over the blocks.
  void schedule(Halide::Func packed, const MachineShape &m) const;
};
// The packing of a channels-innermost conv2d with result shape `outShape`
// ([cout, H, W]; its block from the register tile chooseConvTile picks for
// `choice`), or with `winograd` of the Winograd kernel's (chooseWinogradTile).
ConvWeightPacking convWeightPacking(const ConvGeom &c, const Shape &outShape, const MachineShape &m,
                                   const ScheduleChoice &choice, bool winograd = false);

// The Winograd convolution F(2x2, 3x3) (ConvWinograd.cpp, docs/schedules.md
// "Winograd"). It applies to a 3x3 conv2d of stride 1, dilation 1, top and
// left padding 1 (convUsesWinograd: the bottom and right padding within the
// input's border), groups 1, whole vectors of input and output channels, an even result
// height and width of at least 4, no fused pool, its input stored
// channels-last with a zero border (read in place) and its result stored
// channels-last (computed at the root).
bool winogradApplies(const ConvGeom &c, const Shape &outShape, int lanes, bool inChannelsLast, int inBorder,
                     bool outChannelsLast);
// Whether op's forward kernel is the Winograd one under `opts`: it applies
// and opts.winograd (nncc --conv-algorithm) allows it.
bool convUsesWinograd(const Graph &g, const Op &op, const LowerOptions &opts);
// The Winograd kernel's register tile: `vectors` vectors of output channels
// x `cols` tiles of a row of tiles.
struct WinogradTile {
  int vectors = 1, cols = 1;
};
WinogradTile chooseWinogradTile(const MachineShape &m, int cout, int tilesPerRow);
// The transformed filter U = G g G^T at tap e (row e / 4, column e % 4)
// from the weight accessor weight(kx, ky, ci, f).
Halide::Expr winogradWeight(const std::function<Halide::Expr(Halide::Expr, Halide::Expr, Halide::Expr, Halide::Expr)> &weight,
                            Halide::Expr e, Halide::Expr ci, Halide::Expr f);
// The problem's result by the Winograd kernel (p.winograd), scheduled.
Halide::Func convWinograd(const ConvProblem &p, const MachineShape &m);

// Whether the scheduled kernels apply (schedule and vectorize on, not the
// benchmark's baseline).
bool convKernelsApply(const LowerOptions &opts);
// The packing of the weight of `op` when its forward kernel (lowerOpKernel)
// takes it prepacked: a conv2d on the channels-innermost kernel under
// `opts` (already holding the op's ScheduleChoice) with
// opts.prepackConvWeights; nullopt otherwise.
std::optional<ConvWeightPacking> prepackedConvWeight(const Graph &g, const Op &op, const LowerOptions &opts);
// A dense layer's weight [units, F] packed as a 1 x 1 convolution's, in
// blocks of a vector of units and one chunk of all features: packed(l, i,
// 0, ub) = weight(ub * lanes + l, i), each block one contiguous stream
// (Dense.cpp's packed GEMV). When the units are whole vectors; nullopt
// otherwise.
std::optional<ConvWeightPacking> prepackedDenseWeight(const Graph &g, const Op &op, const LowerOptions &opts);
// Whether a conv2d of geometry `c` and output layout `outLayout` takes the
// channels-innermost kernel.
bool channelsInnermostApplies(const ConvGeom &c, const MachineShape &m, Layout outLayout);
// The problem's result, scheduled: the channels-innermost register tile when
// groups = 1, cout is whole vectors and the reduction is deep enough, else
// the direct (NCHW) tile. Requires convKernelsApply(p.opts).
Halide::Func lowerConvKernel(const ConvProblem &p);
// The block of output channels of the channels-innermost kernel's tile, or 0
// when the problem takes the direct kernel.
int convChannelBlock(const ConvProblem &p);

// conv2d's result (bias and fused epilogue, no fused pool) for an op whose
// OpArgs::outShape is the convolution's own. With `at` (the row loop of a
// fused pool or of a planar result's copy), a channels-innermost kernel is computed there and its block of
// channels is returned; otherwise (at null, or the direct or generic kernel
// or a softmax epilogue, which compute the result at the root) 0. Also
// whether the channels-innermost kernel computed it (its vectors are
// channels: a consumer in the same kernel wants it stored channels
// innermost).
struct ConvResult {
  Halide::Func f;
  int block = 0;
  bool channelsInnermost = false;  // the channels-innermost kernel computed it
};
// With `storeAt` too, the result is stored there (ConvProblem::storeAt).
ConvResult lowerConv2DResult(const OpArgs &a, const Halide::LoopLevel *at, const Halide::LoopLevel *storeAt = nullptr);
// A planar result (shape `outShape`) of the channels-innermost kernel is
// computed a row at a time into whole channel vectors and copied out with
// vectors of columns (lowerConv2D's planar outputs, conv2d's input
// gradient): when that kernel takes it and reduces in one chunk.
bool planarRowsApply(const ConvGeom &c, const Shape &outShape, const LowerOptions &opts);
// The copy of `result` (dims `d`, blocks of `block` channels), scheduled
// by rows (scheduleRowConsumer), with `at` set to its row loop: the level
// the result's kernel was asked to compute at (ConvProblem::at).
Halide::Func copyPlanarRows(Halide::Func result, const Dims &d, int block, const ConvGeom &c, Halide::LoopLevel at,
                            const LowerOptions &opts, const std::string &name);
// The bytes of a convolution's weight.
int64_t convWeightBytes(const ConvGeom &c);

}  // namespace lower
}  // namespace nncc
