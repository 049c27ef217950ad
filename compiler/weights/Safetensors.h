// Safetensors files: an 8-byte little-endian header length N, a JSON header
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__"?},
// then the raw little-endian data. nncc reads and writes F32 tensors.
// The reader is strict: every problem is reported, naming the tensor, as
// "FILE: TENSOR: message".
#pragma once
#include "compiler/ir/Diagnostics.h"
#include "compiler/weights/Tensor.h"

#include <map>
#include <string>

namespace nncc {

constexpr uint64_t kMaxSafetensorsHeader = 100u * 1000u * 1000u;  // 100 MB, as the reference library

bool readSafetensors(const std::string &path, TensorMap &out, Diagnostics &diags);

// The same on bytes in memory; `displayName` is used in messages.
bool readSafetensorsFromMemory(const std::string &bytes, const std::string &displayName, TensorMap &out,
                               Diagnostics &diags);

// The file's bytes: tensors in name order, header padded with spaces to a
// multiple of 8 bytes.
std::string serializeSafetensors(const TensorMap &tensors,
                                 const std::map<std::string, std::string> &metadata = {});

// Writes atomically (a temporary file renamed into place).
bool writeSafetensors(const std::string &path, const TensorMap &tensors, std::string &error,
                      const std::map<std::string, std::string> &metadata = {});

}  // namespace nncc
