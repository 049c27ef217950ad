// Initializers: determinism (bit-identical for a seed and name), independence
// of streams, and the statistics of each distribution against theory.
#include "compiler/weights/Initializers.h"
#include "compiler/weights/Random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

using namespace nncc;

namespace {

Param param(const std::string &name, Shape shape, InitKind kind, int64_t fanIn, int64_t fanOut) {
  Param p;
  p.name = name;
  p.shape = std::move(shape);
  p.init.kind = kind;
  p.fanIn = fanIn;
  p.fanOut = fanOut;
  return p;
}

struct Stats {
  double mean = 0, var = 0, min = 1e300, max = -1e300;
};

Stats stats(const std::vector<float> &v) {
  Stats s;
  for (float x : v) {
    s.mean += x;
    s.min = std::min(s.min, double(x));
    s.max = std::max(s.max, double(x));
  }
  s.mean /= double(v.size());
  for (float x : v) s.var += (x - s.mean) * (x - s.mean);
  s.var /= double(v.size());
  return s;
}

constexpr int64_t kBig = 200000;

}  // namespace

TEST(Initializers, SameSeedAndNameIsBitIdentical) {
  Param p = param("conv1.weight", {8, 3, 3, 3}, InitKind::HeNormal, 27, 72);
  TensorF32 a = initializeParam(p, 42), b = initializeParam(p, 42);
  ASSERT_EQ(a.data.size(), 8u * 27u);
  EXPECT_EQ(0, std::memcmp(a.data.data(), b.data.data(), a.data.size() * 4));
  EXPECT_NE(a.data, initializeParam(p, 43).data);
  Param q = p;
  q.name = "conv2.weight";
  EXPECT_NE(a.data, initializeParam(q, 42).data);
}

TEST(Initializers, SplitMixKnownSequence) {
  // splitmix64 from state 0: the published first outputs of the reference C code.
  SplitMix64 r(0);
  EXPECT_EQ(r.next(), 0xe220a8397b1dcdafull);
  EXPECT_EQ(r.next(), 0x6e789e6aa1b965f4ull);
  EXPECT_EQ(r.next(), 0x06c45d188009454full);
}

TEST(Initializers, UniformFamiliesHaveTheirBounds) {
  // glorot_uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)); variance a^2 / 3.
  Param g = param("g", {kBig}, InitKind::GlorotUniform, 100, 50);
  Stats s = stats(initializeParam(g, 1).data);
  double a = std::sqrt(6.0 / 150.0);
  EXPECT_GE(s.min, -a);
  EXPECT_LE(s.max, a);
  EXPECT_NEAR(s.mean, 0.0, 0.01 * a);
  EXPECT_NEAR(s.var, a * a / 3, 0.02 * a * a / 3);
  // he_uniform: a = sqrt(6 / fan_in).
  Param h = param("h", {kBig}, InitKind::HeUniform, 24, 1);
  s = stats(initializeParam(h, 1).data);
  a = std::sqrt(6.0 / 24.0);
  EXPECT_GE(s.min, -a);
  EXPECT_LE(s.max, a);
  EXPECT_NEAR(s.var, a * a / 3, 0.02 * a * a / 3);
  // uniform(low, high).
  Param u = param("u", {kBig}, InitKind::Uniform, 1, 1);
  u.init.low = 2;
  u.init.high = 5;
  s = stats(initializeParam(u, 1).data);
  EXPECT_GE(s.min, 2.0);
  EXPECT_LE(s.max, 5.0);
  EXPECT_NEAR(s.mean, 3.5, 0.02);
  EXPECT_NEAR(s.var, 9.0 / 12, 0.02);
}

TEST(Initializers, NormalFamiliesHaveTheirMoments) {
  Param g = param("g", {kBig}, InitKind::GlorotNormal, 30, 70);
  Stats s = stats(initializeParam(g, 7).data);
  EXPECT_NEAR(s.mean, 0.0, 0.01);
  EXPECT_NEAR(s.var, 2.0 / 100.0, 0.02 * 2.0 / 100.0);
  Param h = param("h", {kBig}, InitKind::HeNormal, 50, 1);
  s = stats(initializeParam(h, 7).data);
  EXPECT_NEAR(s.var, 2.0 / 50.0, 0.02 * 2.0 / 50.0);
  Param n = param("n", {kBig}, InitKind::Normal, 1, 1);
  n.init.mean = 1.5;
  n.init.stddev = 0.1;
  s = stats(initializeParam(n, 7).data);
  EXPECT_NEAR(s.mean, 1.5, 0.002);
  EXPECT_NEAR(std::sqrt(s.var), 0.1, 0.002);
}

TEST(Initializers, TruncatedNormalStaysWithinTwoStddev) {
  Param t = param("t", {kBig}, InitKind::TruncatedNormal, 1, 1);
  t.init.mean = 0;
  t.init.stddev = 0.05;
  Stats s = stats(initializeParam(t, 3).data);
  EXPECT_GE(s.min, -0.1 - 1e-7);
  EXPECT_LE(s.max, 0.1 + 1e-7);
  // The variance of a standard normal truncated to [-2, 2] is 1 - 4 phi(2) / (2 Phi(2) - 1) = 0.7737.
  EXPECT_NEAR(s.var, 0.7737 * 0.05 * 0.05, 0.02 * 0.7737 * 0.0025);
}

TEST(Initializers, ConstantsAndWholeGraph) {
  Graph g;
  g.seed = 5;
  g.params.push_back(param("bn.weight", {4}, InitKind::Ones, 4, 4));
  g.params.push_back(param("bn.bias", {4}, InitKind::Zeros, 4, 4));
  TensorMap m = initializeAll(g);
  EXPECT_EQ(m["bn.weight"].data, (std::vector<float>{1, 1, 1, 1}));
  EXPECT_EQ(m["bn.bias"].data, (std::vector<float>{0, 0, 0, 0}));
  EXPECT_EQ(m["bn.bias"].shape, (Shape{4}));
}
