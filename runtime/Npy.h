// NPY files: the NumPy array format (format versions 1.0, 2.0 and 3.0 are
// read; 1.0 is written, or 2.0 when the header needs it), for float32 ('<f4')
// and int32 ('<i4') arrays in C order. Used by nncc-run and by applications of
// the generated libraries; plain C++, independent of the compiler.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace nncc {

enum class NpyDType { Float32, Int32 };

const char *npyDTypeName(NpyDType t);  // "float32", "int32"

struct NpyArray {
  NpyDType dtype = NpyDType::Float32;
  std::vector<int64_t> shape;  // () for a scalar
  std::vector<float> f32;      // the elements, row-major, when dtype is Float32
  std::vector<int32_t> i32;    // the elements, row-major, when dtype is Int32

  static NpyArray float32(std::vector<int64_t> shape, std::vector<float> data);
  static NpyArray int32(std::vector<int64_t> shape, std::vector<int32_t> data);

  int64_t numElements() const;  // the product of the shape (1 for a scalar)
};

// "[2, 3]"
std::string npyShapeStr(const std::vector<int64_t> &shape);

// Decodes the bytes of an NPY file. On failure returns false and sets `error`
// to one sentence (bad magic, unsupported version or dtype, Fortran order,
// header parse error, truncated or excess data); `out` is then unspecified.
bool decodeNpy(const std::string &bytes, NpyArray &out, std::string &error);

// Encodes an array as NPY bytes. Returns false when the element vector of the
// array's dtype does not match its shape.
bool encodeNpy(const NpyArray &a, std::string &bytes, std::string &error);

// Reads an NPY file; an error message starts with the path.
bool readNpy(const std::string &path, NpyArray &out, std::string &error);

// Writes an NPY file atomically (a temporary file in the same folder, renamed
// over `path` when complete): on failure nothing is left behind.
bool writeNpy(const std::string &path, const NpyArray &a, std::string &error);

}  // namespace nncc
