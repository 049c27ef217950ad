// Internal interface of the lowering: how a lowered value is represented, the
// arguments every op's lowering receives, the lowering function of each op
// family (one .cpp file per family), the one table that maps an OpKind to its
// lowering (Lowering.cpp), and the helpers the families share: dimension
// variables, explicit padding, the activation helper and the schedule policy.
#pragma once
#include "compiler/lower/Lowering.h"

#include <set>

namespace nncc {
namespace lower {

// A lowered value: a Func over the per-sample shape reversed plus the batch,
// e.g. f(x, y, c, n) for [C, H, W] and f(i, n) for [F]. Consumers only ever
// read it inside [0, extent) on every dimension, so the region Halide
// computes for a compute_root Func is exactly its shape.
struct LValue {
  Halide::Func f;
  Shape shape;  // per sample, as the IR writes it ([C, H, W])
  int border = 0;  // f reads zeros up to this many pixels outside H and W (Value::border)
  bool channelsLast = false;  // f reads a buffer stored channels-last (Layout::ChannelsLast)
};

// The pure variables and the extents of a Func's dimensions, innermost first.
// The last one is the batch, extent -1 (dynamic).
struct Dims {
  std::vector<Halide::Var> vars;
  std::vector<int> extents;
  // The dimension stored innermost, which the schedules vectorize: 0, or
  // the channel (2) of a channels-last value (Layout::ChannelsLast).
  size_t inner = 0;

  size_t size() const { return vars.size(); }
  std::vector<Halide::Expr> exprs() const { return {vars.begin(), vars.end()}; }
  // Without dimension k (a reduced axis).
  Dims without(size_t k) const;
};

// The dimensions of a value of per-sample shape `s`: (x, y, c, n) for rank 3,
// (i, n) for rank 1, (d0, d1, ..., n) otherwise.
Dims dimsOf(const Shape &s);
// The same for a value stored in `layout` (Dims::inner).
Dims dimsOf(const Shape &s, Layout layout);

// The Halide dimension of per-sample axis `axis` of a rank-`rank` shape.
inline size_t halideDim(size_t rank, size_t axis) { return rank - 1 - axis; }

// Unique, readable names within one pipeline: '.' (Halide's separator, as in
// the frontend's "image.preprocess") becomes '_'. Halide itself may still
// append "$n" to a Func name already used elsewhere in the process.
class Namer {
 public:
  std::string unique(const std::string &wanted);

 private:
  std::set<std::string> used_;
};

struct OpArgs {
  const Graph &g;
  const Op &op;
  const LowerOptions &opts;
  Namer &namer;
  std::vector<const LValue *> inputs;
  std::map<ParamRole, Halide::ImageParam> params;  // the op's parameters by role
  Shape outShape;                                  // per sample
  // The weight parameter is packed (ConvWeightPacking, lowerOpKernel with
  // prepackConvWeights) rather than the op's weight.
  bool packedWeight = false;

