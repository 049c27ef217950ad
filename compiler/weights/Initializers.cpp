// Initializers. Values are computed in double and rounded to float once.
#include "compiler/weights/Initializers.h"

#include "compiler/weights/Random.h"

#include <cmath>

namespace nncc {

TensorF32 initializeParam(const Param &p, uint64_t seed) {
  TensorF32 t;
  t.shape = p.shape;
  size_t n = static_cast<size_t>(numElements(p.shape));
  t.data.resize(n);
  SplitMix64 rng = SplitMix64::forTensor(seed, p.name);
  double fanIn = static_cast<double>(p.fanIn > 0 ? p.fanIn : 1);
  double fanOut = static_cast<double>(p.fanOut > 0 ? p.fanOut : 1);
  auto fill = [&](auto draw) {
    for (size_t i = 0; i < n; ++i) t.data[i] = static_cast<float>(draw());
  };
  auto uniformIn = [&](double lo, double hi) { return [&rng, lo, hi] { return lo + (hi - lo) * rng.uniform(); }; };
  auto normalWith = [&](double mean, double sd) { return [&rng, mean, sd] { return mean + sd * rng.normal(); }; };
  const InitSpec &s = p.init;
  switch (s.kind) {
    case InitKind::GlorotUniform: {
      double a = std::sqrt(6.0 / (fanIn + fanOut));
      fill(uniformIn(-a, a));
      break;
    }
    case InitKind::GlorotNormal: fill(normalWith(0.0, std::sqrt(2.0 / (fanIn + fanOut)))); break;
    case InitKind::HeUniform: {
      double a = std::sqrt(6.0 / fanIn);
      fill(uniformIn(-a, a));
      break;
    }
    case InitKind::HeNormal: fill(normalWith(0.0, std::sqrt(2.0 / fanIn))); break;
    case InitKind::TruncatedNormal:
      fill([&] {
        for (;;) {  // redraw beyond two standard deviations
          double z = rng.normal();
          if (std::fabs(z) <= 2.0) return s.mean + s.stddev * z;
        }
      });
      break;
    case InitKind::Normal: fill(normalWith(s.mean, s.stddev)); break;
    case InitKind::Uniform: fill(uniformIn(s.low, s.high)); break;
    case InitKind::Zeros: fill([] { return 0.0; }); break;
    case InitKind::Ones: fill([] { return 1.0; }); break;
  }
  return t;
}

TensorMap initializeAll(const Graph &g) {
  TensorMap m;
  for (const auto &p : g.params) m[p.name] = initializeParam(p, g.seed);
  return m;
}

}  // namespace nncc
