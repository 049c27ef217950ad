// Safetensors: round trips through files, files laid out by hand byte for
// byte as the reference (Python/Rust) library writes them, and every
// corruption the reader must refuse, with the tensor named in the message.
#include "compiler/weights/Safetensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <limits>
#include <sys/stat.h>

using namespace nncc;

namespace {

// A file assembled by hand: 8-byte little-endian header length, header, data.
std::string makeFile(const std::string &header, const std::string &data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (size_t i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

// Little-endian float32 bytes, assembled from the bit patterns (independent of the host's order).
std::string floats(std::initializer_list<float> v) {
  std::string s;
  for (float f : v) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  }
  return s;
}

std::string entry(const std::string &name, const std::string &shape, uint64_t begin, uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(begin) +
         "," + std::to_string(end) + "]}";
}

// Every line of a read that must fail.
std::string readErrors(const std::string &bytes) {
  Diagnostics d;
  TensorMap m;
  EXPECT_FALSE(readSafetensorsFromMemory(bytes, "w.safetensors", m, d));
  EXPECT_TRUE(m.empty());
  EXPECT_TRUE(d.hasErrors());
  std::string all;
  for (const auto &x : d.all()) all += x.str() + "\n";
  return all;
}

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "in:\n" << (text)

std::string tempPath(const std::string &name) { return ::testing::TempDir() + "/" + name; }

std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Files in `dir` whose name starts with `prefix` (to find stray temporaries).
int countFiles(const std::string &dir, const std::string &prefix) {
  int n = 0;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (std::string(e->d_name).rfind(prefix, 0) == 0) ++n;
    closedir(d);
  }
  return n;
}

}  // namespace