  const LValue &in(size_t k = 0) const { return *inputs[k]; }
  bool hasParam(ParamRole r) const { return params.count(r) != 0; }
  const Halide::ImageParam &param(ParamRole r) const;
  // A unique Func name: the op's name, or "<op>_<suffix>".
  std::string name(const std::string &suffix = "") const;
  int outExtent(size_t axis) const { return static_cast<int>(outShape[axis]); }
  // The dimensions of the op's output in its storage layout.
  Dims outDims() const { return dimsOf(outShape, g.value(op.output).layout); }
};

// An op's lowering: returns the Func of its output value, scheduled.
using LowerFn = Halide::Func (*)(const OpArgs &a);

// The lowering of an op kind; null for a kind without one.
LowerFn lowererFor(OpKind kind);

// Dense.cpp
Halide::Func lowerDense(const OpArgs &a);
// Conv.cpp
Halide::Func lowerConv2D(const OpArgs &a);
// conv2d with a fused pool (Op::fused.pool): the pool of its result (Pool.cpp).
Halide::Func lowerPooledConv2D(const OpArgs &a);
Halide::Func lowerConv2DTranspose(const OpArgs &a);
// Pool.cpp
Halide::Func lowerMaxPool2D(const OpArgs &a);
Halide::Func lowerAvgPool2D(const OpArgs &a);
Halide::Func lowerGlobalAvgPool2D(const OpArgs &a);
Halide::Func lowerGlobalMaxPool2D(const OpArgs &a);
// Normalization.cpp
Halide::Func lowerBatchNorm(const OpArgs &a);
Halide::Func lowerPreprocess(const OpArgs &a);
// Activation.cpp: relu, sigmoid, tanh, step, leaky_relu, elu, softmax, log_softmax.
Halide::Func lowerActivation(const OpArgs &a);
// Structural.cpp
Halide::Func lowerDropout(const OpArgs &a);  // the identity, inlined
Halide::Func lowerReshape(const OpArgs &a);  // flatten and reshape: row-major
Halide::Func lowerAdd(const OpArgs &a);
Halide::Func lowerConcat(const OpArgs &a);

// ---- Shared helpers ----

// Dense row-major bounds on a buffer of per-sample shape `s` (reversed), plus
// a batch dimension with min 0 and a dynamic extent when `batched`. Every
// dimension also gets an estimate for an autoscheduler: its extent, and
// kBatchEstimate for the batch.
constexpr int kBatchEstimate = 1;  // larger would let an autoscheduler split the batch past small batches
void constrainDense(Halide::OutputImageParam p, const Shape &s, bool batched);
// The same for a value stored in `layout`: channels-last [C, H, W] has the
// strides (C, C*W, 1) for (x, y, c).
// With a `border` (Value::border) the strides are those of the bordered
// storage; the bounds are the interior for the producer (`interior`) and
// include the border for the readers.
void constrainLayout(Halide::OutputImageParam p, const Shape &s, Layout layout, bool batched, int border = 0,
                     bool interior = false);

// A graph input (or a kernel's input) as an ImageParam `ip` with dense
// bounds and a dynamic batch, and the inlined Func its consumers read.
LValue bindInput(const Value &v, Namer &namer, Halide::ImageParam &ip);
// A parameter as an ImageParam with its dense static bounds.
Halide::ImageParam bindParam(const Param &p, Namer &namer);
// The input `in` normalized as a preprocess layer does, (x - mean[c]) / std[c]
// over axis 0 (one value, or one per channel); unscheduled (inlined into its
// reader). The preprocess layer, and the prologue of Op::fused.preprocess.
LValue preprocessed(const LValue &in, const std::vector<double> &mean, const std::vector<double> &stdev, Namer &namer,
                    const std::string &name);
// Lowers one op through the table: `inputs` in op.inputs order, `params` in
// op.params order (the weight packed when `packedWeight`). Returns the op's
// output Func, scheduled.
Halide::Func lowerOp(const Graph &g, const Op &op, const LowerOptions &opts, Namer &namer,
                     const std::vector<const LValue *> &inputs, const std::vector<Halide::ImageParam> &params,
                     bool packedWeight = false);
// `opts` with the op's ScheduleChoice from opts.choices (by kernelKey).
LowerOptions optionsForOp(const Graph &g, const Op &op, const LowerOptions &opts);

// A Halide name from a parameter name: "conv1.weight" -> "conv1_weight".
std::string sanitize(const std::string &name);

// `in` with its W and H axes (Halide dims 0 and 1 of an image) extended by
// `value` outside [0, W) x [0, H): the explicit padding of convolutions and
// pools. The access to `in` is clamped, so the padded Func never makes Halide
// read `in` out of bounds. Inlined (no schedule).
Halide::Func padXY(const LValue &in, Halide::Expr value, const std::string &name);

// A float constant (never a Float(64) Expr by accident).
inline Halide::Expr f32(double v) { return Halide::Expr(static_cast<float>(v)); }

// Activation.cpp: `act` applied to `producer` (the standalone activation
// layers and the fused `activation` attribute of dense and the convolutions
// both use it, so the two spellings lower to the same Funcs). Returns a new
// scheduled Func named `name` (already unique); helper Funcs get names from
// `namer`.
Halide::Func activate(const Activation &act, const LValue &producer, Namer &namer, const std::string &name,
                      const LowerOptions &opts,
                      Layout layout = Layout::Planar);
// The op's fused epilogue applied to `producer` (its raw result): the
// batchnorm and residual add passes fused into it (Op::fused), then its
// `activation`; `producer` itself when there is none. Epilogue.cpp.
// With `residual`, a fused residual operand is read through a Func of its
// own, returned there (undefined without one), so that a schedule can place
// it (scheduledEpilogue: a row at a time).
Halide::Func applyFusedActivation(const OpArgs &a, Halide::Func producer, Halide::Func *residual = nullptr);
// Normalization.cpp: gamma / sqrt(running_var + epsilon) per channel, of the
// op's batchnorm parameters (a batchnorm layer's, or those fused into a conv).
Halide::Func batchNormScale(const OpArgs &a, double epsilon);
// The Func name for an op's raw result: the op's name without a fused
// activation, "<op>_preact" with one.
std::string preActivationName(const OpArgs &a);

// ---- The schedule policy (Schedule helpers in Lowering.cpp) ----
//
// Every op output is compute_root; the innermost dimension is vectorized by
// the target's natural float vector width (or the largest power of two >= 4
// that fits its extent); the two outermost dimensions (channels and batch)
// are fused and parallel (the batch alone for [F] values). A reduction's
// update stage vectorizes the same pure dimension, moved inside the
// reduction loops, with GuardWithIf tails; pure definitions use ShiftInwards
// (never computing outside the value's shape).

// The vector width for a dimension of extent `extent` (1: do not vectorize).
int vectorFactor(const LowerOptions &opts, int extent);

// compute_root + vectorize + parallel for a Func's pure definition.
void schedulePointwise(Halide::Func f, const Dims &d, const LowerOptions &opts);

// compute_root for `f`, its pure definition as schedulePointwise, and its
// update `update` with the pure innermost dimension vectorized inside `rvars`.
void scheduleReduction(Halide::Func f, const Dims &d, const std::vector<Halide::RVar> &rvars,
                       const LowerOptions &opts, int update = 0);

}  // namespace lower
}  // namespace nncc
