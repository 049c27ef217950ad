// The deterministic random numbers behind the seeded initializers: splitmix64
// and our own distribution code (no <random> distributions, whose output
// differs between standard libraries), so that the same seed gives
// bit-identical initial weights on every run, compiler and machine.
//
// Each parameter draws from its own stream keyed by the model's seed and an
// FNV-1a hash of the parameter's name: adding, removing or reordering one
// layer does not change any other layer's initial values.
#pragma once
#include <cstdint>
#include <string>

namespace nncc {

uint64_t fnv1a64(const std::string &s);

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  // A stream for one named tensor under one seed.
  static SplitMix64 forTensor(uint64_t seed, const std::string &name);

  uint64_t next();
  double uniform();  // [0, 1), 53 random bits
  double normal();   // standard normal, Box-Muller (one value per call)

 private:
  uint64_t state_;
};

}  // namespace nncc
