// Data sets for the trainer: samples of float features with int32 class
// labels or float targets, loaded from CSV, IDX (MNIST / Fashion-MNIST, plain
// or gzip-compressed) and NPY files; a seeded shuffle and a
// train/validation/test split. Plain C++17, independent of the compiler and of
// any particular compiled model. See docs/trainer.md.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace nncc {
namespace trainer {

// Every failure of the trainer library (bad files, bad options, a model entry
// point returning an error) is reported by throwing this, with one message
// that names the file and place, or the entry point.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string &message) : std::runtime_error(message) {}
};

// What the model's loss takes per sample: one int32 class label
// (softmax_cross_entropy, cross_entropy) or `targetSize` floats
// (mse, binary_cross_entropy).
enum class TargetKind { Labels, Floats };

const char *targetKindName(TargetKind k);  // "labels", "float targets"

struct Dataset {
  int64_t features = 0;                      // floats per sample
  std::vector<float> x;                      // size() * features, row-major
  TargetKind kind = TargetKind::Labels;
  std::vector<int32_t> labels;               // size(), when kind is Labels
  int64_t targetSize = 0;                    // floats per sample, when kind is Floats
  std::vector<float> targets;                // size() * targetSize, when kind is Floats

  int64_t size() const;  // the number of samples
  const float *sample(int64_t i) const { return x.data() + i * features; }

  // The samples at `indices`, in that order (indices are checked).
  Dataset subset(const std::vector<int64_t> &indices) const;
  // Throws Error when the vectors do not match the sizes and kind.
  void validate(const std::string &what = "data set") const;
  // The number of distinct labels (max + 1); 0 for float targets.
  int32_t numClasses() const;

  static Dataset withLabels(int64_t features, std::vector<float> x, std::vector<int32_t> labels);
  static Dataset withTargets(int64_t features, std::vector<float> x, int64_t targetSize, std::vector<float> targets);
};

// ---- CSV ------------------------------------------------------------------
enum class CsvHeader { Auto, Yes, No };  // Auto: a first row with a non-number is a header

struct CsvOptions {
  char delimiter = ',';
  CsvHeader header = CsvHeader::Auto;
  // The label (or first target) column, 0-based; negative counts from the end
  // (-1: the last column). `labelName` selects it by the header's name instead.
  int labelColumn = -1;
  std::string labelName;
  TargetKind kind = TargetKind::Labels;
  int targetColumns = 1;  // Floats: this many consecutive columns from labelColumn
  // Every other column is a feature. Empty lines are skipped, "\r\n" is fine,
  // fields may be surrounded by spaces or double quotes.
};

// Parses CSV text; `name` (a path) starts every error message, e.g.
// "data.csv:7:3: 'abc' is not a number" or "data.csv:9: 4 columns, expected 5".
Dataset parseCsv(const std::string &text, const CsvOptions &options, const std::string &name = "<csv>");
// Reads a CSV file, gzip-compressed or not (a .gz file is recognized by its
// content, not its name).
Dataset loadCsv(const std::string &path, const CsvOptions &options = CsvOptions());

// ---- IDX (the MNIST format) -------------------------------------------------
// Magic: two zero bytes, a type byte, the number of dimensions; then the
// dimensions as big-endian uint32 and the big-endian data.
enum class IdxType : uint8_t { UInt8 = 0x08, Int8 = 0x09, Int16 = 0x0B, Int32 = 0x0C, Float32 = 0x0D, Float64 = 0x0E };

struct IdxArray {
  IdxType type = IdxType::UInt8;
  std::vector<int64_t> dims;
  std::vector<float> data;  // the elements as floats (exact for 8/16-bit types and |int32| <= 2^24)
  int64_t numElements() const;
};

IdxArray decodeIdx(const std::string &bytes, const std::string &name = "<idx>");
std::string encodeIdx(const IdxArray &a);
// Reads an IDX file, gzip-compressed or not.
IdxArray readIdx(const std::string &path);
// Writes an IDX file (gzip-compressed when `gzip`), atomically.
void writeIdx(const std::string &path, const IdxArray &a, bool gzip = false);

struct IdxOptions {
  bool scale = true;  // UInt8 images: divide by 255, giving [0, 1]
};
// Images [N, ...] and labels [N] (as train-images-idx3-ubyte.gz and
// train-labels-idx1-ubyte.gz): features = the product of the image dimensions.
Dataset loadIdx(const std::string &imagesPath, const std::string &labelsPath, const IdxOptions &options = IdxOptions());

// ---- NPY ----------------------------------------------------------------------
// Features: float32 (or int32, converted) [N, ...]; targets: int32 [N] (labels),
// or float32 [N] / [N, T...] (float targets). Uses runtime/Npy.
Dataset loadNpy(const std::string &featuresPath, const std::string &targetsPath);

// ---- Shuffle and split ----------------------------------------------------------
// splitmix64 (Steele, Lea, Flood 2014): advances `state`, returns the next value.
uint64_t splitmix64(uint64_t &state);
// 0..n-1 in an order that depends only on `seed` (Fisher-Yates driven by splitmix64).
std::vector<int64_t> shuffledIndices(int64_t n, uint64_t seed);

struct SplitOptions {
  double validation = 0.1;  // fractions of the data set, rounded to whole samples
  double test = 0.0;
  bool shuffle = true;      // false: train, then validation, then test, in file order
  uint64_t seed = 0;
};

struct Split {
  std::vector<int64_t> trainIndices, validationIndices, testIndices;  // disjoint, together 0..n-1
  Dataset train, validation, test;
};

// Throws Error for fractions outside [0, 1) or a split that leaves no training sample.
Split splitDataset(const Dataset &data, const SplitOptions &options);

// Reads a whole file, transparently gunzipping a gzip-compressed one.
std::string readFileMaybeGzip(const std::string &path);

}  // namespace trainer
}  // namespace nncc
