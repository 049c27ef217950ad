// libFuzzer target: the bytes of an NPY file -> decodeNpy; a decoded array is
// encoded again and must decode to the same shape. See docs/fuzzing.md.
#include "runtime/Npy.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  nncc::NpyArray a;
  std::string error;
  if (!nncc::decodeNpy(bytes, a, error)) return 0;
  std::string again;
  if (!nncc::encodeNpy(a, again, error)) abort();
  nncc::NpyArray b;
  if (!nncc::decodeNpy(again, b, error) || b.shape != a.shape) abort();
  return 0;
}
