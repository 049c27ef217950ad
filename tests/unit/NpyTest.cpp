// Unit tests of the NPY reader and writer: round trips of float32 and int32
// arrays of every rank, byte-exact headers as NumPy writes them, versions 2.0
// and 3.0, and clear errors for corrupted or unsupported files.
#include "runtime/Npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <unistd.h>

using namespace nncc;

namespace {

// An NPY file from its header dict text (padded as NumPy does) and raw data.
std::string npyBytes(const std::string &dict, const std::string &data, int major = 1) {
  size_t prefix = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string b = "\x93NUMPY";
  b += static_cast<char>(major);
  b += '\0';
  size_t n = header.size();
  b += static_cast<char>(n & 0xff);
  b += static_cast<char>((n >> 8) & 0xff);
  if (major != 1) b += std::string(2, '\0');
  return b + header + data;
}

std::string le32(uint32_t v) {
  std::string s;
  for (int k = 0; k < 4; ++k) s += static_cast<char>((v >> (8 * k)) & 0xff);
  return s;
}

std::string decodeError(const std::string &bytes) {
  NpyArray a;
  std::string error;
  EXPECT_FALSE(decodeNpy(bytes, a, error));
  return error;
}

bool contains(const std::string &s, const std::string &part) { return s.find(part) != std::string::npos; }

class NpyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("nncc-npy-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string &name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

}  // namespace

TEST(Npy, HeaderIsExactlyWhatNumPyWrites) {
  std::string bytes, error;
  ASSERT_TRUE(encodeNpy(NpyArray::float32({2, 3}, {1, 2, 3, 4, 5, 6}), bytes, error)) << error;
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<unsigned char>(bytes[8]), 118);  // header length: 128 - 10
  EXPECT_EQ(bytes[9], 0);
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(bytes.substr(10, dict.size()), dict);
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_EQ(bytes.substr(128, 4), le32(0x3f800000));  // 1.0f
  ASSERT_TRUE(encodeNpy(NpyArray::int32({3}, {1, -1, 7}), bytes, error));
  EXPECT_NE(bytes.find("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }"), std::string::npos);
  EXPECT_EQ(bytes.substr(128 + 4, 4), le32(0xffffffffu));
}

TEST(Npy, RoundTripEveryRank) {
  const std::vector<std::vector<int64_t>> shapes = {{}, {0}, {5}, {2, 3}, {1, 2, 3, 4}, {2, 1, 1, 1, 3}};
  for (const auto &shape : shapes) {
    NpyArray a;
    a.shape = shape;
    for (int64_t i = 0; i < a.numElements(); ++i) a.f32.push_back(static_cast<float>(i) * -0.5f + 0.25f);
    std::string bytes, error;
    ASSERT_TRUE(encodeNpy(a, bytes, error)) << error;
    EXPECT_EQ((bytes.size() - 4 * a.f32.size()) % 64, 0u);
    NpyArray b;
    ASSERT_TRUE(decodeNpy(bytes, b, error)) << error;
    EXPECT_EQ(b.dtype, NpyDType::Float32);
    EXPECT_EQ(b.shape, shape);
    EXPECT_EQ(b.f32, a.f32);
  }
}

TEST(Npy, RoundTripSpecialFloatsAndInts) {
  const float inf = std::numeric_limits<float>::infinity();
  NpyArray a = NpyArray::float32({5}, {-0.0f, inf, -inf, 1e-45f, 3.4028235e38f});
  std::string bytes, error;
  ASSERT_TRUE(encodeNpy(a, bytes, error));
  NpyArray b;
  ASSERT_TRUE(decodeNpy(bytes, b, error));
  EXPECT_EQ(b.f32, a.f32);
  EXPECT_TRUE(std::signbit(b.f32[0]));
  NpyArray i = NpyArray::int32({2, 2}, {0, -2147483647 - 1, 2147483647, 42});
  ASSERT_TRUE(encodeNpy(i, bytes, error));
  ASSERT_TRUE(decodeNpy(bytes, b, error));
  EXPECT_EQ(b.dtype, NpyDType::Int32);
  EXPECT_EQ(b.i32, i.i32);
  EXPECT_TRUE(b.f32.empty());
}

TEST(Npy, ReadsVersions2And3AndHeaderVariants) {
  std::string data = le32(0x40000000) + le32(0xbf800000);  // 2.0f, -1.0f
  for (int major : {2, 3}) {
    NpyArray a;
    std::string error;
    ASSERT_TRUE(decodeNpy(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data, major), a,
                          error))
        << error;
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2}));
    EXPECT_EQ(a.f32, (std::vector<float>{2.0f, -1.0f}));
  }
  // Keys in another order, double quotes, no trailing comma, Python 2 longs.
  NpyArray a;
  std::string error;
  ASSERT_TRUE(decodeNpy(npyBytes(R"({"shape": (1L, 2L), "fortran_order": False, "descr": "<f4"})", data), a, error))
      << error;
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2}));
  ASSERT_TRUE(decodeNpy(npyBytes("{'descr':'<i4','fortran_order':False,'shape':()}", le32(5)), a, error)) << error;
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(a.i32, (std::vector<int32_t>{5}));
}