TEST(Safetensors, ReadsAFileLaidOutAsTheReferenceLibrary) {
  // safetensors.torch.save_file({"b": ..., "a": ...}, metadata={"format": "pt"}):
  // metadata first, entries in data order, header padded with spaces to 8 bytes.
  std::string h = "{\"__metadata__\":{\"format\":\"pt\"}," + entry("a", "[3]", 0, 12) + "," +
                  entry("b", "[1,2]", 12, 20) + "}";
  h.append((8 - h.size() % 8) % 8, ' ');
  ASSERT_EQ(h.size() % 8, 0u);
  Diagnostics d;
  TensorMap m;
  SafetensorsMetadata meta;
  ASSERT_TRUE(readSafetensorsFromMemory(makeFile(h, floats({1, 2, 3, -4.5f, 0.25f})), "w", m, d, &meta));
  EXPECT_FALSE(d.hasErrors());
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m["a"].shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(m["a"].data, (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(m["b"].shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(m["b"].data, (std::vector<float>{-4.5f, 0.25f}));
  EXPECT_EQ(meta, (SafetensorsMetadata{{"format", "pt"}}));
}

TEST(Safetensors, ReadsEntriesInAnyHeaderOrder) {
  std::string h = "{" + entry("second", "[1]", 4, 8) + "," + entry("first", "[1]", 0, 4) + "}";
  Diagnostics d;
  TensorMap m;
  ASSERT_TRUE(readSafetensorsFromMemory(makeFile(h, floats({7, 9})), "w", m, d));
  EXPECT_EQ(m["first"].data, (std::vector<float>{7}));
  EXPECT_EQ(m["second"].data, (std::vector<float>{9}));
}

TEST(Safetensors, EmptyFileHasNoTensors) {
  Diagnostics d;
  TensorMap m;
  EXPECT_TRUE(readSafetensorsFromMemory(makeFile("{}      ", ""), "w", m, d));
  EXPECT_TRUE(m.empty());
}

TEST(Safetensors, WritesTheReferenceLayoutByteForByte) {
  TensorMap t{{"w", {{2}, {1.0f, -2.0f}}}};
  std::string bytes, err;
  ASSERT_TRUE(serializeSafetensors(t, {}, bytes, err)) << err;
  std::string h = "{" + entry("w", "[2]", 0, 8) + "}";  // 54 bytes, padded to 56
  ASSERT_EQ(h.size(), 54u);
  h.append(2, ' ');
  EXPECT_EQ(bytes, makeFile(h, floats({1.0f, -2.0f})));

  TensorMap two{{"b", {{}, {5}}}, {"a", {{1}, {6}}}};
  ASSERT_TRUE(serializeSafetensors(two, {{"format", "pt"}}, bytes, err)) << err;
  h = "{\"__metadata__\":{\"format\":\"pt\"}," + entry("a", "[1]", 0, 4) + "," + entry("b", "[]", 4, 8) + "}";
  h.append((8 - h.size() % 8) % 8, ' ');
  EXPECT_EQ(bytes, makeFile(h, floats({6, 5})));
}

TEST(Safetensors, RoundTripThroughAFile) {
  TensorMap t;
  t["conv.weight"] = {{2, 1, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}};
  t["conv.bias"] = {{2}, {0.5f, -0.5f}};
  t["scalar"] = {{}, {3.25f}};
  t["empty"] = {{0, 4}, {}};
  t["specials"] = {{4},
                   {std::numeric_limits<float>::infinity(), -0.0f, std::numeric_limits<float>::denorm_min(),
                    std::numeric_limits<float>::quiet_NaN()}};
  std::string path = tempPath("rt.safetensors");
  std::string err;
  SafetensorsMetadata meta{{"producer", "nncc"}, {"format", "pt"}};
  ASSERT_TRUE(writeSafetensors(path, t, err, meta)) << err;
  Diagnostics d;
  TensorMap back;
  SafetensorsMetadata metaBack;
  ASSERT_TRUE(readSafetensors(path, back, d, &metaBack));
  EXPECT_EQ(metaBack, meta);
  ASSERT_EQ(back.size(), t.size());
  for (const auto &[name, v] : t) {
    EXPECT_EQ(back[name].shape, v.shape) << name;
    ASSERT_EQ(back[name].data.size(), v.data.size()) << name;
    if (!v.data.empty()) {  // bit for bit, NaN included
      EXPECT_EQ(0, std::memcmp(back[name].data.data(), v.data.data(), 4 * v.data.size())) << name;
    }
  }
  std::string bytes = slurp(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  EXPECT_EQ(n % 8, 0u);  // header padded to 8 bytes
  EXPECT_EQ(bytes[8 + n - 1] == ' ' || bytes[8 + n - 1] == '}', true);
  std::remove(path.c_str());
}

TEST(Safetensors, WriterReplacesAtomicallyAndLeavesNoTemporary) {
  std::string dir = tempPath("st_atomic");
  mkdir(dir.c_str(), 0755);
  std::string path = dir + "/w.safetensors";
  std::string err;
  ASSERT_TRUE(writeSafetensors(path, {{"a", {{1}, {1}}}}, err)) << err;
  ASSERT_TRUE(writeSafetensors(path, {{"b", {{2}, {2, 3}}}}, err)) << err;
  Diagnostics d;
  TensorMap back;
  ASSERT_TRUE(readSafetensors(path, back, d));
  EXPECT_EQ(back.size(), 1u);
  EXPECT_EQ(back["b"].data, (std::vector<float>{2, 3}));
  // A tensor whose data disagrees with its shape is refused before anything is written.
  EXPECT_FALSE(writeSafetensors(path, {{"bad", {{2, 3}, {1, 2, 3, 4, 5}}}}, err));
  EXPECT_EQ(err, "tensor 'bad' has 5 values, but its shape [2, 3] needs 6");
  EXPECT_FALSE(writeSafetensors(path, {{"neg", {{-1}, {}}}}, err));
  EXPECT_EQ(err, "tensor 'neg': shape [-1] has a negative dimension");
  EXPECT_FALSE(writeSafetensors(path, {{"__metadata__", {{1}, {1}}}}, err));
  EXPECT_FALSE(writeSafetensors(path, {{"bad\xff", {{1}, {1}}}}, err));
  EXPECT_EQ(err, "a tensor name or metadata string is not valid UTF-8");
  back.clear();
  ASSERT_TRUE(readSafetensors(path, back, d));  // the previous file is intact
  EXPECT_EQ(back["b"].data, (std::vector<float>{2, 3}));
  EXPECT_EQ(countFiles(dir, "w.safetensors"), 1);  // no temporary left behind
  // An unwritable destination fails with a message and leaves nothing.
  EXPECT_FALSE(writeSafetensors(dir + "/no/such/dir/w.safetensors", {{"a", {{1}, {1}}}}, err));
  EXPECT_HAS(err, "no/such/dir/w.safetensors");
  std::remove(path.c_str());
  rmdir(dir.c_str());
}

// --- The file as a whole ---------------------------------------------------

TEST(Safetensors, MissingFile) {
  Diagnostics d;
  TensorMap m;
  EXPECT_FALSE(readSafetensors("/nonexistent/w.safetensors", m, d));
  ASSERT_EQ(d.all().size(), 1u);
  EXPECT_EQ(d.all()[0].str(), "/nonexistent/w.safetensors: cannot open the weights file: No such file or directory");
}

TEST(Safetensors, UnreadableFile) {
  std::string dir = tempPath("st_dir.safetensors");
  mkdir(dir.c_str(), 0755);
  Diagnostics d;
  TensorMap m;
  EXPECT_FALSE(readSafetensors(dir, m, d));
  ASSERT_EQ(d.all().size(), 1u);
  EXPECT_HAS(d.all()[0].str(), dir + ": cannot ");
  EXPECT_HAS(d.all()[0].str(), "the weights file: Is a directory");
  rmdir(dir.c_str());
}

TEST(Safetensors, ShortFile) {
  EXPECT_EQ(readErrors(""), "w.safetensors: not a safetensors file: 0 bytes, shorter than the 8-byte header length\n");
  EXPECT_HAS(readErrors("abcdefg"), "7 bytes, shorter than the 8-byte header length");
}

TEST(Safetensors, HeaderLengthBeyondTheFile) {
  std::string f = makeFile("{}", "");
  f[0] = 100;
  EXPECT_HAS(readErrors(f), "w.safetensors: header length 100 goes beyond the end of the file (10 bytes)");
}

TEST(Safetensors, HeaderOver100MB) {
  std::string f = makeFile("{}", "");
  f[4] = 1;  // 2^32 + 2
  EXPECT_HAS(readErrors(f), "w.safetensors: header length 4294967298 is over the 100 MB limit");
  f = makeFile("{}", "");
  for (size_t i = 0; i < 8; ++i) f[i] = '\xff';
  EXPECT_HAS(readErrors(f), "is over the 100 MB limit");
}

TEST(Safetensors, HeaderNotJsonOrNotAnObject) {
  EXPECT_HAS(readErrors(makeFile("{nope", "")), "w.safetensors: the header is not valid JSON: parse error");
  EXPECT_HAS(readErrors(makeFile("", "")), "the header is not valid JSON");
  EXPECT_HAS(readErrors(makeFile("{\"a\":\"\xff\"}", "")), "the header is not valid JSON");  // not UTF-8
  EXPECT_HAS(readErrors(makeFile("{} {}", "")), "the header is not valid JSON");
  EXPECT_EQ(readErrors(makeFile("[1]", "")), "w.safetensors: the header must be a JSON object, not array\n");
  EXPECT_HAS(readErrors(makeFile("42", "")), "must be a JSON object, not number");
}

// --- Header entries ----------------------------------------------------------

TEST(Safetensors, DuplicateTensorNamesTheTensor) {
  std::string h = "{" + entry("a", "[1]", 0, 4) + "," + entry("a", "[1]", 0, 4) + "}";
  EXPECT_EQ(readErrors(makeFile(h, floats({1}))), "w.safetensors: a: appears twice in the header\n");
}

TEST(Safetensors, DuplicateKeyInsideAnEntry) {
  std::string h = R"({"fc.bias":{"dtype":"F32","shape":[1],"dtype":"F32","data_offsets":[0,4]}})";
  EXPECT_EQ(readErrors(makeFile(h, floats({1}))),
            "w.safetensors: fc.bias: key 'dtype' appears twice in the header entry\n");
  h = R"({"__metadata__":{"k":"1","k":"2"}})";
  EXPECT_EQ(readErrors(makeFile(h, "")), "w.safetensors: __metadata__: key 'k' appears twice\n");
  // The same key in different objects is fine.
  h = "{" + entry("a", "[1]", 0, 4) + "," + entry("b", "[1]", 4, 8) + "}";
  Diagnostics d;
  TensorMap m;
  EXPECT_TRUE(readSafetensorsFromMemory(makeFile(h, floats({1, 2})), "w", m, d));
}

TEST(Safetensors, WrongDtypeNamesTheTensorAndTheDtype) {
  std::string h = R"({"fc.weight":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})";
  EXPECT_EQ(readErrors(makeFile(h, "abcd")),
            "w.safetensors: fc.weight: dtype F16 is not supported: nncc reads F32 tensors only\n");
  h = R"({"fc.weight":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})";
  EXPECT_HAS(readErrors(makeFile(h, "abcd")), "fc.weight: dtype BF16 is not supported");
  h = R"({"fc.weight":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})";
  EXPECT_HAS(readErrors(makeFile(h, "abcd")), "fc.weight: dtype must be a string, not number");
}

TEST(Safetensors, UnknownAndMissingKeys) {
  std::string h = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})";
  EXPECT_EQ(readErrors(makeFile(h, floats({1}))),
            "w.safetensors: a: unknown key 'x' in the header entry (it has dtype, shape and data_offsets)\n");
  h = R"({"a":{"dtype":"F32","shape":[1]}})";
  EXPECT_EQ(readErrors(makeFile(h, floats({1}))), "w.safetensors: a: the header entry lacks data_offsets\n");
  h = R"({"a":{}})";
  EXPECT_HAS(readErrors(makeFile(h, "")), "a: the header entry lacks dtype, shape, data_offsets");
  h = R"({"a":[1]})";
  EXPECT_HAS(readErrors(makeFile(h, "")), "w.safetensors: a: the header entry must be an object, not array");
  h = R"({"":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})";
  EXPECT_HAS(readErrors(makeFile(h, floats({1}))), "w.safetensors: a tensor in the header has an empty name");
}

TEST(Safetensors, BadShapes) {
  EXPECT_EQ(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,0]}})", "")),
            "w.safetensors: a: shape [2, -1] has a negative dimension\n");
  EXPECT_HAS(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", floats({1}))),
             "a: shape [1.5] must be a list of integers");
  EXPECT_HAS(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", floats({1}))),
             "a: shape [\"1\"] must be a list of integers");
  EXPECT_HAS(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":3,"data_offsets":[0,4]}})", floats({1}))),
             "a: shape must be a list of integers, not number");
  // Products that overflow 64 bits, and a zero dimension hiding a huge one.
  EXPECT_HAS(readErrors(makeFile(
                 R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", "")),
             "a: shape [4294967296, 4294967296] has too many elements");
  EXPECT_HAS(readErrors(makeFile(
                 R"({"a":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}})", "")),
             "a: shape [0, 18446744073709551615] has too many elements");
}

TEST(Safetensors, BadOffsets) {
  EXPECT_EQ(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", floats({1}))),
            "w.safetensors: a: data_offsets [4, 0] end before they begin\n");
  EXPECT_HAS(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", floats({1}))),
             "a: data_offsets must be [begin, end], two non-negative integers, not [0]");
  EXPECT_HAS(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", floats({1}))),
             "a: data_offsets must be [begin, end], two non-negative integers, not [-4, 0]");
  EXPECT_HAS(readErrors(makeFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":"0-4"}})", floats({1}))),
             "a: data_offsets must be [begin, end], two non-negative integers, not \"0-4\"");
}

