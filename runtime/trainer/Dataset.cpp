// Data sets: CSV, IDX and NPY loading, the seeded shuffle and the split.
#include "runtime/trainer/Dataset.h"

#include "runtime/AtomicFile.h"
#include "runtime/Npy.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

namespace nncc {
namespace trainer {

const char *targetKindName(TargetKind k) { return k == TargetKind::Labels ? "labels" : "float targets"; }

int64_t Dataset::size() const { return features > 0 ? static_cast<int64_t>(x.size()) / features : 0; }

void Dataset::validate(const std::string &what) const {
  if (features <= 0) throw Error(what + ": no features per sample");
  if (x.size() % static_cast<size_t>(features) != 0)
    throw Error(what + ": " + std::to_string(x.size()) + " feature values are not a multiple of " +
                std::to_string(features));
  const int64_t n = size();
  if (kind == TargetKind::Labels) {
    if (static_cast<int64_t>(labels.size()) != n)
      throw Error(what + ": " + std::to_string(labels.size()) + " labels for " + std::to_string(n) + " samples");
    for (int64_t i = 0; i < n; ++i)
      if (labels[i] < 0) throw Error(what + ": sample " + std::to_string(i) + " has the negative label " + std::to_string(labels[i]));
  } else {
    if (targetSize <= 0) throw Error(what + ": no target values per sample");
    if (static_cast<int64_t>(targets.size()) != n * targetSize)
      throw Error(what + ": " + std::to_string(targets.size()) + " target values for " + std::to_string(n) +
                  " samples of " + std::to_string(targetSize));
  }
}

int32_t Dataset::numClasses() const {
  if (kind != TargetKind::Labels || labels.empty()) return 0;
  return *std::max_element(labels.begin(), labels.end()) + 1;
}

Dataset Dataset::subset(const std::vector<int64_t> &indices) const {
  Dataset d;
  d.features = features;
  d.kind = kind;
  d.targetSize = targetSize;
  const int64_t n = size();
  d.x.reserve(indices.size() * features);
  for (int64_t i : indices) {
    if (i < 0 || i >= n) throw Error("subset: index " + std::to_string(i) + " is outside 0.." + std::to_string(n - 1));
    d.x.insert(d.x.end(), x.begin() + i * features, x.begin() + (i + 1) * features);
    if (kind == TargetKind::Labels)
      d.labels.push_back(labels[i]);
    else
      d.targets.insert(d.targets.end(), targets.begin() + i * targetSize, targets.begin() + (i + 1) * targetSize);
  }
  return d;
}

Dataset Dataset::withLabels(int64_t features, std::vector<float> x, std::vector<int32_t> labels) {
  Dataset d;
  d.features = features;
  d.x = std::move(x);
  d.kind = TargetKind::Labels;
  d.labels = std::move(labels);
  d.validate();
  return d;
}

Dataset Dataset::withTargets(int64_t features, std::vector<float> x, int64_t targetSize, std::vector<float> targets) {
  Dataset d;
  d.features = features;
  d.x = std::move(x);
  d.kind = TargetKind::Floats;
  d.targetSize = targetSize;
  d.targets = std::move(targets);
  d.validate();
  return d;
}

// ---- files ------------------------------------------------------------------

std::string readFileMaybeGzip(const std::string &path) {
  errno = 0;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw Error(path + ": cannot open: " + (errno ? std::strerror(errno) : "out of memory"));
  std::string bytes;
  char buf[1 << 16];
  for (;;) {
    int got = gzread(f, buf, sizeof buf);
    if (got < 0) {
      int code = 0;
      std::string msg = gzerror(f, &code);
      gzclose(f);
      throw Error(path + ": cannot read: " + (code == Z_ERRNO ? std::strerror(errno) : msg));
    }
    if (got == 0) break;
    bytes.append(buf, static_cast<size_t>(got));
  }
  int code = 0;
  const char *msg = gzerror(f, &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    std::string m = msg;
    gzclose(f);
    throw Error(path + ": cannot read: " + m);
  }
  gzclose(f);
  return bytes;
}

static std::string gzipBytes(const std::string &raw) {
  z_stream z;
  std::memset(&z, 0, sizeof z);
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw Error("gzip: deflateInit2 failed");
  std::string out(deflateBound(&z, raw.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef *>(&out[0]);
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw Error("gzip: deflate failed");
  return out;
}

// ---- CSV ----------------------------------------------------------------------

namespace {

struct CsvRow {
  int line = 0;
  std::vector<std::string> fields;
};

std::string trim(const std::string &s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, e - b + 1);
}

std::vector<std::string> splitFields(const std::string &line, char delim, bool &badQuote) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  badQuote = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
    } else if (c == delim && !quoted) {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (quoted) badQuote = true;
  out.push_back(trim(cur));
  return out;
}

bool parseNumber(const std::string &s, double &v) {
  if (s.empty()) return false;
  const char *b = s.c_str();
  char *e = nullptr;
  errno = 0;
  v = std::strtod(b, &e);
  return e == b + s.size() && errno != ERANGE && std::isfinite(v);
}

}  // namespace

Dataset parseCsv(const std::string &text, const CsvOptions &options, const std::string &name) {
  std::vector<CsvRow> rows;
  {
    size_t pos = 0;
    int lineNo = 0;
    while (pos <= text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(pos, nl - pos);
      ++lineNo;
      pos = nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (trim(line).empty()) continue;
      bool badQuote = false;
      CsvRow r;
      r.line = lineNo;
      r.fields = splitFields(line, options.delimiter, badQuote);
      if (badQuote) throw Error(name + ":" + std::to_string(lineNo) + ": unterminated double quote");
      rows.push_back(std::move(r));
    }
  }
  if (rows.empty()) throw Error(name + ": no rows");
  const int cols = static_cast<int>(rows[0].fields.size());
  bool header = options.header == CsvHeader::Yes;
  if (options.header == CsvHeader::Auto) {
    double v;
    for (const std::string &f : rows[0].fields)
      if (!parseNumber(f, v)) header = true;
  }
  std::vector<std::string> names;
  if (header) names = rows[0].fields;
  int labelCol = options.labelColumn;
  if (!options.labelName.empty()) {
    if (!header) throw Error(name + ": label column '" + options.labelName + "' given by name, but there is no header row");
    auto it = std::find(names.begin(), names.end(), options.labelName);
    if (it == names.end()) throw Error(name + ":" + std::to_string(rows[0].line) + ": no column named '" + options.labelName + "'");
    labelCol = static_cast<int>(it - names.begin());
  } else if (labelCol < 0) {
    labelCol += cols;
  }
  const int ntarget = options.kind == TargetKind::Labels ? 1 : options.targetColumns;
  if (ntarget < 1) throw Error(name + ": targetColumns must be at least 1");
  if (labelCol < 0 || labelCol + ntarget > cols)
    throw Error(name + ": label column " + std::to_string(options.labelColumn) +
                (ntarget > 1 ? " (+" + std::to_string(ntarget - 1) + " more target columns)" : std::string()) +
                " is outside the " + std::to_string(cols) + " columns");
  if (cols - ntarget < 1) throw Error(name + ": no feature columns besides the label");

  Dataset d;
  d.features = cols - ntarget;
  d.kind = options.kind;
  d.targetSize = options.kind == TargetKind::Floats ? ntarget : 0;
  d.x.reserve((rows.size() - (header ? 1 : 0)) * d.features);
  auto where = [&](const CsvRow &r, int c) {
    std::string s = name + ":" + std::to_string(r.line) + ": column " + std::to_string(c + 1);
    if (header && c < static_cast<int>(names.size()) && !names[c].empty()) s += " ('" + names[c] + "')";
    return s + ": ";
  };
  for (size_t ri = header ? 1 : 0; ri < rows.size(); ++ri) {
    const CsvRow &r = rows[ri];
    if (static_cast<int>(r.fields.size()) != cols)
      throw Error(name + ":" + std::to_string(r.line) + ": " + std::to_string(r.fields.size()) + " columns, expected " +
                  std::to_string(cols) + " (as line " + std::to_string(rows[0].line) + ")");
    for (int c = 0; c < cols; ++c) {
      const std::string &f = r.fields[c];
      double v;
      if (!parseNumber(f, v))
        throw Error(where(r, c) + (f.empty() ? std::string("empty field") : "'" + f + "' is not a finite number"));
      const bool isTarget = c >= labelCol && c < labelCol + ntarget;
      if (!isTarget) {
        d.x.push_back(static_cast<float>(v));
      } else if (options.kind == TargetKind::Labels) {
        if (v < 0 || v != std::floor(v) || v > std::numeric_limits<int32_t>::max())
          throw Error(where(r, c) + "label '" + f + "' is not a non-negative integer");
        d.labels.push_back(static_cast<int32_t>(v));
      } else {
        d.targets.push_back(static_cast<float>(v));
      }
    }
  }
  if (d.size() == 0) throw Error(name + ": no data rows");
  d.validate(name);
  return d;
}

Dataset loadCsv(const std::string &path, const CsvOptions &options) {
  return parseCsv(readFileMaybeGzip(path), options, path);
}

// ---- IDX --------------------------------------------------------------------------

namespace {

int idxElementBytes(IdxType t) {
  switch (t) {
    case IdxType::UInt8:
    case IdxType::Int8: return 1;
    case IdxType::Int16: return 2;
    case IdxType::Int32:
    case IdxType::Float32: return 4;
    case IdxType::Float64: return 8;
  }
  return 0;
}

uint64_t readBE(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

void writeBE(std::string &out, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

int64_t IdxArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

IdxArray decodeIdx(const std::string &bytes, const std::string &name) {
  const auto *p = reinterpret_cast<const unsigned char *>(bytes.data());
  if (bytes.size() < 4 || p[0] != 0 || p[1] != 0)
    throw Error(name + ": not an IDX file (the first two bytes must be zero)");
  const uint8_t type = p[2];
  const int nd = p[3];
  IdxArray a;
  a.type = static_cast<IdxType>(type);
  const int eb = idxElementBytes(a.type);
  if (eb == 0) throw Error(name + ": unknown IDX element type 0x" + [&] {
                            char b[8];
                            std::snprintf(b, sizeof b, "%02x", type);
                            return std::string(b);
                          }());
  if (nd < 1) throw Error(name + ": an IDX file with no dimensions");
  const size_t headerBytes = 4 + 4 * static_cast<size_t>(nd);
  if (bytes.size() < headerBytes) throw Error(name + ": truncated IDX header");
  int64_t n = 1;
  for (int i = 0; i < nd; ++i) {
    int64_t d = static_cast<int64_t>(readBE(p + 4 + 4 * i, 4));
    a.dims.push_back(d);
    if (d != 0 && n > (int64_t{1} << 40) / d) throw Error(name + ": IDX dimensions too large");
    n *= d;
  }
  const uint64_t want = static_cast<uint64_t>(n) * eb;
  const uint64_t have = bytes.size() - headerBytes;
  if (have != want)
    throw Error(name + ": " + std::to_string(have) + " bytes of data, expected " + std::to_string(want) + " (" +
                (have < want ? "truncated" : "trailing bytes") + ")");
  a.data.resize(static_cast<size_t>(n));
  const unsigned char *q = p + headerBytes;
  for (int64_t i = 0; i < n; ++i, q += eb) {
    uint64_t raw = readBE(q, eb);
    float v = 0;
    switch (a.type) {
      case IdxType::UInt8: v = static_cast<float>(raw); break;
      case IdxType::Int8: v = static_cast<float>(static_cast<int8_t>(raw)); break;
      case IdxType::Int16: v = static_cast<float>(static_cast<int16_t>(raw)); break;
      case IdxType::Int32: v = static_cast<float>(static_cast<int32_t>(raw)); break;
      case IdxType::Float32: {
        uint32_t u = static_cast<uint32_t>(raw);
        std::memcpy(&v, &u, 4);
        break;
      }
      case IdxType::Float64: {
        double dv;
        std::memcpy(&dv, &raw, 8);
        v = static_cast<float>(dv);
        break;
      }
    }
    a.data[i] = v;
  }
  return a;
}

std::string encodeIdx(const IdxArray &a) {
  if (a.dims.empty() || a.dims.size() > 255) throw Error("encodeIdx: 1 to 255 dimensions are needed");
  if (static_cast<int64_t>(a.data.size()) != a.numElements())
    throw Error("encodeIdx: " + std::to_string(a.data.size()) + " elements for dimensions of " +
                std::to_string(a.numElements()));
  const int eb = idxElementBytes(a.type);
  if (eb == 0) throw Error("encodeIdx: unknown element type");
  std::string out;
  out.reserve(4 + 4 * a.dims.size() + a.data.size() * eb);
  out += '\0';
  out += '\0';
  out += static_cast<char>(a.type);
  out += static_cast<char>(a.dims.size());
  for (int64_t d : a.dims) writeBE(out, static_cast<uint64_t>(d), 4);
  for (float v : a.data) {
    uint64_t raw = 0;
    switch (a.type) {
      case IdxType::UInt8: raw = static_cast<uint8_t>(std::lround(std::clamp(v, 0.f, 255.f))); break;
      case IdxType::Int8: raw = static_cast<uint8_t>(static_cast<int8_t>(std::lround(std::clamp(v, -128.f, 127.f)))); break;
      case IdxType::Int16:
        raw = static_cast<uint16_t>(static_cast<int16_t>(std::lround(std::clamp(v, -32768.f, 32767.f))));
        break;
      case IdxType::Int32: raw = static_cast<uint32_t>(static_cast<int32_t>(std::llround(v))); break;
      case IdxType::Float32: {
        uint32_t u;
        std::memcpy(&u, &v, 4);
        raw = u;
        break;
      }
      case IdxType::Float64: {
        double dv = v;
        std::memcpy(&raw, &dv, 8);
        break;
      }
    }
    writeBE(out, raw, eb);
  }
  return out;
}

IdxArray readIdx(const std::string &path) { return decodeIdx(readFileMaybeGzip(path), path); }

void writeIdx(const std::string &path, const IdxArray &a, bool gzip) {
  std::string bytes = encodeIdx(a);
  if (gzip) bytes = gzipBytes(bytes);
  std::string error;
  if (!writeFileAtomically(path, bytes, error)) throw Error(error);
}

Dataset loadIdx(const std::string &imagesPath, const std::string &labelsPath, const IdxOptions &options) {
  IdxArray images = readIdx(imagesPath);
  IdxArray labels = readIdx(labelsPath);
  if (labels.dims.size() != 1)
    throw Error(labelsPath + ": labels must have one dimension, not " + std::to_string(labels.dims.size()));
  if (labels.type == IdxType::Float32 || labels.type == IdxType::Float64)
    throw Error(labelsPath + ": labels must be integers, not floating point");
  if (images.dims[0] != labels.dims[0])
    throw Error(imagesPath + ": " + std::to_string(images.dims[0]) + " images but " + labelsPath + " has " +
                std::to_string(labels.dims[0]) + " labels");
  Dataset d;
  d.kind = TargetKind::Labels;
  d.features = 1;
  for (size_t i = 1; i < images.dims.size(); ++i) d.features *= images.dims[i];
  if (d.features == 0 || images.dims[0] == 0) throw Error(imagesPath + ": no samples");
  d.x = std::move(images.data);
  if (options.scale && images.type == IdxType::UInt8)
    for (float &v : d.x) v *= 1.0f / 255.0f;
  d.labels.reserve(labels.data.size());
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] < 0) throw Error(labelsPath + ": label " + std::to_string(i) + " is negative");
    d.labels.push_back(static_cast<int32_t>(labels.data[i]));
  }
  d.validate(imagesPath);
  return d;
}

// ---- NPY -------------------------------------------------------------------------

Dataset loadNpy(const std::string &featuresPath, const std::string &targetsPath) {
  NpyArray xs, ys;
  std::string error;
  if (!readNpy(featuresPath, xs, error)) throw Error(error);
  if (!readNpy(targetsPath, ys, error)) throw Error(error);
  if (xs.shape.empty()) throw Error(featuresPath + ": features must have a sample dimension, not a scalar");
  if (ys.shape.empty()) throw Error(targetsPath + ": targets must have a sample dimension, not a scalar");
  if (xs.shape[0] != ys.shape[0])
    throw Error(featuresPath + ": " + std::to_string(xs.shape[0]) + " samples but " + targetsPath + " has " +
                std::to_string(ys.shape[0]));
  Dataset d;
  const int64_t n = xs.shape[0];
  if (n == 0) throw Error(featuresPath + ": no samples");
  d.features = n ? xs.numElements() / n : 0;
  if (xs.dtype == NpyDType::Float32)
    d.x = std::move(xs.f32);
  else
    d.x.assign(xs.i32.begin(), xs.i32.end());
  if (ys.dtype == NpyDType::Int32) {
    if (!(ys.shape.size() == 1 || (ys.shape.size() == 2 && ys.shape[1] == 1)))
      throw Error(targetsPath + ": int32 labels must have shape [N] or [N, 1], not " + npyShapeStr(ys.shape));
    d.kind = TargetKind::Labels;
    d.labels = std::move(ys.i32);
  } else {
    d.kind = TargetKind::Floats;
    d.targetSize = ys.numElements() / n;
    d.targets = std::move(ys.f32);
  }
  d.validate(featuresPath);
  return d;
}

// ---- shuffle and split -------------------------------------------------------------

uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<int64_t> shuffledIndices(int64_t n, uint64_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(std::max<int64_t>(n, 0)));
  std::iota(idx.begin(), idx.end(), 0);
  uint64_t state = seed;
  for (int64_t i = n - 1; i > 0; --i) {
    // Uniform in 0..i without modulo bias: reject the top partial range.
    const uint64_t bound = static_cast<uint64_t>(i) + 1;
    const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
    uint64_t r;
    do r = splitmix64(state);
    while (r >= limit);
    std::swap(idx[i], idx[r % bound]);
  }
  return idx;
}

Split splitDataset(const Dataset &data, const SplitOptions &options) {
  data.validate();
  auto okFraction = [](double f) { return std::isfinite(f) && f >= 0 && f < 1; };
  if (!okFraction(options.validation) || !okFraction(options.test))
    throw Error("split: fractions must be in [0, 1) (validation " + std::to_string(options.validation) + ", test " +
                std::to_string(options.test) + ")");
  const int64_t n = data.size();
  const int64_t nVal = std::llround(n * options.validation), nTest = std::llround(n * options.test);
  const int64_t nTrain = n - nVal - nTest;
  if (nTrain <= 0)
    throw Error("split: no training samples left of " + std::to_string(n) + " (validation " + std::to_string(nVal) +
                ", test " + std::to_string(nTest) + ")");
  std::vector<int64_t> order;
  if (options.shuffle) {
    order = shuffledIndices(n, options.seed);
  } else {
    order.resize(n);
    std::iota(order.begin(), order.end(), 0);
  }
  Split s;
  s.trainIndices.assign(order.begin(), order.begin() + nTrain);
  s.validationIndices.assign(order.begin() + nTrain, order.begin() + nTrain + nVal);
  s.testIndices.assign(order.begin() + nTrain + nVal, order.end());
  s.train = data.subset(s.trainIndices);
  s.validation = data.subset(s.validationIndices);
  s.test = data.subset(s.testIndices);
  return s;
}

}  // namespace trainer
}  // namespace nncc
