// Initializers and their generator: determinism (bit-identical for a seed and
// name), independence of the per-name streams, the portable log/cos against
// libm, and the statistics of every initializer against theory (moments,
// bounds, tail fractions) on large tensors.
#include "compiler/weights/Initializers.h"
#include "compiler/weights/Random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

using namespace nncc;

namespace {

Param param(const std::string &name, Shape shape, InitKind kind, int64_t fanIn = 1, int64_t fanOut = 1) {
  Param p;
  p.name = name;
  p.shape = std::move(shape);
  p.init.kind = kind;
  p.fanIn = fanIn;
  p.fanOut = fanOut;
  return p;
}

struct Stats {
  size_t n = 0;
  double mean = 0, var = 0, kurtosis = 0, min = 1e300, max = -1e300;
  // The fraction of values within k standard deviations `sd` of `center`.
  double within(const std::vector<float> &v, double center, double k, double sd) const {
    return double(std::count_if(v.begin(), v.end(), [&](float x) { return std::fabs(x - center) <= k * sd; })) /
           double(v.size());
  }
};

Stats stats(const std::vector<float> &v) {
  Stats s;
  s.n = v.size();
  for (float x : v) {
    s.mean += x;
    s.min = std::min(s.min, double(x));
    s.max = std::max(s.max, double(x));
  }
  s.mean /= double(v.size());
  double m4 = 0;
  for (float x : v) {
    double d = x - s.mean;
    s.var += d * d;
    m4 += d * d * d * d;
  }
  s.var /= double(v.size());
  s.kurtosis = m4 / double(v.size()) / (s.var * s.var);
  return s;
}

constexpr int64_t kBig = 400000;
const double kSqrtN = std::sqrt(double(kBig));

// Checks the sample mean and variance against a distribution's, within 6
// standard errors (the variance's standard error from the fourth moment).
void expectMoments(const Stats &s, double mean, double var, double kurtosis, const char *what) {
  double sd = std::sqrt(var);
  EXPECT_NEAR(s.mean, mean, 6 * sd / kSqrtN) << what;
  EXPECT_NEAR(s.var, var, 6 * var * std::sqrt(kurtosis - 1) / kSqrtN) << what;
}

constexpr double kUniformKurtosis = 1.8, kNormalKurtosis = 3.0;

}  // namespace

// --- The generator -----------------------------------------------------------

TEST(InitializersRandom, SplitMixMatchesTheReferenceSequence) {
  // splitmix64 from state 0, as Vigna's reference C code (also recomputed
  // independently with Python's integers while writing this test).
  SplitMix64 r(0);
  EXPECT_EQ(r.next(), 0xe220a8397b1dcdafull);
  EXPECT_EQ(r.next(), 0x6e789e6aa1b965f4ull);
  EXPECT_EQ(r.next(), 0x06c45d188009454full);
}

TEST(InitializersRandom, Fnv1aMatchesThePublishedVectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ull);
}

TEST(InitializersRandom, StreamKeysAreDistinct) {
  std::set<uint64_t> keys;
  int count = 0;
  for (uint64_t seed : {0ull, 1ull, 2ull, 42ull, 0xffffffffffffffffull})
    for (int layer = 0; layer < 200; ++layer)
      for (const char *suffix : {".weight", ".bias"}) {
        keys.insert(streamKey(seed, "layer" + std::to_string(layer) + suffix));
        ++count;
      }
  EXPECT_EQ(keys.size(), size_t(count));
  EXPECT_EQ(SplitMix64::forTensor(7, "x").next(), SplitMix64(streamKey(7, "x")).next());
}

TEST(InitializersRandom, UniformHas53BitsInZeroOne) {
  SplitMix64 r(123);
  std::vector<float> v;
  double lo = 1, hi = 0;
  for (int i = 0; i < kBig; ++i) {
    double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    double scaled = u * 0x1.0p53;
    ASSERT_EQ(scaled, std::floor(scaled));  // a multiple of 2^-53
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    v.push_back(static_cast<float>(u));
  }
  expectMoments(stats(v), 0.5, 1.0 / 12, kUniformKurtosis, "uniform");
  EXPECT_LT(lo, 1e-4);
  EXPECT_GT(hi, 1 - 1e-4);
}

