// The autotuner's pieces that do not time anything: the cache file (round
// trip, rejection of files that are not caches), the per-kernel choice
// reaching the conv tile (a valid choice wins, an invalid one is ignored),
// and the candidate list (the heuristic's choice first, every candidate a
// valid register tile). The timing itself is exercised end to end by
// tests/lit/codegen-e2e/autotune.test.
#include "compiler/lower/ConvSchedule.h"
#include "compiler/lower/TuneCache.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

using namespace nncc;

namespace {

std::string tempPath(const char *name) { return ::testing::TempDir() + name; }

void writeFile(const std::string &path, const std::string &text) { std::ofstream(path) << text; }

}  // namespace

TEST(TuneCache, RoundTrip) {
  TuneCache c;
  TuneRecord r;
  r.choice.convVectors = 2, r.choice.convCols = 7, r.ms = 1.5, r.defaultMs = 2.0;
  c.put("x86-64-linux-avx512", "conv2d ->[64, 8, 8] k", r);
  r.choice.convVectors = 1;
  c.put("arm-64-linux", "conv2d ->[64, 8, 8] k", r);
  std::string path = tempPath("tune-roundtrip.json"), error;
  std::remove(path.c_str());
  ASSERT_TRUE(c.save(path, error)) << error;
  TuneCache d;
  ASSERT_TRUE(d.load(path, error)) << error;
  EXPECT_EQ(d.size(), 2u);
  const TuneRecord *x = d.find("x86-64-linux-avx512", "conv2d ->[64, 8, 8] k");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->choice.convVectors, 2);
  EXPECT_EQ(x->choice.convCols, 7);
  EXPECT_DOUBLE_EQ(x->ms, 1.5);
  EXPECT_DOUBLE_EQ(x->defaultMs, 2.0);
  EXPECT_EQ(d.find("x86-64-linux-avx512", "other"), nullptr);
  auto choices = d.choicesFor("arm-64-linux");
  ASSERT_EQ(choices->size(), 1u);
  EXPECT_EQ(choices->at("conv2d ->[64, 8, 8] k").convVectors, 1);
}

TEST(TuneCache, MissingFileIsEmpty) {
  TuneCache c;
  std::string error;
  EXPECT_TRUE(c.load(tempPath("no-such-tune-cache.json"), error));
  EXPECT_EQ(c.size(), 0u);
}

TEST(TuneCache, RejectsFilesThatAreNotCaches) {
  const char *bad[] = {
      "not json",
      R"({"format": "something-else", "entries": []})",
      R"({"format": "nncc-autotune-1"})",
      R"({"format": "nncc-autotune-1", "entries": [{"target": "t", "kernel": "k", "conv_vectors": -1, "conv_cols": 2}]})",
      R"({"format": "nncc-autotune-1", "entries": [{"target": 3, "kernel": "k", "conv_vectors": 1, "conv_cols": 2}]})",
      R"({"format": "nncc-autotune-1", "entries": [{"target": "t", "kernel": "k", "conv_vectors": 1}]})",
  };
  for (const char *text : bad) {
    std::string path = tempPath("tune-bad.json"), error;
    writeFile(path, text);
    TuneCache c;
    EXPECT_FALSE(c.load(path, error)) << text;
    EXPECT_NE(error.find("tune-bad.json"), std::string::npos) << error;
  }
}

TEST(ConvTileChoice, ValidChoiceWinsInvalidIsIgnored) {
  lower::MachineShape m;  // 16 lanes, 32 registers
  std::vector<lower::ConvTile> cands = lower::convTileCandidates(m, 64, 32);
  ASSERT_GE(cands.size(), 2u);
  lower::ConvTile def = lower::chooseConvTile(m, 64, 32);
  EXPECT_EQ(def.vectors, cands[0].vectors);
  EXPECT_EQ(def.cols, cands[0].cols);
  ScheduleChoice c;
  c.convVectors = cands.back().vectors, c.convCols = cands.back().cols;
  lower::ConvTile chosen = lower::chooseConvTile(m, 64, 32, c);
  EXPECT_EQ(chosen.vectors, cands.back().vectors);
  EXPECT_EQ(chosen.cols, cands.back().cols);
  c.convVectors = 3;  // 3 x 16 does not divide 64
  c.convCols = 2;
  lower::ConvTile ignored = lower::chooseConvTile(m, 64, 32, c);
  EXPECT_EQ(ignored.vectors, def.vectors);
  EXPECT_EQ(ignored.cols, def.cols);
}

TEST(ConvTileChoice, CandidatesAreValidTiles) {
  lower::MachineShape m;
  for (int cout : {16, 32, 48, 64, 256})
    for (int width : {1, 5, 7, 14, 32, 56}) {
      std::vector<lower::ConvTile> cands = lower::convTileCandidates(m, cout, width);
      ASSERT_FALSE(cands.empty()) << cout << " " << width;
      for (const lower::ConvTile &t : cands) {
        EXPECT_EQ(cout % (t.vectors * m.lanes), 0);
        EXPECT_LE(t.cols, width);
        EXPECT_LE(t.vectors * t.cols * 4, m.registers * 3);  // accumulators fit
      }
    }
}
