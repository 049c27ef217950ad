// splitmix64, the stream keys, and the portable uniform, normal, log and cos
// behind the seeded initializers (see Random.h for why they are our own).
#include "compiler/weights/Random.h"

#include <cmath>

namespace nncc {
namespace {

// splitmix64's output function (a variant of MurmurHash3's finalizer).
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;  // splitmix64's increment

// Horner's rule on coefficients c[0] + c[1] t + ... + c[n-1] t^(n-1).
template <int N>
double horner(const double (&c)[N], double t) {
  double p = c[N - 1];
  for (int i = N - 2; i >= 0; --i) p = p * t + c[i];
  return p;
}

// 1/(2k+1), k = 0..12: 2 atanh(s) = 2 s (1 + s^2/3 + s^4/5 + ...).
constexpr double kAtanhCoeffs[] = {1.0,       1.0 / 3,  1.0 / 5,  1.0 / 7,  1.0 / 9,  1.0 / 11, 1.0 / 13,
                                   1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21, 1.0 / 23, 1.0 / 25};

// Taylor coefficients in x^2 of cos x, (-1)^k / (2k)!, and of sin x / x, (-1)^k / (2k+1)!, k = 0..10:
// on |x| <= pi/4 the first omitted term is below 1e-23.
constexpr double factorial(int n) { return n <= 1 ? 1.0 : n * factorial(n - 1); }
constexpr double kCosCoeffs[] = {
    1.0,                 -1.0 / factorial(2),  1.0 / factorial(4),  -1.0 / factorial(6),
    1.0 / factorial(8),  -1.0 / factorial(10), 1.0 / factorial(12), -1.0 / factorial(14),
    1.0 / factorial(16), -1.0 / factorial(18), 1.0 / factorial(20)};
constexpr double kSinCoeffs[] = {
    1.0,                 -1.0 / factorial(3),  1.0 / factorial(5),  -1.0 / factorial(7),
    1.0 / factorial(9),  -1.0 / factorial(11), 1.0 / factorial(13), -1.0 / factorial(15),
    1.0 / factorial(17), -1.0 / factorial(19), 1.0 / factorial(21)};

constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr double kSqrtHalf = 0.70710678118654752440084436210485;
// ln 2 split as fdlibm does: kLn2Hi has trailing zero bits, so e * kLn2Hi is exact.
constexpr double kLn2Hi = 6.93147180369123816490e-01;
constexpr double kLn2Lo = 1.90821492927058770002e-10;

}  // namespace

uint64_t fnv1a64(const std::string &s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t streamKey(uint64_t seed, const std::string &name) {
  // The seed goes through splitmix64 first (the first output of the stream
  // seeded with seed ^ golden) so that seeds 0, 1, 2... do not give keys that
  // differ from each other in a few low bits only.
  return SplitMix64(seed ^ kGolden).next() ^ fnv1a64(name);
}

uint64_t SplitMix64::next() {
  state_ += kGolden;
  return mix64(state_);
}

double SplitMix64::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double SplitMix64::normal() {
  // 1 - u is in (0, 1] (exactly: u is a multiple of 2^-53), so the log is finite.
  double u1 = 1.0 - uniform();
  double u2 = uniform();
  return std::sqrt(-2.0 * portableLog(u1)) * cosTwoPi(u2);
}

double portableLog(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // x = m 2^e, m in [1/2, 1): exact
  if (m < kSqrtHalf) {
    m *= 2.0;  // exact
    --e;
  }
  // m in [sqrt(1/2), sqrt(2)): log m = 2 atanh(s), |s| <= 0.1716, s^2 <= 0.0295.
  double s = (m - 1.0) / (m + 1.0);
  double logM = 2.0 * s * horner(kAtanhCoeffs, s * s);
  double de = static_cast<double>(e);
  return de * kLn2Hi + (logM + de * kLn2Lo);
}

double cosTwoPi(double u) {
  // Fold u into [0, 1/8] by the symmetries of cos, with exact subtractions
  // (Sterbenz: a - b is exact when b/2 <= a <= 2b).
  double sign = 1.0;
  if (u > 0.5) u = 1.0 - u;  // cos 2pi u = cos 2pi (1 - u)
  if (u > 0.25) {            // cos 2pi u = -cos 2pi (1/2 - u)
    u = 0.5 - u;
    sign = -1.0;
  }
  if (u > 0.125) {  // cos 2pi u = sin 2pi (1/4 - u)
    double x = kTwoPi * (0.25 - u);
    return sign * (x * horner(kSinCoeffs, x * x));
  }
  double x = kTwoPi * u;
  return sign * horner(kCosCoeffs, x * x);
}

}  // namespace nncc
