// The deterministic random numbers behind the seeded initializers: splitmix64
// and our own distribution code, so that the same seed gives bit-identical
// initial weights on every run, compiler, standard library and machine.
//
// Why our own code: <random>'s distributions (std::normal_distribution, ...)
// are implementation-defined and differ between libstdc++, libc++ and MSVC,
// and libm's log and cos may differ in the last bit between C libraries. Here
// a value is a pure function of integer operations, IEEE-754 +, -, *, / and
// sqrt (correctly rounded everywhere), and frexp (exact); Random.cpp and
// Initializers.cpp turn off floating-point contraction so that no compiler
// fuses a multiply-add into an FMA on one machine but not on another.
//
// Streams. Each parameter draws from its own splitmix64 stream whose starting
// state is streamKey(seed, name): the first splitmix64 output of the seed
// (XOR the golden-ratio constant), XOR the FNV-1a hash of the parameter's
// name. A parameter's initial values thus depend only on the seed, its name,
// its shape and its initializer: adding, removing or reordering another layer
// changes nothing.
#pragma once
#include <cstdint>
#include <string>

namespace nncc {

// 64-bit FNV-1a of the bytes of `s`.
uint64_t fnv1a64(const std::string &s);

// The starting state of the stream of tensor `name` under `seed`.
uint64_t streamKey(uint64_t seed, const std::string &name);

// splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", 2014), as Vigna's reference C code.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  // The stream of one named tensor under one seed.
  static SplitMix64 forTensor(uint64_t seed, const std::string &name) {
    return SplitMix64(streamKey(seed, name));
  }

  uint64_t next();
  double uniform();  // in [0, 1): the top 53 bits of next(), times 2^-53
  double normal();   // standard normal by Box-Muller, one value (two draws) per call

 private:
  uint64_t state_;
};

// The elementary functions Box-Muller needs, from IEEE-exact operations only
// (so bit-identical everywhere), accurate to a few ulp.
double portableLog(double x);  // natural logarithm; x positive and finite
double cosTwoPi(double u);     // cos(2 pi u) for u in [0, 1]

}  // namespace nncc
