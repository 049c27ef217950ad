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
  int optLevel = 2;
  bool printAfterAll = false;
  bool timePasses = false;
  std::string name;  // --name
  bool help = false, version = false;
};

// Parses argv; on a bad option returns false with a message in `error`.
bool parseDriverOptions(const std::vector<std::string> &args, DriverOptions &opts, std::string &error);

const char *driverUsage();

}  // namespace nncc