TEST(Safetensors, SizeDisagreesWithShape) {
  std::string h = "{" + entry("w", "[3]", 0, 8) + "}";
  EXPECT_EQ(readErrors(makeFile(h, floats({1, 2}))),
            "w.safetensors: w: data_offsets [0, 8] hold 8 bytes, but shape [3] of F32 needs 12\n");
  h = "{" + entry("s", "[]", 0, 0) + "}";  // a 0-d tensor holds one value
  EXPECT_HAS(readErrors(makeFile(h, "")), "s: data_offsets [0, 0] hold 0 bytes, but shape [] of F32 needs 4");
}

TEST(Safetensors, TooDeeplyNested) {
  std::string h = R"({"a":{"dtype":"F32","shape":[[1]],"data_offsets":[0,4]}})";
  EXPECT_EQ(readErrors(makeFile(h, floats({1}))), "w.safetensors: a: the header entry nests lists or objects too deeply\n");
  // A hostile header: a million nested lists is refused without building them.
  std::string deep = "{\"a\":{\"shape\":" + std::string(1000000, '[') + std::string(1000000, ']') + "}}";
  EXPECT_HAS(readErrors(makeFile(deep, "")), "a: the header entry nests lists or objects too deeply");
}

TEST(Safetensors, BadMetadata) {
  EXPECT_EQ(readErrors(makeFile(R"({"__metadata__":{"k":1}})", "")),
            "w.safetensors: __metadata__: must be an object of strings: 'k' is number\n");
  EXPECT_HAS(readErrors(makeFile(R"({"__metadata__":["k"]})", "")),
             "__metadata__: must be an object of strings, not array");
}