TEST(Npy, Corruptions) {
  const std::string good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string data = le32(0) + le32(0);
  EXPECT_TRUE(contains(decodeError("hello world, not numpy"), "bad magic"));
  EXPECT_TRUE(contains(decodeError(""), "bad magic"));
  EXPECT_TRUE(contains(decodeError(std::string("\x93NUMPY", 6)), "truncated"));
  EXPECT_TRUE(contains(decodeError(std::string("\x93NUMPY\x01\x00\x40", 9)), "truncated"));
  EXPECT_TRUE(contains(decodeError(std::string("\x93NUMPY\x04\x00\x10\x00", 10)), "version 4.0"));
  std::string b = npyBytes(good, data);
  EXPECT_TRUE(contains(decodeError(b.substr(0, 40)), "truncated NPY file"));
  EXPECT_TRUE(contains(decodeError(b.substr(0, b.size() - 1)), "truncated NPY data"));
  EXPECT_TRUE(contains(decodeError(b + "x"), "1 bytes after the data"));
  EXPECT_TRUE(contains(decodeError(npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", data)),
                       "unsupported NPY dtype '<f8'"));
  EXPECT_TRUE(contains(decodeError(npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", data)),
                       "unsupported NPY dtype"));
  EXPECT_TRUE(contains(decodeError(npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data)),
                       "Fortran"));
  EXPECT_TRUE(contains(decodeError(npyBytes("{'descr': '<f4', 'shape': (2,), }", data)), "lacks the key 'fortran_order'"));
  EXPECT_TRUE(contains(decodeError(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", data)),
                       "unknown key 'x'"));
  EXPECT_TRUE(contains(decodeError(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", data)),
                       "cannot parse the NPY header"));
  EXPECT_TRUE(contains(decodeError(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", data)),
                       "'shape' is not a tuple"));
  EXPECT_TRUE(contains(decodeError(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", data)),
                       "cannot parse the NPY header"));
  EXPECT_TRUE(contains(decodeError(npyBytes("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}", data)),
                       "cannot parse the NPY header"));
  EXPECT_TRUE(contains(decodeError(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", data)),
                       "cannot parse the NPY header"));
  EXPECT_TRUE(contains(
      decodeError(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999)}", data)),
      "too large"));
  EXPECT_TRUE(contains(decodeError(npyBytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", data)),
                       "'fortran_order' is not True or False"));
}

TEST(Npy, EncodeRejectsMismatchedData) {
  std::string bytes, error;
  EXPECT_FALSE(encodeNpy(NpyArray::float32({2, 2}, {1, 2, 3}), bytes, error));
  EXPECT_TRUE(contains(error, "needs 4 elements"));
}

TEST_F(NpyFileTest, WriteThenRead) {
  NpyArray a = NpyArray::float32({2, 2}, {1.5f, -2, 0, 3});
  std::string error;
  ASSERT_TRUE(writeNpy(path("a.npy"), a, error)) << error;
  NpyArray b;
  ASSERT_TRUE(readNpy(path("a.npy"), b, error)) << error;
  EXPECT_EQ(b.shape, a.shape);
  EXPECT_EQ(b.f32, a.f32);
  // Overwrite atomically; no temporary file stays behind.
  ASSERT_TRUE(writeNpy(path("a.npy"), NpyArray::int32({1}, {9}), error)) << error;
  ASSERT_TRUE(readNpy(path("a.npy"), b, error));
  EXPECT_EQ(b.i32, (std::vector<int32_t>{9}));
  size_t files = 0;
  for (const auto &e : std::filesystem::directory_iterator(dir_)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST_F(NpyFileTest, ErrorsNameThePath) {
  NpyArray b;
  std::string error;
  EXPECT_FALSE(readNpy(path("missing.npy"), b, error));
  EXPECT_TRUE(contains(error, path("missing.npy") + ": cannot open"));
  std::ofstream(path("bad.npy"), std::ios::binary) << "garbage";
  EXPECT_FALSE(readNpy(path("bad.npy"), b, error));
  EXPECT_EQ(error, path("bad.npy") + ": not an NPY file (bad magic)");
  // A folder that does not exist: nothing is created.
  EXPECT_FALSE(writeNpy(path("no/such/dir/x.npy"), NpyArray::float32({1}, {1}), error));
  EXPECT_TRUE(contains(error, "no/such/dir/x.npy"));
  EXPECT_FALSE(writeNpy(path("y.npy"), NpyArray::float32({2}, {1}), error));
  EXPECT_FALSE(std::filesystem::exists(path("y.npy")));
}
