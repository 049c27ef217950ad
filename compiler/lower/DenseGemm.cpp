// The register-tiled GEMM of dense and its gradients (see DenseGemm.h): the
// tile choice, the accumulator Func and the tile schedule, and the batch
// extent that the dense schedules specialize on.
#include "compiler/lower/DenseGemm.h"

#include <algorithm>

namespace nncc {
namespace lower {

namespace {

// The work computed for `extent` items in tiles of `tile`, the last one
// shifted inwards, relative to the work needed.
double waste(int extent, int tile) {
  int tiles = (extent + tile - 1) / tile;
  return double(tiles) * tile / extent;
}

}  // namespace

GemmTile chooseGemmTile(const MachineShape &m, int v, int c, int maxCols) {
  v = std::max(v, 1), c = std::max(c, 1);
  const int colCap = maxCols > 0 ? std::min(c, maxCols) : c;
  GemmTile best;
  best.lanes = 1;
  if (m.lanes > 1) {
    for (int l = m.lanes; l >= 4; l /= 2)
      if (l <= v) {
        best.lanes = l;
        break;
      }
  }
  const int most = m.registers * 3 / 4;  // accumulators; the rest: the a vectors
  double bestScore = -1;
  GemmTile t = best;
  for (int vec = 1; vec <= 4 && vec * best.lanes <= v; ++vec) {
    for (int cols = 1; cols <= std::min(colCap, most); ++cols) {
      int accs = vec * cols;
      if (accs > most || accs + vec + 1 > m.registers) continue;
      // One reduction step: `accs` FMAs on two ports, `vec` loads and `cols`
      // broadcasts on two load ports, and an FMA latency of 4 cycles for
      // each chain of accumulation.
      double cycles = std::max({accs / 2.0, (vec + cols) / 2.0, 4.0});
      double score = (accs / 2.0) / cycles / (waste(v, vec * best.lanes) * waste(c, cols));
      score += 1e-4 * accs;  // ties: the bigger tile (fewer loads per FMA)
      if (score > bestScore) bestScore = score, t.vectors = vec, t.cols = cols;
    }
  }
  return t;
}

GemmTileFunc::GemmTileFunc(const GemmSpec &s, const GemmTile &t, const std::string &suffix)
    : t_(t), acc_(s.name + suffix), k_(0, s.kExtent, s.name + suffix + "_k") {
  acc_(v_, c_) = s.init ? s.init(v_, c_) : Halide::Expr(0.f);
  Halide::Expr a = s.a(v_, k_.x);
  if (s.packA) {
    panel_ = Halide::Func(s.name + suffix + "_panel");
    Halide::Var k("k");
    panel_(v_, k) = s.a(v_, k);
    a = panel_(v_, k_.x);
  }
  acc_(v_, c_) += a * s.b(c_, k_.x);
}

void GemmTileFunc::tileStage(Halide::Stage stage, Halide::Var ov, Halide::Var oc, Order order, bool parallel) const {
  using Halide::TailStrategy;
  Halide::Var vo("vo"), vi("vi"), co("co"), ci("ci");
  stage.split(ov, vo, vi, t_.width(), TailStrategy::ShiftInwards)
      .split(oc, co, ci, t_.cols, TailStrategy::ShiftInwards);
  Halide::Var outer = order == Order::VOuter ? vo : co, inner = order == Order::VOuter ? co : vo;
  stage.reorder(vi, ci, inner, outer);
  if (t_.lanes > 1) stage.vectorize(vi, t_.lanes);
  stage.unroll(vi).unroll(ci);
  if (parallel) stage.parallel(outer);
}

void GemmTileFunc::computeAt(const Halide::Func &consumer, Order order) const {
  if (panel_.defined()) {
    Halide::Func panel = panel_;
    panel.compute_at(consumer, Halide::Var(order == Order::VOuter ? "vo" : "co")).bound_extent(v_, t_.width());
    if (t_.lanes > 1) panel.vectorize(v_, t_.lanes);
  }
  Halide::Func acc = acc_;
  acc.compute_at(consumer, Halide::Var(order == Order::VOuter ? "co" : "vo"))
      .bound_extent(v_, t_.width())
      .bound_extent(c_, t_.cols)
      .reorder(v_, c_);
  acc.update().reorder(v_, c_, k_.x);
  if (t_.lanes > 1) {
    acc.vectorize(v_, t_.lanes);
    acc.update().vectorize(v_, t_.lanes);
  }
  acc.unroll(v_).unroll(c_);
  acc.update().unroll(v_).unroll(c_);
  if (const int64_t *k = Halide::Internal::as_const_int(k_.x.extent()))  // static (not the batch)
    unrollReduction(acc.update(), k_.x, int(*k));
}

namespace {

// The first buffer parameter with a batch dimension: no extent constraint
// on its last dimension (constrainDense's dynamic batch) and one on every
// other (a parameter, whose extents are all constrained, is skipped).
class FindBatch : public Halide::Internal::IRVisitor {
 public:
  Halide::Expr extent;

 private:
  using IRVisitor::visit;
  void visit(const Halide::Internal::Call *op) override {
    IRVisitor::visit(op);
    if (extent.defined() || !op->param.defined() || !op->param.is_buffer()) return;
    const Halide::Internal::Parameter &p = op->param;
    int last = p.dimensions() - 1;
    if (last < 0 || p.extent_constraint(last).defined()) return;
    for (int d = 0; d < last; ++d)
      if (!p.extent_constraint(d).defined()) return;
    extent = Halide::Internal::Variable::make(Halide::Int(32), p.name() + ".extent." + std::to_string(last), p);
  }
};

}  // namespace

Halide::Expr batchExtentOf(const Halide::Func &f) {
  FindBatch find;
  f.function().accept(&find);
  for (const auto &kv : Halide::Internal::find_transitive_calls(f.function())) {
    if (find.extent.defined()) break;
    kv.second.accept(&find);
  }
  return find.extent;
}

int l1SetsOfRows(int rowFloats) {
  const int stride = rowFloats * 4, page = 4096;
  int g = page;
  for (int r = stride % page; r != 0;) {  // gcd(stride, page)
    int t = g % r;
    g = r, r = t;
  }
  return std::min(64, page / g);
}

bool worthParallel(double flops, double streamedBytes) {
  // kParallelFlops is about 40 us of one core's work: the model runtime's
  // pool wakes its workers per parallel loop (a condition variable, tens of
  // microseconds on a VM); 256->256 at batch 32 (4 MFLOP) took 2x longer on
  // 2 threads, 4096->256 at batch 1 (a 4 MB weight) 2.9x less, 784->256 at
  // batch 1 (0.8 MB) 0.0056 -> 0.0039 ms (each core its own half of the
  // weight in its L2).
  return flops >= kParallelFlops || streamedBytes >= kParallelStreamedBytes;
}

}  // namespace lower
}  // namespace nncc