TEST(InitializersRandom, PortableLogAgreesWithLibm) {
  EXPECT_EQ(portableLog(1.0), 0.0);
  std::vector<double> xs = {0x1.0p-53, 0x1.0p-52, 1e-300, 1e-10, 0.25, 0.5, 0.70710678118654752, 0.7071067811865476,
                            0.999999999999, 1 - 0x1.0p-53, 1 + 0x1.0p-52, 2.0, 3.0, 10.0, 1e300};
  SplitMix64 r(5);
  for (int i = 0; i < 100000; ++i) xs.push_back(1.0 - r.uniform());  // Box-Muller's arguments
  for (double x : xs) {
    double want = std::log(x);
    EXPECT_NEAR(portableLog(x), want, 4e-16 * std::max(1.0, std::fabs(want))) << x;
  }
}

TEST(InitializersRandom, CosTwoPiAgreesWithLibm) {
  EXPECT_EQ(cosTwoPi(0.0), 1.0);
  EXPECT_EQ(cosTwoPi(0.5), -1.0);
  EXPECT_EQ(cosTwoPi(1.0), 1.0);
  EXPECT_NEAR(cosTwoPi(0.25), 0.0, 1e-300);
  EXPECT_NEAR(cosTwoPi(0.75), 0.0, 1e-300);
  EXPECT_NEAR(cosTwoPi(0.125), std::sqrt(0.5), 2e-16);
  EXPECT_NEAR(cosTwoPi(1.0 / 3), -0.5, 2e-16);
  SplitMix64 r(6);
  for (int i = 0; i < 100000; ++i) {
    double u = r.uniform();
    EXPECT_NEAR(cosTwoPi(u), std::cos(6.283185307179586476925286766559 * u), 1e-15) << u;
  }
}

TEST(InitializersRandom, NormalIsStandardNormal) {
  SplitMix64 r(9);
  std::vector<float> v;
  for (int i = 0; i < kBig; ++i) v.push_back(static_cast<float>(r.normal()));
  Stats s = stats(v);
  expectMoments(s, 0.0, 1.0, kNormalKurtosis, "normal");
  EXPECT_NEAR(s.kurtosis, 3.0, 0.05);
  // P(|z| <= 1) = 0.682689, P(|z| <= 2) = 0.954500, P(|z| <= 3) = 0.997300.
  EXPECT_NEAR(s.within(v, 0, 1, 1), 0.682689, 0.005);
  EXPECT_NEAR(s.within(v, 0, 2, 1), 0.954500, 0.003);
  EXPECT_NEAR(s.within(v, 0, 3, 1), 0.997300, 0.001);
  // Symmetric: as many below as above zero.
  EXPECT_NEAR(double(std::count_if(v.begin(), v.end(), [](float x) { return x < 0; })) / double(kBig), 0.5, 0.005);
}

// --- Determinism -------------------------------------------------------------

TEST(Initializers, SameSeedAndNameIsBitIdentical) {
  for (InitKind kind : {InitKind::GlorotUniform, InitKind::GlorotNormal, InitKind::HeUniform, InitKind::HeNormal,
                        InitKind::TruncatedNormal, InitKind::Normal, InitKind::Uniform}) {
    Param p = param("conv1.weight", {8, 3, 3, 3}, kind, 27, 72);
    std::vector<float> a = initializeParam(p, 42), b = initializeParam(p, 42);
    ASSERT_EQ(a.size(), 8u * 27u);
    EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * 4)) << initKindName(kind);
    EXPECT_NE(a, initializeParam(p, 43)) << initKindName(kind);
    Param q = p;
    q.name = "conv2.weight";
    EXPECT_NE(a, initializeParam(q, 42)) << initKindName(kind);
    std::set<float> distinct(a.begin(), a.end());
    EXPECT_GT(distinct.size(), a.size() - 3) << initKindName(kind);  // no stuck generator
  }
}

