// The trainer's data sets (runtime/trainer/Dataset.h): CSV parsing and its
// located errors, IDX round trips (plain and gzip'd, every element type) and
// MNIST-style loading with scaling, NPY loading, the seeded shuffle and the
// train/validation/test split.
#include "runtime/Npy.h"
#include "runtime/trainer/Dataset.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <numeric>
#include <set>

namespace nncc {
namespace trainer {
namespace {

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "/trainer-ds-" + std::to_string(::getpid()) + "-" + name;
}

void writeText(const std::string &path, const std::string &text) { std::ofstream(path, std::ios::binary) << text; }

std::string gzipText(const std::string &path, const std::string &text) {
  gzFile f = gzopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  EXPECT_EQ(gzwrite(f, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
  gzclose(f);
  return path;
}

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "(no error)";
}

// ---- CSV ----

TEST(TrainerCsv, LabelsInTheLastColumnAndAHeader) {
  Dataset d = parseCsv("a,b,label\n1,2,0\n3.5, -4 ,1\r\n\n5e-1,\"6\",2\n", CsvOptions(), "t.csv");
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.features, 2);
  EXPECT_EQ(d.kind, TargetKind::Labels);
  EXPECT_EQ(d.x, (std::vector<float>{1, 2, 3.5f, -4, 0.5f, 6}));
  EXPECT_EQ(d.labels, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(d.numClasses(), 3);
}

TEST(TrainerCsv, LabelColumnByIndexOrName) {
  const std::string text = "y,f1,f2\n1,10,20\n0,30,40\n";
  CsvOptions o;
  o.labelColumn = 0;
  Dataset a = parseCsv(text, o);
  EXPECT_EQ(a.x, (std::vector<float>{10, 20, 30, 40}));
  EXPECT_EQ(a.labels, (std::vector<int32_t>{1, 0}));
  CsvOptions byName;
  byName.labelName = "y";
  Dataset b = parseCsv(text, byName);
  EXPECT_EQ(b.x, a.x);
  EXPECT_EQ(b.labels, a.labels);
}

TEST(TrainerCsv, NoHeaderAndFloatTargets) {
  CsvOptions o;
  o.kind = TargetKind::Floats;
  o.labelColumn = 1;
  o.targetColumns = 2;
  Dataset d = parseCsv("1,0.5,0.25,7\n2,1.5,1.25,8\n", o);
  EXPECT_EQ(d.features, 2);
  EXPECT_EQ(d.targetSize, 2);
  EXPECT_EQ(d.x, (std::vector<float>{1, 7, 2, 8}));
  EXPECT_EQ(d.targets, (std::vector<float>{0.5f, 0.25f, 1.5f, 1.25f}));
}

TEST(TrainerCsv, ErrorsNameTheLineAndColumn) {
  const CsvOptions o;
  EXPECT_EQ(errorOf([&] { parseCsv("a,b,y\n1,2,0\n1,x,1\n", o, "d.csv"); }),
            "d.csv:3: column 2 ('b'): 'x' is not a finite number");
  EXPECT_EQ(errorOf([&] { parseCsv("1,2,0\n\n1,2\n", o, "d.csv"); }), "d.csv:3: 2 columns, expected 3 (as line 1)");
  EXPECT_EQ(errorOf([&] { parseCsv("1,2,0\n1,,1\n", o, "d.csv"); }), "d.csv:2: column 2: empty field");
  EXPECT_EQ(errorOf([&] { parseCsv("1,2,0\n1,2,1.5\n", o, "d.csv"); }),
            "d.csv:2: column 3: label '1.5' is not a non-negative integer");
  EXPECT_EQ(errorOf([&] { parseCsv("1,2,-1\n", o, "d.csv"); }),
            "d.csv:1: column 3: label '-1' is not a non-negative integer");
  EXPECT_EQ(errorOf([&] { parseCsv("1,2,0\n1,nan,1\n", o, "d.csv"); }),
            "d.csv:2: column 2: 'nan' is not a finite number");
  EXPECT_EQ(errorOf([&] { parseCsv("1,\"2,0\n", o, "d.csv"); }), "d.csv:1: unterminated double quote");
  EXPECT_EQ(errorOf([&] { parseCsv("\n\n", o, "d.csv"); }), "d.csv: no rows");
  EXPECT_EQ(errorOf([&] { parseCsv("a,b\n", o, "d.csv"); }), "d.csv: no data rows");
  CsvOptions far;
  far.labelColumn = 5;
  EXPECT_EQ(errorOf([&] { parseCsv("1,2,0\n", far, "d.csv"); }), "d.csv: label column 5 is outside the 3 columns");
  CsvOptions named;
  named.labelName = "zz";
  EXPECT_EQ(errorOf([&] { parseCsv("a,b\n1,2\n", named, "d.csv"); }), "d.csv:1: no column named 'zz'");
  CsvOptions headerless;
  headerless.header = CsvHeader::No;
  EXPECT_EQ(errorOf([&] { parseCsv("a,b\n1,2\n", headerless, "d.csv"); }),
            "d.csv:1: column 1: 'a' is not a finite number");
}

TEST(TrainerCsv, FilesPlainAndGzipped) {
  const std::string text = "1,2,1\n3,4,0\n";
  const std::string plain = tempPath("plain.csv"), gz = tempPath("data.csv.gz");
  writeText(plain, text);
  gzipText(gz, text);
  Dataset a = loadCsv(plain), b = loadCsv(gz);
  EXPECT_EQ(a.x, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(b.x, a.x);
  EXPECT_EQ(b.labels, a.labels);
  std::remove(plain.c_str());
  std::remove(gz.c_str());
  EXPECT_NE(errorOf([&] { loadCsv(tempPath("missing.csv")); }).find("missing.csv: cannot open"), std::string::npos);
}

// ---- IDX ----

TEST(TrainerIdx, RoundTripEveryTypePlainAndGzipped) {
  const std::vector<std::pair<IdxType, std::vector<float>>> cases = {
      {IdxType::UInt8, {0, 1, 127, 128, 255, 3}},
      {IdxType::Int8, {-128, -1, 0, 1, 127, 5}},
      {IdxType::Int16, {-32768, -300, 0, 300, 32767, 7}},
      {IdxType::Int32, {-16777216, -70000, 0, 70000, 16777216, 9}},
      {IdxType::Float32, {-1.5f, 0.25f, 3.0e7f, -0.0f, 1e-30f, 2}},
      {IdxType::Float64, {-2.5f, 0.125f, 1.0e10f, 0, 1e-20f, 4}},
  };
  for (bool gz : {false, true}) {
    for (const auto &c : cases) {
      IdxArray a;
      a.type = c.first;
      a.dims = {3, 2};
      a.data = c.second;
      const std::string path = tempPath(gz ? "rt.idx.gz" : "rt.idx");
      writeIdx(path, a, gz);
      IdxArray b = readIdx(path);
      EXPECT_EQ(b.type, a.type);
      EXPECT_EQ(b.dims, a.dims);
      EXPECT_EQ(b.data, a.data) << "type " << static_cast<int>(c.first) << (gz ? " gzip" : "");
      // gzip'd files really are compressed (gzip magic), plain ones are IDX.
      std::ifstream in(path, std::ios::binary);
      unsigned char m[2] = {0, 0};
      in.read(reinterpret_cast<char *>(m), 2);
      if (gz)
        EXPECT_TRUE(m[0] == 0x1f && m[1] == 0x8b);
      else
        EXPECT_TRUE(m[0] == 0 && m[1] == 0);
      std::remove(path.c_str());
    }
  }
}

TEST(TrainerIdx, ByteLayoutIsMnists) {
  IdxArray a;
  a.type = IdxType::UInt8;
  a.dims = {2, 1, 3};
  a.data = {1, 2, 3, 4, 5, 6};
  const std::string bytes = encodeIdx(a);
  const std::string want = std::string("\0\0\x08\x03\0\0\0\x02\0\0\0\x01\0\0\0\x03\x01\x02\x03\x04\x05\x06", 22);
  EXPECT_EQ(bytes, want);
}

TEST(TrainerIdx, Errors) {
  IdxArray a;
  a.type = IdxType::UInt8;
  a.dims = {2, 2};
  a.data = {1, 2, 3, 4};
  std::string bytes = encodeIdx(a);
  EXPECT_EQ(errorOf([&] { decodeIdx(bytes.substr(0, bytes.size() - 1), "x.idx"); }),
            "x.idx: 3 bytes of data, expected 4 (truncated)");
  EXPECT_EQ(errorOf([&] { decodeIdx(bytes + "z", "x.idx"); }), "x.idx: 5 bytes of data, expected 4 (trailing bytes)");
  EXPECT_EQ(errorOf([&] { decodeIdx("PK\x03\x04", "x.idx"); }),
            "x.idx: not an IDX file (the first two bytes must be zero)");
  EXPECT_EQ(errorOf([&] { decodeIdx(std::string("\0\0\x07\x01\0\0\0\0", 8), "x.idx"); }),
            "x.idx: unknown IDX element type 0x07");
  EXPECT_EQ(errorOf([&] { decodeIdx(std::string("\0\0\x08\x02\0\0\0", 7), "x.idx"); }), "x.idx: truncated IDX header");
}

// Images and labels as Fashion-MNIST ships them (idx3-ubyte + idx1-ubyte, gzip'd).
TEST(TrainerIdx, LoadImagesAndLabelsScaled) {
  IdxArray images;
  images.type = IdxType::UInt8;
  images.dims = {3, 2, 2};
  for (int i = 0; i < 12; ++i) images.data.push_back(static_cast<float>(i * 20));
  IdxArray labels;
  labels.type = IdxType::UInt8;
  labels.dims = {3};
  labels.data = {9, 0, 4};
  const std::string ip = tempPath("images-idx3-ubyte.gz"), lp = tempPath("labels-idx1-ubyte.gz");
  writeIdx(ip, images, true);
  writeIdx(lp, labels, true);
  Dataset d = loadIdx(ip, lp);
  EXPECT_EQ(d.size(), 3);
  EXPECT_EQ(d.features, 4);
  EXPECT_EQ(d.labels, (std::vector<int32_t>{9, 0, 4}));
  for (int i = 0; i < 12; ++i) EXPECT_FLOAT_EQ(d.x[i], i * 20 / 255.0f);
  EXPECT_GE(*std::min_element(d.x.begin(), d.x.end()), 0.f);
  EXPECT_LE(*std::max_element(d.x.begin(), d.x.end()), 1.f);
  IdxOptions raw;
  raw.scale = false;
  EXPECT_EQ(loadIdx(ip, lp, raw).x[11], 220.f);
  // Counts must agree.
  labels.dims = {2};
  labels.data = {1, 2};
  writeIdx(lp, labels, false);
  EXPECT_EQ(errorOf([&] { loadIdx(ip, lp); }), ip + ": 3 images but " + lp + " has 2 labels");
  std::remove(ip.c_str());
  std::remove(lp.c_str());
}

// The real Fashion-MNIST test set, when Debian's dataset-fashion-mnist is installed.
TEST(TrainerIdx, DebianFashionMnistIfInstalled) {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  if (access((dir + "t10k-images-idx3-ubyte.gz").c_str(), R_OK) != 0) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  Dataset d = loadIdx(dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(d.size(), 10000);
  EXPECT_EQ(d.features, 784);
  EXPECT_EQ(d.numClasses(), 10);
  std::vector<int> counts(10, 0);
  for (int32_t l : d.labels) ++counts[l];
  for (int c : counts) EXPECT_EQ(c, 1000);
  EXPECT_EQ(*std::max_element(d.x.begin(), d.x.end()), 1.f);
}

// ---- NPY ----

TEST(TrainerNpy, LabelsAndFloatTargets) {
  const std::string xp = tempPath("x.npy"), yp = tempPath("y.npy"), tp = tempPath("t.npy");
  std::string err;
  ASSERT_TRUE(writeNpy(xp, NpyArray::float32({3, 1, 2}, {1, 2, 3, 4, 5, 6}), err)) << err;
  ASSERT_TRUE(writeNpy(yp, NpyArray::int32({3}, {2, 0, 1}), err)) << err;
  ASSERT_TRUE(writeNpy(tp, NpyArray::float32({3, 2}, {.1f, .2f, .3f, .4f, .5f, .6f}), err)) << err;
  Dataset a = loadNpy(xp, yp);
  EXPECT_EQ(a.features, 2);
  EXPECT_EQ(a.kind, TargetKind::Labels);
  EXPECT_EQ(a.labels, (std::vector<int32_t>{2, 0, 1}));
  Dataset b = loadNpy(xp, tp);
  EXPECT_EQ(b.kind, TargetKind::Floats);
  EXPECT_EQ(b.targetSize, 2);
  EXPECT_EQ(b.targets[5], .6f);
  ASSERT_TRUE(writeNpy(yp, NpyArray::int32({2}, {0, 1}), err)) << err;
  EXPECT_EQ(errorOf([&] { loadNpy(xp, yp); }), xp + ": 3 samples but " + yp + " has 2");
  for (const auto &p : {xp, yp, tp}) std::remove(p.c_str());
}

// ---- shuffle and split ----

TEST(TrainerShuffle, DeterministicPermutationPerSeed) {
  std::vector<int64_t> a = shuffledIndices(1000, 42), b = shuffledIndices(1000, 42), c = shuffledIndices(1000, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> iota(1000);
  std::iota(iota.begin(), iota.end(), 0);
  EXPECT_EQ(sorted, iota);  // a permutation
  EXPECT_NE(a, iota);
  // splitmix64's published first outputs for seed 0 (as in Vigna's reference code).
  uint64_t s = 0;
  EXPECT_EQ(splitmix64(s), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(splitmix64(s), 0x6E789E6AA1B965F4ull);
  EXPECT_TRUE(shuffledIndices(0, 1).empty());
  EXPECT_EQ(shuffledIndices(1, 1), std::vector<int64_t>{0});
}

TEST(TrainerShuffle, RoughlyUniform) {
  // Each of 4 elements lands in each position about a quarter of the time.
  int counts[4][4] = {};
  for (uint64_t seed = 0; seed < 4000; ++seed) {
    std::vector<int64_t> p = shuffledIndices(4, seed);
    for (int i = 0; i < 4; ++i) ++counts[p[i]][i];
  }
  for (auto &row : counts)
    for (int c : row) EXPECT_NEAR(c, 1000, 150);
}

TEST(TrainerSplit, DisjointCompleteAndSized) {
  std::vector<float> x;
  std::vector<int32_t> y;
  for (int i = 0; i < 103; ++i) x.push_back(static_cast<float>(i)), y.push_back(i % 5);
  Dataset d = Dataset::withLabels(1, x, y);
  SplitOptions o;
  o.validation = 0.2;
  o.test = 0.1;
  o.seed = 7;
  Split s = splitDataset(d, o);
  EXPECT_EQ(s.validationIndices.size(), 21u);
  EXPECT_EQ(s.testIndices.size(), 10u);
  EXPECT_EQ(s.trainIndices.size(), 72u);
  std::set<int64_t> all;
  for (const auto *part : {&s.trainIndices, &s.validationIndices, &s.testIndices})
    for (int64_t i : *part) EXPECT_TRUE(all.insert(i).second) << "sample " << i << " in two parts";
  EXPECT_EQ(all.size(), 103u);
  EXPECT_EQ(*all.begin(), 0);
  EXPECT_EQ(*all.rbegin(), 102);
  // The subsets hold exactly those samples (feature = index), labels with them.
  for (size_t k = 0; k < s.validationIndices.size(); ++k) {
    EXPECT_EQ(s.validation.x[k], static_cast<float>(s.validationIndices[k]));
    EXPECT_EQ(s.validation.labels[k], s.validationIndices[k] % 5);
  }
  for (size_t k = 0; k < s.testIndices.size(); ++k) EXPECT_EQ(s.test.x[k], static_cast<float>(s.testIndices[k]));
  for (size_t k = 0; k < s.trainIndices.size(); ++k) EXPECT_EQ(s.train.x[k], static_cast<float>(s.trainIndices[k]));
  // Deterministic for a seed, different for another.
  EXPECT_EQ(splitDataset(d, o).testIndices, s.testIndices);
  o.seed = 8;
  EXPECT_NE(splitDataset(d, o).testIndices, s.testIndices);
  // Without shuffling: file order.
  o.shuffle = false;
  Split f = splitDataset(d, o);
  EXPECT_EQ(f.trainIndices.front(), 0);
  EXPECT_EQ(f.validationIndices.front(), 72);
  EXPECT_EQ(f.testIndices.back(), 102);
}

TEST(TrainerSplit, BadFractions) {
  Dataset d = Dataset::withLabels(1, {1, 2, 3}, {0, 1, 0});
  SplitOptions o;
  o.validation = 0.6;
  o.test = 0.4;
  EXPECT_NE(errorOf([&] { splitDataset(d, o); }).find("no training samples left"), std::string::npos);
  o.validation = -0.1;
  EXPECT_NE(errorOf([&] { splitDataset(d, o); }).find("fractions must be in [0, 1)"), std::string::npos);
}

}  // namespace
}  // namespace trainer
}  // namespace nncc
