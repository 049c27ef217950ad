// Dropout in training, as the model format defines it: a counter-based
// generator keyed by the instance's seed and training step, so a run is
// reproducible bit for bit. Element `index` (its flat index in the batch
// tensor [N, ...]) of the dropout layer whose name hashes to `salt` is kept
// when the top 24 bits of a 32-bit hash of (seed, step, salt, index) are at
// least rate * 2^24; kept elements are scaled by 1 / (1 - rate) (inverted
// dropout). This header is the definition; the generated kernels compute the
// same function (compiler/lower/TrainForward.cpp) and the tests check that
// they agree with the reference interpreter, which uses this one.
#pragma once
#include <cstdint>
#include <string>

namespace nncc {

// A well-mixing 32-bit finalizer (the "lowbias32" constants).
inline uint32_t dropoutMix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352du;
  h ^= h >> 15;
  h *= 0x846ca68bu;
  h ^= h >> 16;
  return h;
}

inline uint32_t dropoutHash(uint64_t seed, uint32_t step, uint32_t salt, uint32_t index) {
  uint32_t h = index * 0x9e3779b1u + salt * 0x85ebca77u;
  h = dropoutMix(h ^ static_cast<uint32_t>(seed));
  h = dropoutMix(h ^ (static_cast<uint32_t>(seed >> 32) + step * 0xc2b2ae3du));
  return h;
}

// The keep threshold on the top 24 bits.
inline uint32_t dropoutThreshold(double rate) { return static_cast<uint32_t>(rate * 16777216.0); }

inline bool dropoutKeeps(uint64_t seed, uint32_t step, uint32_t salt, uint32_t index, double rate) {
  return (dropoutHash(seed, step, salt, index) >> 8) >= dropoutThreshold(rate);
}

// The salt of a dropout layer: FNV-1a of its name.
inline uint32_t dropoutSalt(const std::string &layer) {
  uint32_t h = 2166136261u;
  for (unsigned char c : layer) h = (h ^ c) * 16777619u;
  return h;
}

}  // namespace nncc