// --- The data section --------------------------------------------------------

TEST(Safetensors, TruncatedData) {
  std::string h = "{" + entry("w", "[4]", 0, 16) + "}";
  std::string all = readErrors(makeFile(h, floats({1, 2})));
  EXPECT_EQ(all, "w.safetensors: w: data [0, 16) is beyond the end of the data (8 bytes): the file is truncated\n");
  // A file cut anywhere is refused: in the length, the header or the data.
  std::string good = makeFile("{" + entry("a", "[2]", 0, 8) + "," + entry("b", "[1]", 8, 12) + "}",
                              floats({1, 2, 3}));
  for (size_t len = 0; len < good.size(); ++len) {
    Diagnostics d;
    TensorMap m;
    EXPECT_FALSE(readSafetensorsFromMemory(good.substr(0, len), "w", m, d)) << len;
    EXPECT_TRUE(d.hasErrors()) << len;
  }
  Diagnostics d;
  TensorMap m;
  EXPECT_TRUE(readSafetensorsFromMemory(good, "w", m, d));
  // Cut in b's data: b is named.
  EXPECT_HAS(readErrors(good.substr(0, good.size() - 2)), "w.safetensors: b: data [8, 12) is beyond the end");
}

TEST(Safetensors, OverlappingData) {
  std::string h = "{" + entry("a", "[2]", 0, 8) + "," + entry("b", "[2]", 4, 12) + "}";
  EXPECT_EQ(readErrors(makeFile(h, floats({1, 2, 3}))),
            "w.safetensors: b: data [4, 12) overlaps the data of a [0, 8)\n");
  h = "{" + entry("a", "[2]", 0, 8) + "," + entry("same", "[2]", 0, 8) + "}";
  EXPECT_HAS(readErrors(makeFile(h, floats({1, 2}))), "same: data [0, 8) overlaps the data of a [0, 8)");
  // A 0-element tensor inside another's data.
  h = "{" + entry("a", "[2]", 0, 8) + "," + entry("e", "[0]", 4, 4) + "}";
  EXPECT_HAS(readErrors(makeFile(h, floats({1, 2}))), "e: data [4, 4) overlaps the data of a [0, 8)");
}

