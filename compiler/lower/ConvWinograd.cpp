// The Winograd convolution F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms
// for Convolutional Neural Networks", 2016) for the 3x3, stride-1
// conv2d layers of inference models (docs/schedules.md, "Winograd"):
//   Y = A^T [ (G g G^T) . (B^T d B) ] A
// per 2 x 2 tile of the result, d the tile's 4 x 4 input patch and g the 3 x 3
// filter. The 16 products of a tile are 16 independent GEMMs over the input
// channels (M = U V, U = G g G^T prepacked per (tap e, channel, block of
// output channels), V = B^T d B), 2.25x fewer multiply-adds than the direct
// convolution, each a register tile of output-channel vectors x tiles.
#include "compiler/lower/ConvKernel.h"

namespace nncc {
namespace lower {

using Halide::Expr;
using Halide::Func;
using Halide::Var;

namespace {

// G (4 x 3): the filter transform.
constexpr float kG[4][3] = {{1.f, 0.f, 0.f}, {.5f, .5f, .5f}, {.5f, -.5f, .5f}, {0.f, 0.f, 1.f}};

// Row `a` of B^T d for the column get(0..3) of a patch:
// [d0 - d2, d1 + d2, d2 - d1, d1 - d3]. `a` may be an Expr: a kernel
// unrolls it to a constant and the simplifier keeps one branch.
Expr inputRow(Expr a, const std::function<Expr(int)> &get) {
  return Halide::select(a == 0, get(0) - get(2), a == 1, get(1) + get(2), a == 2, get(2) - get(1), get(1) - get(3));
}

// Row `r` (0 or 1) of A^T m for the column get(0..3): [m0 + m1 + m2, m1 - m2 - m3].
Expr outputRow(int r, const std::function<Expr(int)> &get) {
  return r == 0 ? get(0) + get(1) + get(2) : get(1) - get(2) - get(3);
}

// Entry (row, k) of G for a row that may be an Expr.
Expr gEntry(Expr row, int k) {
  return Halide::select(row == 0, kG[0][k], row == 1, kG[1][k], row == 2, kG[2][k], kG[3][k]);
}

}  // namespace

bool winogradApplies(const ConvGeom &c, const Shape &outShape, int lanes, bool inChannelsLast, int inBorder,
                     bool outChannelsLast) {
  return c.kh == 3 && c.kw == 3 && c.sh == 1 && c.sw == 1 && c.dh == 1 && c.dw == 1 && c.pt == 1 && c.pl == 1 &&
         c.groups == 1 && lanes > 1 && c.cin % lanes == 0 && c.cout % lanes == 0 &&
         outShape.size() == 3 && outShape[1] % 2 == 0 && outShape[2] % 2 == 0 && outShape[1] >= 4 &&
         outShape[2] >= 4 && inChannelsLast && inBorder >= 1 && outChannelsLast;
}

WinogradTile chooseWinogradTile(const MachineShape &m, int cout, int tilesPerRow) {
  // The most accumulators up to half the registers (4 x 7 = 28 was slower
  // than 4 x 4 and 2 x 7 on ResNet-18's shapes, a one-layer JIT
  // experiment), the tiles of a row a whole number of register tiles;
  // ties go to more vectors (fewer broadcasts per FMA).
  WinogradTile best{1, 1};
  for (int v = 1; v <= 4; ++v) {
    if (cout % (v * m.lanes)) continue;
    for (int t = 1; t <= std::min(tilesPerRow, 8); ++t) {
      if (tilesPerRow % t || v * t * 2 > m.registers) continue;
      if (v * t >= best.vectors * best.cols) best = {v, t};
    }
  }
  return best;
}

Expr winogradWeight(const std::function<Expr(Expr, Expr, Expr, Expr)> &weight, Expr e, Expr ci, Expr f) {
  Expr a = e / 4, b = e % 4, sum = 0.f;
  for (int ky = 0; ky < 3; ++ky)
    for (int kx = 0; kx < 3; ++kx) sum += gEntry(a, ky) * gEntry(b, kx) * weight(kx, ky, ci, f);
  return sum;
}

Func convWinograd(const ConvProblem &p, const MachineShape &m) {
  using Halide::TailStrategy;
  const ConvGeom &c = p.geom;
  Dims d = dimsOf(p.outShape);
  Var x = d.vars[0], y = d.vars[1], f = d.vars[2], n = d.vars[3];
  const int width = d.extents[0], height = d.extents[1], lanes = m.lanes;
  const WinogradTile t = chooseWinogradTile(m, c.cout, width / 2);
  const int block = t.vectors * lanes;
  ConvWeightPacking wp = convWeightPacking(c, p.outShape, m, p.opts.choice, true);
  Func pw = p.packedWeight.defined() ? Func(p.packedWeight) : wp.define(p.weight, p.name("packed_w"));
  if (!p.packedWeight.defined()) wp.schedule(pw.compute_root(), m);

  // V(ci, tx, e, ty, n) = (B^T d B)[e / 4][e % 4], d the patch of tile (tx,
  // ty): input rows 2ty - 1 .. 2ty + 2, columns 2tx - 1 .. 2tx + 2, read in
  // place (channels-last, a zero border of at least 1: winogradApplies).
  Var ci("ci"), tx("tx"), ty("ty"), e("e");
  auto patch = [&](int i, int j) { return p.in.f(2 * tx + j - 1, 2 * ty + i - 1, ci, n); };
  auto rows = [&](Expr a, int j) { return inputRow(a, [&](int i) { return patch(i, j); }); };
  Func v(p.name("winograd_in"));
  v(ci, tx, e, ty, n) = inputRow(e % 4, [&](int j) { return rows(e / 4, j); });

  // M(f, tx, e, ty, n) = sum over ci of U(f, ci, e) V(ci, tx, e, ty, n).
  Halide::RDom r(0, c.cin, p.name("r"));
  Func mm(p.name("winograd_m"));
  mm(f, tx, e, ty, n) = 0.f;
  mm(f, tx, e, ty, n) += wp.readTap(pw, f, r, e) * v(r, tx, e, ty, n);

  // The result: A^T M A, the tile's (x % 2, y % 2) entry, plus the bias.
  auto mAt = [&](int i, int j) { return mm(f, x / 2, 4 * i + j, y / 2, n); };
  auto yAt = [&](int rr, int s) {
    return outputRow(s, [&](int j) { return outputRow(rr, [&](int i) { return mAt(i, j); }); });
  };
  Func raw(p.rawName);
  Expr initial = p.initial ? p.initial(f) : Expr(0.f);
  raw(x, y, f, n) = initial + Halide::select(y % 2 == 0, Halide::select(x % 2 == 0, yAt(0, 0), yAt(0, 1)),
                                             Halide::select(x % 2 == 0, yAt(1, 0), yAt(1, 1)));

  return p.epilogue(raw, [&](Func out) {
    std::vector<Var> o = out.args();
    Var ox = o[0], oy = o[1], of = o[2], on = o[3];
    Var xo("xo"), xi("xi"), yi("yi"), fo("fo"), fi("fi");
    // Per task, a row of tiles of a sample (two rows of the result; the
    // loop keeps the name y, where a fused residual operand is read):
    // its V (16 x tiles x cin floats, in L2), then per block of output
    // channels and register tile of tiles, M (in L1) and the result. In a
    // fused pool's row loop (p.at: 2 x 2 windows of stride 2,
    // convUsesWinograd), one row of tiles of one block per pooled row.
    if (p.at) {
      out.compute_at(*p.at);
    } else {
      out.compute_root().bound(ox, 0, width).bound(oy, 0, height);
    }
    if (p.storeAt) out.store_at(*p.storeAt);
    out.split(oy, oy, yi, 2, TailStrategy::RoundUp)
        .split(ox, xo, xi, 2 * t.cols, TailStrategy::RoundUp)
        .split(of, fo, fi, block, TailStrategy::RoundUp)
        .reorder(fi, xi, yi, xo, fo, oy, on)
        .vectorize(fi, lanes)
        .unroll(fi)
        .unroll(xi)
        .unroll(yi);
    if (p.at) out.reorder_storage(of, ox, oy, on);  // whole channel vectors, read by the consumer
    else out.fuse(oy, on, oy).parallel(oy);          // tasks: (row of tiles, sample), still named y
    // A vector of channels of a tile's 16 taps in one straight line: its 16
    // input vectors loaded once, and each B^T d row shared by four taps
    // (about 2.4 additions per tap, 16 loads and 16 stores per vector).
    Var co("co"), cv("cv");
    v.compute_at(out, oy).split(ci, co, cv, lanes).reorder(cv, e, co, tx, ty, n).vectorize(cv).unroll(e);
    mm.compute_at(out, xo)
        .bound_extent(f, block)
        .bound_extent(tx, t.cols)
        .bound_extent(e, 16)
        .reorder_storage(f, tx, e, ty, n)
        .vectorize(f, lanes)
        .unroll(f)
        .unroll(tx);
    mm.update().reorder(f, tx, r, e, ty, n).vectorize(f, lanes).unroll(f).unroll(tx);
    unrollReduction(mm.update(), r, c.cin);
  });
}

}  // namespace lower
}  // namespace nncc