TEST(Initializers, AddingALayerChangesNoOtherLayer) {
  Graph small;
  small.seed = 11;
  small.params = {param("fc1.weight", {16, 8}, InitKind::GlorotUniform, 8, 16),
                  param("fc2.weight", {4, 16}, InitKind::HeNormal, 16, 4)};
  Graph big = small;
  big.params.insert(big.params.begin() + 1, param("extra.weight", {16, 16}, InitKind::GlorotUniform, 16, 16));
  big.params.insert(big.params.begin(), param("stem.weight", {8, 8}, InitKind::Normal));
  TensorMap a = initializeAll(small), b = initializeAll(big);
  EXPECT_EQ(a["fc1.weight"].data, b["fc1.weight"].data);
  EXPECT_EQ(a["fc2.weight"].data, b["fc2.weight"].data);
  EXPECT_EQ(b.size(), 4u);
}

TEST(Initializers, StreamsOfDifferentNamesAreUncorrelated) {
  std::vector<float> a = initializeParam(param("a.weight", {kBig}, InitKind::Normal), 1);
  std::vector<float> b = initializeParam(param("b.weight", {kBig}, InitKind::Normal), 1);
  std::vector<float> a2 = initializeParam(param("a.weight", {kBig}, InitKind::Normal), 2);
  auto corr = [](const std::vector<float> &x, const std::vector<float> &y) {
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      sxy += double(x[i]) * y[i];
      sxx += double(x[i]) * x[i];
      syy += double(y[i]) * y[i];
    }
    return sxy / std::sqrt(sxx * syy);
  };
  EXPECT_NEAR(corr(a, b), 0.0, 6 / kSqrtN);
  EXPECT_NEAR(corr(a, a2), 0.0, 6 / kSqrtN);
}

// --- Distributions -----------------------------------------------------------

TEST(Initializers, GlorotUniform) {
  std::vector<float> v = initializeParam(param("g", {kBig}, InitKind::GlorotUniform, 100, 50), 1);
  Stats s = stats(v);
  double a = std::sqrt(6.0 / 150.0);
  EXPECT_GE(s.min, -a);
  EXPECT_LE(s.max, a);
  EXPECT_LT(s.min, -a * 0.999);  // the whole range is used
  EXPECT_GT(s.max, a * 0.999);
  expectMoments(s, 0.0, a * a / 3, kUniformKurtosis, "glorot_uniform");
}

TEST(Initializers, HeUniform) {
  std::vector<float> v = initializeParam(param("h", {kBig}, InitKind::HeUniform, 24, 1000), 1);
  Stats s = stats(v);
  double a = std::sqrt(6.0 / 24.0);  // fan_out plays no part
  EXPECT_GE(s.min, -a);
  EXPECT_LE(s.max, a);
  expectMoments(s, 0.0, a * a / 3, kUniformKurtosis, "he_uniform");
}

TEST(Initializers, Uniform) {
  Param u = param("u", {kBig}, InitKind::Uniform);
  u.init.low = 2;
  u.init.high = 5;
  Stats s = stats(initializeParam(u, 1));
  EXPECT_GE(s.min, 2.0);
  EXPECT_LE(s.max, 5.0);
  expectMoments(s, 3.5, 9.0 / 12, kUniformKurtosis, "uniform");
  // The defaults of the spec: U(-0.05, 0.05).
  s = stats(initializeParam(param("d", {kBig}, InitKind::Uniform), 1));
  EXPECT_GE(s.min, -0.05f);
  EXPECT_LE(s.max, 0.05f);
  expectMoments(s, 0.0, 0.01 / 12, kUniformKurtosis, "uniform default");
}

TEST(Initializers, GlorotNormal) {
  std::vector<float> v = initializeParam(param("g", {kBig}, InitKind::GlorotNormal, 30, 70), 7);
  Stats s = stats(v);
  double sd = std::sqrt(2.0 / 100.0);
  expectMoments(s, 0.0, sd * sd, kNormalKurtosis, "glorot_normal");
  EXPECT_NEAR(s.within(v, 0, 1, sd), 0.682689, 0.005);
  EXPECT_GT(s.max, 3 * sd);  // not truncated
}

