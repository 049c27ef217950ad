// splitmix64 (Steele, Lea and Flood 2014) and the distributions we draw from it.
#include "compiler/weights/Random.h"

#include <cmath>

namespace nncc {

uint64_t fnv1a64(const std::string &s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

SplitMix64 SplitMix64::forTensor(uint64_t seed, const std::string &name) {
  // Mix the two so that (seed, name) pairs do not collide by simple offsets.
  SplitMix64 mix(seed ^ 0x9e3779b97f4a7c15ull);
  return SplitMix64(mix.next() ^ fnv1a64(name));
}

uint64_t SplitMix64::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double SplitMix64::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double SplitMix64::normal() {
  // 1 - u is in (0, 1], so the log is finite.
  double u1 = 1.0 - uniform();
  double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925286766559 * u2);
}

}  // namespace nncc
