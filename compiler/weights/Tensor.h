// A dense float32 tensor (row-major) and a set of named ones: the values of a
// model's parameters, the inputs and outputs of the reference interpreter.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nncc {

struct TensorF32 {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

using TensorMap = std::map<std::string, TensorF32>;

}  // namespace nncc
