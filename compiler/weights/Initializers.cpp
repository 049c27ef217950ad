// The initializers: one splitmix64 stream per parameter, each value computed
// in double and rounded to float once.
#include "compiler/weights/Initializers.h"

#include "compiler/weights/Random.h"

#include <cmath>

namespace nncc {

std::vector<float> initializeParam(const Param &p, uint64_t seed) {
  int64_t count = numElements(p.shape);
  std::vector<float> data(static_cast<size_t>(count > 0 ? count : 0));
  SplitMix64 rng = SplitMix64::forTensor(seed, p.name);
  const double fanIn = static_cast<double>(p.fanIn > 0 ? p.fanIn : 1);
  const double fanOut = static_cast<double>(p.fanOut > 0 ? p.fanOut : 1);
  auto fill = [&](auto draw) {
    for (float &v : data) v = static_cast<float>(draw());
  };
  auto uniformIn = [&](double lo, double hi) { fill([&] { return lo + (hi - lo) * rng.uniform(); }); };
  auto normalWith = [&](double mean, double sd) { fill([&] { return mean + sd * rng.normal(); }); };
  const InitSpec &s = p.init;
  switch (s.kind) {
    case InitKind::GlorotUniform: {
      double a = std::sqrt(6.0 / (fanIn + fanOut));
      uniformIn(-a, a);
      break;
    }
    case InitKind::GlorotNormal: normalWith(0.0, std::sqrt(2.0 / (fanIn + fanOut))); break;
    case InitKind::HeUniform: {
      double a = std::sqrt(6.0 / fanIn);
      uniformIn(-a, a);
      break;
    }
    case InitKind::HeNormal: normalWith(0.0, std::sqrt(2.0 / fanIn)); break;
    case InitKind::TruncatedNormal:
      fill([&] {
        for (;;) {  // redraw beyond two standard deviations (as Keras' TruncatedNormal)
          double z = rng.normal();
          if (std::fabs(z) <= 2.0) return s.mean + s.stddev * z;
        }
      });
      break;
    case InitKind::Normal: normalWith(s.mean, s.stddev); break;
    case InitKind::Uniform: uniformIn(s.low, s.high); break;
    case InitKind::Zeros: fill([] { return 0.0; }); break;
    case InitKind::Ones: fill([] { return 1.0; }); break;
  }
  return data;
}

TensorMap initializeAll(const Graph &g) {
  TensorMap m;
  for (const Param &p : g.params) m[p.name] = TensorF32{p.shape, initializeParam(p, g.seed)};
  return m;
}

}  // namespace nncc
