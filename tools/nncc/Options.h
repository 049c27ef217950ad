// The nncc command line (generated-api.md, "The command line").
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nncc {

struct DriverOptions {
  std::string input;
  std::string output;           // -o
  std::string emit;             // ir, ir-opt, llvm, asm, header, obj, lib, cpp (from -o's extension)
  std::string weights;          // --weights
  bool partialWeights = false;  // --partial-weights
  bool inferenceOnly = false;
  std::optional<int64_t> maxBatch;
  std::string target = "host";
  std::string schedule = "manual";  // --schedule=manual|auto
  std::string convAlgorithm = "auto";  // --conv-algorithm=auto|direct
  bool autotune = false;            // --autotune
  std::string tuneCache;            // --tune-cache FILE
  int optLevel = 2;
  bool printAfterAll = false;
  std::vector<std::string> disabledPasses;  // --disable-pass NAME (repeatable)
  bool timePasses = false;
  unsigned jobs = 0;  // -j N / --jobs N: threads compiling the kernels (0: the online CPUs)
  std::string name;  // --name
  // --max-memory: the most bytes the parameters plus every activation at
  // max_batch may need (docs/reliability.md); checked before allocating.
  uint64_t maxMemory = uint64_t(4) << 30;
  bool strict = false;  // --strict: non-finite weights are errors, not warnings
  bool help = false, version = false;
};

// Parses argv; on a bad option returns false with a message in `error`.
bool parseDriverOptions(const std::vector<std::string> &args, DriverOptions &opts, std::string &error);

const char *driverUsage();

// "4294967296", "512M", "2G", "64k", "1T" (binary units, K/M/G/T, an optional
// trailing "B" or "iB"); false on anything else, zero, or beyond 2^64-1.
bool parseByteSize(const std::string &text, uint64_t &bytes);

}  // namespace nncc
