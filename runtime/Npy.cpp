// NPY reading and writing: the magic and version, a small parser of the
// header's Python dict literal, little-endian element data, and an atomic
// writer. See runtime/Npy.h for the format versions and dtypes supported.
#include "runtime/Npy.h"

#include "runtime/AtomicFile.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace nncc {

const char *npyDTypeName(NpyDType t) { return t == NpyDType::Float32 ? "float32" : "int32"; }

NpyArray NpyArray::float32(std::vector<int64_t> shape, std::vector<float> data) {
  NpyArray a;
  a.dtype = NpyDType::Float32;
  a.shape = std::move(shape);
  a.f32 = std::move(data);
  return a;
}

NpyArray NpyArray::int32(std::vector<int64_t> shape, std::vector<int32_t> data) {
  NpyArray a;
  a.dtype = NpyDType::Int32;
  a.shape = std::move(shape);
  a.i32 = std::move(data);
  return a;
}

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string npyShapeStr(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

const char kMagic[] = "\x93NUMPY";
const size_t kMagicLen = 6;

// ---------------------------------------------------------------------------
// The header: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// Only what NumPy writes there is understood: strings, True/False, integers
// and tuples of them.

struct PyValue {
  enum class Kind { Str, Bool, Int, Tuple } kind = Kind::Int;
  std::string s;
  bool b = false;
  int64_t i = 0;
  std::vector<PyValue> items;
};

class HeaderParser {
 public:
  explicit HeaderParser(const std::string &text) : t_(text) {}

  bool parseDict(std::map<std::string, PyValue> &out, std::string &error) {
    skipSpace();
    if (!eat('{')) return fail("expected '{' at the start", error);
    skipSpace();
    while (!eat('}')) {
      PyValue key, value;
      if (!parseValue(key, error)) return false;
      if (key.kind != PyValue::Kind::Str) return fail("a key is not a string", error);
      skipSpace();
      if (!eat(':')) return fail("expected ':' after '" + key.s + "'", error);
      if (!parseValue(value, error)) return false;
      if (!out.emplace(key.s, value).second) return fail("the key '" + key.s + "' appears twice", error);
      skipSpace();
      if (eat(',')) {
        skipSpace();
        continue;
      }
      skipSpace();
      if (!eat('}')) return fail("expected ',' or '}' after the value of '" + key.s + "'", error);
      break;
    }
    skipSpace();
    if (pos_ != t_.size()) return fail("unexpected text after the dictionary", error);
    return true;
  }

 private:
  bool fail(const std::string &what, std::string &error) {
    error = "cannot parse the NPY header (" + what + " at offset " + std::to_string(pos_) + ")";
    return false;
  }
  void skipSpace() {
    while (pos_ < t_.size() && (t_[pos_] == ' ' || t_[pos_] == '\t' || t_[pos_] == '\n' || t_[pos_] == '\r' ||
                                t_[pos_] == '\0'))
      ++pos_;
  }
  bool eat(char c) {
    if (pos_ < t_.size() && t_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool startsWith(const char *word) const { return t_.compare(pos_, std::strlen(word), word) == 0; }

  bool parseValue(PyValue &v, std::string &error) {
    skipSpace();
    if (pos_ >= t_.size()) return fail("unexpected end", error);
    char c = t_[pos_];
    if (c == '\'' || c == '"') {
      ++pos_;
      v.kind = PyValue::Kind::Str;
      while (pos_ < t_.size() && t_[pos_] != c) {
        if (t_[pos_] == '\\') return fail("escapes in strings are not supported", error);
        v.s += t_[pos_++];
      }
      if (!eat(c)) return fail("unterminated string", error);
      return true;
    }
    if (startsWith("True") || startsWith("False")) {
      v.kind = PyValue::Kind::Bool;
      v.b = t_[pos_] == 'T';
      pos_ += v.b ? 4 : 5;
      return true;
    }
    if (c >= '0' && c <= '9') {
      v.kind = PyValue::Kind::Int;
      v.i = 0;
      while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9') {
        int digit = t_[pos_++] - '0';
        if (v.i > (std::numeric_limits<int64_t>::max() - digit) / 10) return fail("integer too large", error);
        v.i = v.i * 10 + digit;
      }
      eat('L');  // Python 2 long literals, as old NumPy versions wrote them
      return true;
    }
    if (c == '(') {
      ++pos_;
      v.kind = PyValue::Kind::Tuple;
      skipSpace();
      bool sawComma = false;
      while (!eat(')')) {
        PyValue item;
        if (!parseValue(item, error)) return false;
        v.items.push_back(item);
        skipSpace();
        if (eat(',')) {
          sawComma = true;
          skipSpace();
          continue;
        }
        if (!eat(')')) return fail("expected ',' or ')' in a tuple", error);
        break;
      }
      // "(3)" is the integer 3 in Python, not a tuple.
      if (v.items.size() == 1 && !sawComma) {
        PyValue inner = v.items[0];
        v = std::move(inner);
      }
      return true;
    }
    return fail(std::string("unexpected character '") + c + "'", error);
  }

  const std::string &t_;
  size_t pos_ = 0;
};

uint32_t loadLE32(const unsigned char *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

void storeLE32(uint32_t v, std::string &out) {
  for (int k = 0; k < 4; ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}

}  // namespace

bool decodeNpy(const std::string &bytes, NpyArray &out, std::string &error) {
  const auto *u = reinterpret_cast<const unsigned char *>(bytes.data());
  if (bytes.size() < kMagicLen || bytes.compare(0, kMagicLen, kMagic, kMagicLen) != 0) {
    error = "not an NPY file (bad magic)";
    return false;
  }
  if (bytes.size() < kMagicLen + 2) {
    error = "truncated NPY file (no version)";
    return false;
  }
  int major = u[6], minor = u[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    error = "unsupported NPY format version " + std::to_string(major) + "." + std::to_string(minor) +
            " (1.0, 2.0 and 3.0 are supported)";
    return false;
  }
  size_t lenBytes = major == 1 ? 2 : 4;
  size_t prefix = kMagicLen + 2 + lenBytes;
  if (bytes.size() < prefix) {
    error = "truncated NPY file (no header length)";
    return false;
  }
  size_t headerLen = major == 1 ? size_t(u[8]) | size_t(u[9]) << 8 : size_t(loadLE32(u + 8));
  if (bytes.size() - prefix < headerLen) {
    error = "truncated NPY file (the header needs " + std::to_string(headerLen) + " bytes, " +
            std::to_string(bytes.size() - prefix) + " are left)";
    return false;
  }
  std::string header = bytes.substr(prefix, headerLen);
  std::map<std::string, PyValue> dict;
  if (!HeaderParser(header).parseDict(dict, error)) return false;
  for (const auto &kv : dict) {
    if (kv.first != "descr" && kv.first != "fortran_order" && kv.first != "shape") {
      error = "the NPY header has an unknown key '" + kv.first + "'";
      return false;
    }
  }
  for (const char *key : {"descr", "fortran_order", "shape"}) {
    if (!dict.count(key)) {
      error = std::string("the NPY header lacks the key '") + key + "'";
      return false;
    }
  }
  const PyValue &descr = dict["descr"], &fortran = dict["fortran_order"], &shape = dict["shape"];
  if (descr.kind != PyValue::Kind::Str) {
    error = "the NPY header's 'descr' is not a string (structured dtypes are not supported)";
    return false;
  }
  if (descr.s == "<f4") {
    out.dtype = NpyDType::Float32;
  } else if (descr.s == "<i4") {
    out.dtype = NpyDType::Int32;
  } else {
    error = "unsupported NPY dtype '" + descr.s + "' (only float32 '<f4' and int32 '<i4' are supported)";
    return false;
  }
  if (fortran.kind != PyValue::Kind::Bool) {
    error = "the NPY header's 'fortran_order' is not True or False";
    return false;
  }
  if (fortran.b) {
    error = "Fortran-order NPY arrays are not supported (save the array in C order)";
    return false;
  }
  if (shape.kind != PyValue::Kind::Tuple) {
    error = "the NPY header's 'shape' is not a tuple";
    return false;
  }
  out.shape.clear();
  uint64_t count = 1;
  const uint64_t kMaxCount = uint64_t(1) << 60;
  for (const PyValue &d : shape.items) {
    if (d.kind != PyValue::Kind::Int) {
      error = "the NPY header's 'shape' holds something other than integers";
      return false;
    }
    if (d.i != 0 && count > kMaxCount / static_cast<uint64_t>(d.i)) {
      error = "the NPY array is too large";
      return false;
    }
    count *= static_cast<uint64_t>(d.i);
    out.shape.push_back(d.i);
  }
  size_t dataStart = prefix + headerLen;
  uint64_t have = bytes.size() - dataStart;
  uint64_t need = count * 4;
  if (have < need) {
    error = "truncated NPY data (shape " + npyShapeStr(out.shape) + " needs " + std::to_string(need) + " bytes, " +
            std::to_string(have) + " are present)";
    return false;
  }
  if (have > need) {
    error = "the NPY file has " + std::to_string(have - need) + " bytes after the data of shape " +
            npyShapeStr(out.shape);
    return false;
  }
  const unsigned char *p = u + dataStart;
  out.f32.clear();
  out.i32.clear();
  if (out.dtype == NpyDType::Float32) {
    out.f32.resize(count);
    for (uint64_t k = 0; k < count; ++k) {
      uint32_t bits = loadLE32(p + 4 * k);
      std::memcpy(&out.f32[k], &bits, 4);
    }
  } else {
    out.i32.resize(count);
    for (uint64_t k = 0; k < count; ++k) {
      uint32_t bits = loadLE32(p + 4 * k);
      std::memcpy(&out.i32[k], &bits, 4);
    }
  }
  return true;
}

bool encodeNpy(const NpyArray &a, std::string &bytes, std::string &error) {
  for (int64_t d : a.shape) {
    if (d < 0) {
      error = "cannot write an array of shape " + npyShapeStr(a.shape);
      return false;
    }
  }
  size_t count = static_cast<size_t>(a.numElements());
  size_t have = a.dtype == NpyDType::Float32 ? a.f32.size() : a.i32.size();
  if (have != count) {
    error = "an array of shape " + npyShapeStr(a.shape) + " needs " + std::to_string(count) + " elements, it has " +
            std::to_string(have);
    return false;
  }
  std::string dict = std::string("{'descr': '") + (a.dtype == NpyDType::Float32 ? "<f4" : "<i4") +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < a.shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(a.shape[i]);
  if (a.shape.size() == 1) dict += ",";
  dict += "), }";
  // Pad with spaces and a final newline so that the data starts on a 64-byte boundary.
  bool v2 = dict.size() + 1 + 10 + 63 > 65535;
  size_t prefix = v2 ? 12 : 10;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  std::string header = dict + std::string(total - prefix - dict.size() - 1, ' ') + "\n";
  bytes.clear();
  bytes.reserve(total + 4 * count);
  bytes.append(kMagic, kMagicLen);
  bytes.push_back(static_cast<char>(v2 ? 2 : 1));
  bytes.push_back(0);
  if (v2) {
    storeLE32(static_cast<uint32_t>(header.size()), bytes);
  } else {
    bytes.push_back(static_cast<char>(header.size() & 0xff));
    bytes.push_back(static_cast<char>(header.size() >> 8));
  }
  bytes += header;
  for (size_t k = 0; k < count; ++k) {
    uint32_t bits;
    if (a.dtype == NpyDType::Float32)
      std::memcpy(&bits, &a.f32[k], 4);
    else
      std::memcpy(&bits, &a.i32[k], 4);
    storeLE32(bits, bytes);
  }
  return true;
}

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    error = path + ": cannot read";
    return false;
  }
  if (!decodeNpy(ss.str(), out, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

bool writeNpy(const std::string &path, const NpyArray &a, std::string &error) {
  std::string bytes;
  if (!encodeNpy(a, bytes, error)) {
    error = path + ": " + error;
    return false;
  }
  return writeFileAtomically(path, bytes, error);
}

}  // namespace nncc
