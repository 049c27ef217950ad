// Safetensors files (https://huggingface.co/docs/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON header
//   {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
//    "__metadata__": {string: string}?}
// then the raw little-endian data, offsets relative to the data's start.
// nncc reads and writes F32 tensors. The reader is strict and reports every
// problem it can find, naming the tensor where there is one, as
// "FILE: TENSOR: message" (or "FILE: message" for the file as a whole).
#pragma once
#include "compiler/ir/Diagnostics.h"
#include "compiler/weights/Tensor.h"

#include <cstdint>
#include <map>
#include <string>

namespace nncc {

using SafetensorsMetadata = std::map<std::string, std::string>;

// The largest header accepted, as the reference library: 100 MB.
constexpr uint64_t kMaxSafetensorsHeader = 100u * 1000u * 1000u;

// Reads the tensors of `path` into `out` (and its "__metadata__" into
// `metadata` when given). Returns false, having added nothing to `out`, when
// the file is unreadable or malformed; the problems go to `diags`.
bool readSafetensors(const std::string &path, TensorMap &out, Diagnostics &diags,
                     SafetensorsMetadata *metadata = nullptr);

// The same on the bytes of a file; `displayName` is the file in messages.
bool readSafetensorsFromMemory(const std::string &bytes, const std::string &displayName, TensorMap &out,
                               Diagnostics &diags, SafetensorsMetadata *metadata = nullptr);

// The bytes of a file, laid out as the reference library writes F32 tensors:
// compact header with "__metadata__" first (when not empty), then tensors in
// name order, data in that order, header padded with spaces to a multiple of
// 8 bytes. Returns false and sets `error` for a tensor that cannot be written
// (its data disagrees with its shape, a negative dimension, a bad name).
bool serializeSafetensors(const TensorMap &tensors, const SafetensorsMetadata &metadata, std::string &bytes,
                          std::string &error);

// Serializes and writes atomically: a temporary file in the same folder,
// renamed onto `path` once complete, removed on failure.
bool writeSafetensors(const std::string &path, const TensorMap &tensors, std::string &error,
                      const SafetensorsMetadata &metadata = {});

}  // namespace nncc