TEST(Initializers, HeNormal) {
  std::vector<float> v = initializeParam(param("h", {kBig}, InitKind::HeNormal, 50, 1), 7);
  Stats s = stats(v);
  double sd = std::sqrt(2.0 / 50.0);
  expectMoments(s, 0.0, sd * sd, kNormalKurtosis, "he_normal");
  EXPECT_NEAR(s.within(v, 0, 2, sd), 0.9545, 0.003);
}

TEST(Initializers, Normal) {
  Param n = param("n", {kBig}, InitKind::Normal);
  n.init.mean = 1.5;
  n.init.stddev = 0.1;
  std::vector<float> v = initializeParam(n, 7);
  Stats s = stats(v);
  expectMoments(s, 1.5, 0.01, kNormalKurtosis, "normal");
  EXPECT_NEAR(s.within(v, 1.5, 1, 0.1), 0.682689, 0.005);
  EXPECT_NEAR(s.kurtosis, 3.0, 0.05);
}

TEST(Initializers, TruncatedNormalStaysWithinTwoStddev) {
  Param t = param("t", {kBig}, InitKind::TruncatedNormal);
  t.init.mean = 0.5;
  t.init.stddev = 0.05;
  std::vector<float> v = initializeParam(t, 3);
  Stats s = stats(v);
  EXPECT_GE(s.min, 0.5f - 0.1f);
  EXPECT_LE(s.max, 0.5f + 0.1f);
  EXPECT_LT(s.min, 0.5 - 0.099);  // the bounds are reached, not narrower
  EXPECT_GT(s.max, 0.5 + 0.099);
  // A standard normal truncated to [-2, 2], with Z = 2 Phi(2) - 1 = 0.954500:
  // E z^2 = 1 - 4 phi(2) / Z = 0.773741, E z^4 = 3 E z^2 - 16 phi(2) / Z = 1.416189,
  // kurtosis 1.416189 / 0.773741^2 = 2.365537 (integration by parts of z^n phi(z)).
  expectMoments(s, 0.5, 0.773741 * 0.05 * 0.05, 2.365537, "truncated_normal");
  EXPECT_NEAR(s.kurtosis, 2.365537, 0.03);
  // P(|z| <= 1 | |z| <= 2) = 0.682689 / 0.954500 = 0.715233.
  EXPECT_NEAR(s.within(v, 0.5, 1, 0.05), 0.715233, 0.005);
}

TEST(Initializers, ConstantsAndBatchnorm) {
  Graph g;
  g.seed = 5;
  g.params.push_back(param("bn.weight", {4}, InitKind::Ones));
  g.params.push_back(param("bn.bias", {4}, InitKind::Zeros));
  g.params.push_back(param("bn.running_mean", {4}, InitKind::Zeros));
  g.params.push_back(param("bn.running_var", {4}, InitKind::Ones));
  g.params.back().trainable = false;
  TensorMap m = initializeAll(g);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m["bn.weight"].data, (std::vector<float>{1, 1, 1, 1}));
  EXPECT_EQ(m["bn.bias"].data, (std::vector<float>{0, 0, 0, 0}));
  EXPECT_EQ(m["bn.running_mean"].data, (std::vector<float>{0, 0, 0, 0}));
  EXPECT_EQ(m["bn.running_var"].data, (std::vector<float>{1, 1, 1, 1}));
  EXPECT_EQ(m["bn.bias"].shape, (Shape{4}));
}

TEST(Initializers, ShapesAndFans) {
  // Row-major count of every shape, 0-d included.
  EXPECT_EQ(initializeParam(param("s", {}, InitKind::Normal), 0).size(), 1u);
  EXPECT_EQ(initializeParam(param("e", {0, 5}, InitKind::HeNormal, 5, 0), 0).size(), 0u);
  EXPECT_EQ(initializeParam(param("c", {6, 1, 5, 5}, InitKind::GlorotUniform, 25, 150), 0).size(), 150u);
  // A fan of 0 counts as 1: he_uniform's bound is then sqrt(6).
  Stats s = stats(initializeParam(param("z", {kBig}, InitKind::HeUniform, 0, 0), 0));
  EXPECT_LE(s.max, std::sqrt(6.0));
  EXPECT_GT(s.max, 0.99 * std::sqrt(6.0));
}