TEST(Safetensors, UncoveredData) {
  std::string h = "{" + entry("a", "[1]", 4, 8) + "}";
  EXPECT_EQ(readErrors(makeFile(h, floats({1, 2}))),
            "w.safetensors: a: bytes [0, 4) before this tensor's data belong to no tensor\n");
  h = "{" + entry("a", "[1]", 0, 4) + "," + entry("b", "[1]", 8, 12) + "}";
  EXPECT_HAS(readErrors(makeFile(h, floats({1, 2, 3}))), "b: bytes [4, 8) before this tensor's data belong to no tensor");
  h = "{" + entry("a", "[1]", 0, 4) + "}";
  EXPECT_EQ(readErrors(makeFile(h, floats({1, 2}))), "w.safetensors: 4 bytes at the end of the data belong to no tensor\n");
  EXPECT_HAS(readErrors(makeFile("{}", "xy")), "2 bytes at the end of the data belong to no tensor");
  h = "{" + entry("e", "[0]", 4, 4) + "}";  // an empty tensor does not cover bytes before it
  EXPECT_HAS(readErrors(makeFile(h, floats({1}))), "e: bytes [0, 4) before this tensor's data belong to no tensor");
}

TEST(Safetensors, ReportsEveryBrokenTensorInOneRun) {
  std::string h = R"({"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},)"
                  R"("b":{"dtype":"F32","shape":[-1],"data_offsets":[2,2]},)"
                  R"("c":{"dtype":"F32","shape":[2],"data_offsets":[2,10],"y":0},)"
                  R"("d":{"dtype":"F32","shape":[9],"data_offsets":[10,46]}})";
  std::string all = readErrors(makeFile(h, std::string(10, '\0')));
  EXPECT_HAS(all, "w.safetensors: a: dtype F16 is not supported");
  EXPECT_HAS(all, "w.safetensors: b: shape [-1] has a negative dimension");
  EXPECT_HAS(all, "w.safetensors: c: unknown key 'y'");
  EXPECT_HAS(all, "w.safetensors: d: data [10, 46) is beyond the end of the data (10 bytes): the file is truncated");
  EXPECT_EQ(std::count(all.begin(), all.end(), '\n'), 4);  // and no spurious hole
}

TEST(Safetensors, SurvivesCorruptedBytes) {
  // Every single-byte corruption of a valid file is either read or refused
  // with at least one message; none crashes (run under sanitizers to see more).
  std::string good = makeFile("{\"__metadata__\":{\"k\":\"v\"}," + entry("a", "[2,1]", 0, 8) + "," +
                                  entry("b", "[]", 8, 12) + "}",
                              floats({1, 2, 3}));
  for (size_t i = 0; i < good.size(); ++i) {
    for (int v : {0x00, 0x22, 0x2c, 0x5b, 0x7d, 0x39, 0x80, 0xff}) {
      std::string bad = good;
      bad[i] = static_cast<char>(v);
      Diagnostics d;
      TensorMap m;
      bool ok = readSafetensorsFromMemory(bad, "w", m, d);
      EXPECT_EQ(ok, !d.hasErrors()) << i << " " << v;
      if (ok) {
        for (const auto &[name, t] : m) {
          int64_t n = 1;
          for (int64_t dim : t.shape) n *= dim;
          EXPECT_EQ(static_cast<size_t>(n), t.data.size()) << name;
        }
      }
    }
  }
}
