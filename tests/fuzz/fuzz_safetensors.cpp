// libFuzzer target: the bytes of a safetensors file -> readSafetensorsFromMemory.
// See docs/fuzzing.md.
#include "compiler/ir/Diagnostics.h"
#include "compiler/weights/Safetensors.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  nncc::TensorMap tensors;
  nncc::SafetensorsMetadata metadata;
  nncc::Diagnostics diags;
  nncc::readSafetensorsFromMemory(bytes, "fuzz.safetensors", tensors, diags, &metadata);
  return 0;
}
