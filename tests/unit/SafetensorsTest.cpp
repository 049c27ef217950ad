// Safetensors: round trips, a file laid out by hand byte for byte, and every
// corruption the reader must refuse, with the tensor named in the message.
#include "compiler/weights/Safetensors.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <unistd.h>

using namespace nncc;

namespace {

// A file assembled by hand: header text and raw data, as the format says.
std::string makeFile(const std::string &header, const std::string &data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>(n >> (8 * i));
  return out + header + data;
}

std::string floats(std::initializer_list<float> v) {
  std::string s;
  for (float f : v) s.append(reinterpret_cast<const char *>(&f), 4);  // x86-64 is little-endian
  return s;
}

// The one-line messages of a failed read.
std::string readErrors(const std::string &bytes) {
  Diagnostics d;
  TensorMap m;
  EXPECT_FALSE(readSafetensorsFromMemory(bytes, "w.safetensors", m, d));
  std::string all;
  for (const auto &x : d.all()) all += x.str() + "\n";
  return all;
}

}  // namespace

TEST(Safetensors, ReadsAHandMadeFile) {
  std::string h = R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]},)"
                  R"("a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"__metadata__":{"format":"pt"}})";
  Diagnostics d;
  TensorMap m;
  ASSERT_TRUE(readSafetensorsFromMemory(makeFile(h, floats({1, 2, 3, -4.5f, 0.25f})), "w", m, d));
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m["a"].shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(m["a"].data, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(m["b"].data, (std::vector<float>{-4.5f, 0.25f}));
}

TEST(Safetensors, RoundTripThroughAFile) {
  TensorMap t;
  t["conv.weight"] = {{2, 1, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}};
  t["conv.bias"] = {{2}, {0.5f, -0.5f}};
  t["scalar"] = {{}, {3.25f}};
  t["empty"] = {{0, 4}, {}};
  std::string path = ::testing::TempDir() + "/rt.safetensors";
  std::string err;
  ASSERT_TRUE(writeSafetensors(path, t, err, {{"producer", "nncc"}})) << err;
  Diagnostics d;
  TensorMap back;
  ASSERT_TRUE(readSafetensors(path, back, d));
  ASSERT_EQ(back.size(), t.size());
  for (const auto &[name, v] : t) {
    EXPECT_EQ(back[name].shape, v.shape) << name;
    EXPECT_EQ(back[name].data, v.data) << name;
  }
  std::string bytes = serializeSafetensors(t);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);  // header padded to 8 bytes
  std::remove(path.c_str());
}

TEST(Safetensors, ShortFile) { EXPECT_NE(readErrors("abc").find("shorter than the 8-byte header length"), std::string::npos); }

TEST(Safetensors, HeaderLengthBeyondTheFile) {
  std::string f = makeFile("{}", "");
  f[0] = 100;
  EXPECT_NE(readErrors(f).find("header length 100 goes beyond the end of the file"), std::string::npos);
}

TEST(Safetensors, HeaderOver100MB) {
  std::string f = makeFile("{}", "");
  f[4] = 1;  // 2^32
  EXPECT_NE(readErrors(f).find("over the 100 MB limit"), std::string::npos);
}

TEST(Safetensors, HeaderNotJson) {
  EXPECT_NE(readErrors(makeFile("{nope", "")).find("not valid JSON"), std::string::npos);
  EXPECT_NE(readErrors(makeFile("[1]", "")).find("must be a JSON object"), std::string::npos);
}

TEST(Safetensors, DuplicateTensor) {
  std::string h = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  EXPECT_NE(readErrors(makeFile(h, floats({1}))).find("w.safetensors: a: appears twice"), std::string::npos);
}

TEST(Safetensors, WrongDtypeNamesTheTensor) {
  std::string h = R"({"fc.weight":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})";
  EXPECT_NE(readErrors(makeFile(h, "abcd")).find("w.safetensors: fc.weight: dtype F16 is not supported"), std::string::npos);
}

TEST(Safetensors, SizeDisagreesWithShape) {
  std::string h = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
  EXPECT_NE(readErrors(makeFile(h, floats({1, 2}))).find("w.safetensors: w: data_offsets [0, 8] hold 8 bytes, but shape [3] of F32 needs 12"),
            std::string::npos);
}

TEST(Safetensors, Truncated) {
  std::string h = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  EXPECT_NE(readErrors(makeFile(h, floats({1, 2}))).find("w.safetensors: w: data [0, 16) is beyond the end of the data (8 bytes): the file is truncated"),
            std::string::npos);
}

TEST(Safetensors, OverlapAndHoles) {
  std::string overlap = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  EXPECT_NE(readErrors(makeFile(overlap, floats({1, 2, 3}))).find("b: data [4, 12) overlaps"), std::string::npos);
  std::string hole = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  EXPECT_NE(readErrors(makeFile(hole, floats({1, 2}))).find("a: bytes [0, 4) before this tensor belong to no tensor"),
            std::string::npos);
  std::string tail = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  EXPECT_NE(readErrors(makeFile(tail, floats({1, 2}))).find("4 bytes at the end of the data belong to no tensor"),
            std::string::npos);
}

TEST(Safetensors, MalformedEntries) {
  EXPECT_NE(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", "")).find("a: shape must be a list of non-negative integers"), std::string::npos);
  EXPECT_NE(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":[1]}})", "")).find("a: header entry needs dtype, shape and data_offsets"), std::string::npos);
  EXPECT_NE(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", floats({1}))).find("a: unknown key 'x'"), std::string::npos);
  EXPECT_NE(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", floats({1}))).find("a: data_offsets [4, 0]"), std::string::npos);
  EXPECT_NE(readErrors(makeFile(R"({"__metadata__":{"k":1}})", "")).find("__metadata__: must be an object of strings"), std::string::npos);
}

TEST(Safetensors, MissingFile) {
  Diagnostics d;
  TensorMap m;
  EXPECT_FALSE(readSafetensors("/nonexistent/w.safetensors", m, d));
  EXPECT_EQ(d.all().at(0).str(), "/nonexistent/w.safetensors: cannot open the weights file");
}
