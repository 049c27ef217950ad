// Tests of the scheduled dense GEMMs (docs/schedules.md, "Dense";
// compiler/lower/DenseGemm.h): the forward against the reference interpreter
// on each of its paths (the dot products, the GEMM tiles of half a vector,
// one and two vectors of samples, at batches that are and are not multiples
// of the tiles, up to the max batch), unit counts that are not whole tiles,
// features fewer than a vector, with and without each kind of epilogue; and
// the gradient rules of DenseGradients.cpp (the input gradient's one-column
// and full tiles, the weight gradient with its regularization, the bias
// gradient, with and without packed panels) against plain loops in double.
#include "InterpreterTest.h"
#include "compiler/lower/DenseGemm.h"
#include "compiler/lower/Gradients.h"
#include "compiler/lower/Lowering.h"

#include <random>

namespace nncc {
namespace testing {
// LowerTest.cpp: lower, JIT-run and compare every output with the reference
// interpreter (1e-4 relative + 1e-5 absolute), for each batch size.
void expectMatchesReference(const std::string &json, std::vector<int64_t> batches = {1, 3});
}  // namespace testing
}  // namespace nncc

using namespace nncc;
using namespace nncc::testing;

namespace {

// With AVX-512: the dot products (1, 3, 9), the half-vector tile (8, 13),
// the one-vector tile (16, 17, 33, 40: the max batch) and the two-vector
// tile (32); with AVX2 the same batches cover the tiles of 4, 8 and 16.
const std::vector<int64_t> kBatches{1, 3, 8, 9, 13, 16, 17, 32, 33, 40};

std::string denseModel(int features, const std::vector<std::pair<std::string, std::string>> &layers) {
  std::string json = R"({"nncc": 1, "name": "m", "max_batch": 40, "inputs": [{"name": "x", "shape": [)" +
                     std::to_string(features) + R"(]}], "layers": [)";
  std::string outputs;
  for (size_t k = 0; k < layers.size(); ++k) {
    const std::string &attrs = layers[k].second;
    std::string inputs = attrs.find("\"inputs\"") == std::string::npos ? R"("inputs": ["x"], )" : "";
    json += (k ? ", " : "") + std::string(R"({"name": ")") + layers[k].first + R"(", "type": "dense", )" + inputs +
            attrs + "}";
    outputs += (k ? ", \"" : "\"") + layers[k].first + "\"";
  }
  return json + "], \"outputs\": [" + outputs + "]}";
}

}  // namespace

TEST(LowerDenseSchedule, GemmTileChoice) {
  lower::MachineShape avx512{16, 32}, avx2{8, 16};
  for (auto m : {avx512, avx2}) {
    for (int v : {1, 3, 4, 7, 16, 40, 784}) {
      for (int c : {1, 2, 10, 16, 256}) {
        lower::GemmTile t = lower::chooseGemmTile(m, v, c);
        SCOPED_TRACE(std::to_string(v) + " x " + std::to_string(c));
        EXPECT_LE(t.width(), std::max(v, 1));  // shifted inwards: never wider than the extent
        EXPECT_LE(t.cols, c);
        EXPECT_LE(t.vectors * t.cols, m.registers * 3 / 4);
        EXPECT_TRUE(t.lanes == 1 || (t.lanes >= 4 && t.lanes <= m.lanes));
      }
    }
  }
  // The big layers get a tile of at least 8 accumulators (the FMA latency).
  lower::GemmTile t = lower::chooseGemmTile(avx512, 16, 256);
  EXPECT_EQ(t.lanes, 16);
  EXPECT_GE(t.vectors * t.cols, 8);
}

TEST(LowerDenseSchedule, UnitTailsAndEpilogues) {
  expectMatchesReference(denseModel(100, {
      {"u256", R"("units": 256, "activation": "relu")"},
      {"u37", R"("units": 37)"},
      {"u13", R"("units": 13, "use_bias": false, "activation": "sigmoid")"},
      {"u10", R"("units": 10, "activation": "softmax")"},
      {"u3", R"("units": 3, "activation": {"type": "log_softmax", "axis": 0})"},
      {"u1", R"("units": 1, "activation": "tanh")"},
      {"chain", R"("inputs": ["u256"], "units": 20, "activation": "leaky_relu")"}}),
      kBatches);
}

TEST(LowerDenseSchedule, FeatureCounts) {
  // Fewer features than a vector, exactly one vector, a remainder, many.
  expectMatchesReference(denseModel(3, {{"a", R"("units": 17, "activation": "elu")"}}), kBatches);
  expectMatchesReference(denseModel(16, {{"a", R"("units": 33)"}}), kBatches);
  expectMatchesReference(denseModel(45, {{"a", R"("units": 48, "activation": "relu")"}}), kBatches);
  expectMatchesReference(denseModel(784, {{"a", R"("units": 64, "activation": "relu")"}}), {1, 17, 40});
}

namespace {

double slope(const std::string &act, double y) {
  if (act == "relu") return y > 0 ? 1 : 0;
  if (act == "tanh") return 1 - y * y;
  return 1;
}

// The gradient rules of one dense layer against plain loops: dz = dy through
// the activation (of y, which need not come from x here), dx = W dz,
// dw = sum over the batch of x dz^T plus the regularization, db = sum of dz.
void checkDenseGradients(int features, int units, const std::string &act, std::vector<int> batches, double l1,
                         double l2) {
  SCOPED_TRACE(std::to_string(features) + " -> " + std::to_string(units) + " " + act);
  std::string attrs = R"("units": )" + std::to_string(units) + (act.empty() ? "" : R"(, "activation": ")" + act + "\"");
  Graph g = buildModel(denseModel(features, {{"d", attrs}}));
  const Op *op = nullptr;
  for (const Op &o : g.ops)
    if (o.kind == OpKind::Dense) op = &o;
  ASSERT_NE(op, nullptr);
  LowerOptions opts;
  opts.target = Halide::get_jit_target_from_environment();
  lower::Namer namer;
  Halide::ImageParam xp, yp, dyp;
  Value xv = g.value(op->inputs[0]), yv = g.value(op->output), dyv = yv;
  yv.name = "y", dyv.name = "dy";
  lower::LValue x = lower::bindInput(xv, namer, xp), y = lower::bindInput(yv, namer, yp),
                dy = lower::bindInput(dyv, namer, dyp);
  lower::GradArgs a{g, *op, opts, namer, {x}, y, dy, {}, xp.dim(1).extent(), l1, l2};
  std::map<ParamRole, const Param *> params;
  for (int p : op->params) {
    const Param &prm = g.params[static_cast<size_t>(p)];
    a.params.emplace(prm.role, lower::bindParam(prm, namer));
    params[prm.role] = &prm;
  }
  ASSERT_TRUE(params.count(ParamRole::Weight) && params.count(ParamRole::Bias));
  Halide::Func dxF = lower::lowerInputGradient(a, 0);
  Halide::Func dwF = lower::lowerParamGradient(a, *params[ParamRole::Weight]);
  Halide::Func dbF = lower::lowerParamGradient(a, *params[ParamRole::Bias]);

  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uni(-1.f, 1.f);
  auto fill = [&](Halide::Buffer<float> &b) { b.for_each_value([&](float &v) { v = uni(rng); }); };
  Halide::Buffer<float> w(features, units), bias(units);
  fill(w), fill(bias);
  a.params.at(ParamRole::Weight).set(w);
  a.params.at(ParamRole::Bias).set(bias);
  const bool regularized = params[ParamRole::Weight]->regularized;
  for (int batch : batches) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    Halide::Buffer<float> xb(features, batch), yb(units, batch), dyb(units, batch);
    fill(xb), fill(yb), fill(dyb);
    xp.set(xb), yp.set(yb), dyp.set(dyb);
    Halide::Buffer<float> dx = dxF.realize({features, batch}, opts.target);
    Halide::Buffer<float> dw = dwF.realize({features, units}, opts.target);
    Halide::Buffer<float> db = dbF.realize({units}, opts.target);
    std::vector<double> dz(static_cast<size_t>(units * batch));
    for (int n = 0; n < batch; ++n)
      for (int u = 0; u < units; ++u) dz[size_t(n * units + u)] = dyb(u, n) * slope(act, yb(u, n));
    auto near = [](double want, float got) { return std::fabs(got - want) <= 1e-4 + 1e-4 * std::fabs(want); };
    int bad = 0;
    for (int n = 0; n < batch && bad < 5; ++n)
      for (int i = 0; i < features && bad < 5; ++i) {
        double want = 0;
        for (int u = 0; u < units; ++u) want += double(w(i, u)) * dz[size_t(n * units + u)];
        if (!near(want, dx(i, n))) ++bad, ADD_FAILURE() << "dx(" << i << ", " << n << ") = " << dx(i, n) << ", want " << want;
      }
    for (int u = 0; u < units && bad < 5; ++u) {
      double wantB = 0;
      for (int n = 0; n < batch; ++n) wantB += dz[size_t(n * units + u)];
      if (!near(wantB, db(u))) ++bad, ADD_FAILURE() << "db(" << u << ") = " << db(u) << ", want " << wantB;
      for (int i = 0; i < features && bad < 5; ++i) {
        double want = 0, wv = w(i, u);
        for (int n = 0; n < batch; ++n) want += double(xb(i, n)) * dz[size_t(n * units + u)];
        if (regularized) want += l2 * wv + l1 * (wv > 0 ? 1 : wv < 0 ? -1 : 0);
        if (!near(want, dw(i, u))) ++bad, ADD_FAILURE() << "dw(" << i << ", " << u << ") = " << dw(i, u) << ", want " << want;
      }
    }
  }
}

}  // namespace

TEST(LowerDenseSchedule, Gradients) {
  const std::vector<int> batches{1, 3, 7, 8, 13, 40};
  checkDenseGradients(100, 37, "relu", batches, 0.0, 1e-2);
  checkDenseGradients(16, 10, "", batches, 1e-3, 0.0);
  checkDenseGradients(3, 5, "tanh", batches, 0.0, 0.0);
  checkDenseGradients(784, 64, "relu", {1, 40}, 0.0, 0.0);
  // Rows 1 KB apart: the vector operands packed in panels (GemmSpec::packA).
  checkDenseGradients(256, 20, "relu", {1, 8, 13, 40}, 0.0, 1e-2);
}
