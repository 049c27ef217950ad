// The memory plan (compiler/passes/MemoryPlan.h): hand-computed arena sizes on
// small graphs, and on every example network the property that makes the
// plan safe: no two values live at the same time share arena bytes, and every
// slice lies inside the arena.
#include "compiler/passes/MemoryPlan.h"
#include "compiler/passes/Pass.h"
#include "compiler/ir/ShapeInference.h"
#include "frontend/ModelParser.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace nncc {
namespace {

Graph load(const std::string &path) {
  Diagnostics diags;
  std::optional<Graph> g = loadModel(path, diags);
  EXPECT_TRUE(g.has_value() && !diags.hasErrors()) << path;
  return g ? *g : Graph();
}

Graph fromText(const std::string &json) {
  Diagnostics diags;
  std::optional<Graph> g = parseModelJson(json, "m.json", "", diags);
  EXPECT_TRUE(g.has_value() && !diags.hasErrors());
  Graph out = g ? *g : Graph();
  EXPECT_TRUE(inferShapes(out, diags));
  return out;
}

// Every pair of arena values whose lifetimes overlap (producer index to last
// reader index, inclusive) occupies disjoint bytes.
void expectSafe(const Graph &g, const MemoryPlan &p) {
  std::vector<size_t> def(g.values.size(), 0), last(g.values.size(), 0);
  for (size_t i = 0; i < g.ops.size(); ++i) {
    def[static_cast<size_t>(g.ops[i].output)] = i;
    last[static_cast<size_t>(g.ops[i].output)] = std::max(last[static_cast<size_t>(g.ops[i].output)], i);
    for (int in : g.ops[i].inputs) last[static_cast<size_t>(in)] = std::max(last[static_cast<size_t>(in)], i);
  }
  for (const Value &a : g.values) {
    const ValueSlot &sa = p.slots[static_cast<size_t>(a.id)];
    if (sa.kind != ValueSlot::Arena) continue;
    int64_t aEnd = sa.offset + numElements(a.shape) * g.maxBatch;
    EXPECT_EQ(sa.offset % MemoryPlan::kArenaAlignFloats, 0) << a.name;
    EXPECT_LE(aEnd, p.arenaFloats) << a.name;
    for (const Value &b : g.values) {
      const ValueSlot &sb = p.slots[static_cast<size_t>(b.id)];
      if (b.id <= a.id || sb.kind != ValueSlot::Arena) continue;
      size_t ai = static_cast<size_t>(a.id), bi = static_cast<size_t>(b.id);
      bool overlapInTime = def[ai] <= last[bi] && def[bi] <= last[ai];
      int64_t bEnd = sb.offset + numElements(b.shape) * g.maxBatch;
      bool overlapInSpace = sa.offset < bEnd && sb.offset < aEnd;
      EXPECT_FALSE(overlapInTime && overlapInSpace) << g.name << ": " << a.name << " and " << b.name;
    }
  }
}

TEST(MemoryPlan, ChainPingPongs) {
  // Four dense layers of 8 units at max_batch 4: each 32 floats, rounded to
  // the 16-float alignment: 32. d1 -> d2 -> d3 -> out: d1 [0, 32), d2 [32,
  // 64), d3 reuses d1's place (d1's last reader, d2, ran before d3).
  Graph g = fromText(R"({"nncc": 1, "name": "chain", "max_batch": 4, "inputs": [{"name": "x", "shape": [3]}],
    "layers": [{"name": "d1", "type": "dense", "units": 8}, {"name": "d2", "type": "dense", "units": 8},
               {"name": "d3", "type": "dense", "units": 8}, {"name": "out", "type": "dense", "units": 2}],
    "outputs": ["out"]})");
  MemoryPlan p = planMemory(g);
  const ValueSlot &d1 = p.slots[static_cast<size_t>(g.findValue("d1"))];
  const ValueSlot &d2 = p.slots[static_cast<size_t>(g.findValue("d2"))];
  const ValueSlot &d3 = p.slots[static_cast<size_t>(g.findValue("d3"))];
  EXPECT_EQ(d1.kind, ValueSlot::Arena);
  EXPECT_EQ(d1.offset, 0);
  EXPECT_EQ(d2.offset, 32);
  EXPECT_EQ(d3.offset, 0);
  EXPECT_EQ(p.arenaFloats, 64);
  EXPECT_EQ(p.naiveFloats, 96);
  EXPECT_EQ(p.slots[static_cast<size_t>(g.findValue("out"))].kind, ValueSlot::Output);
  EXPECT_EQ(p.slots[static_cast<size_t>(g.findValue("x"))].kind, ValueSlot::Input);
  // weights: 3*8+8 + 8*8+8 + 8*8+8 + 8*2+2 = 32 + 72 + 72 + 18 floats
  EXPECT_EQ(p.weightFloats, 194);
  expectSafe(g, p);
}

TEST(MemoryPlan, ResidualKeepsItsInputAlive) {
  // a -> b -> c, add(a, c): a stays live until the add, so c cannot take a's place.
  Graph g = fromText(R"({"nncc": 1, "name": "res", "max_batch": 2, "inputs": [{"name": "x", "shape": [16]}],
    "layers": [{"name": "a", "type": "dense", "units": 16}, {"name": "b", "type": "dense", "units": 16},
               {"name": "c", "type": "dense", "units": 16}, {"name": "s", "type": "add", "inputs": ["a", "c"]},
               {"name": "out", "type": "dense", "units": 1}],
    "outputs": ["out"]})");
  MemoryPlan p = planMemory(g);
  int64_t a = p.slots[static_cast<size_t>(g.findValue("a"))].offset;
  int64_t b = p.slots[static_cast<size_t>(g.findValue("b"))].offset;
  int64_t c = p.slots[static_cast<size_t>(g.findValue("c"))].offset;
  int64_t s = p.slots[static_cast<size_t>(g.findValue("s"))].offset;
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 32);
  EXPECT_EQ(c, 64);  // b is still being read while c is written; a is live
  EXPECT_EQ(s, 32);  // b's place is free again when s is written
  EXPECT_EQ(p.arenaFloats, 96);
  expectSafe(g, p);
}

TEST(MemoryPlan, AnOutputThatBecameAnInputIsCopied) {
  // The frontend refuses an input as an output, but a pass may make one (an
  // identity removed); the plan then copies the input into the output.
  Graph g = fromText(R"({"nncc": 1, "name": "cp", "inputs": [{"name": "x", "shape": [4]}],
    "layers": [{"name": "h", "type": "relu"}, {"name": "out", "type": "relu", "inputs": ["x"]}],
    "outputs": ["h", "out"]})");
  g.outputs[1] = g.findValue("x");
  MemoryPlan p = planMemory(g);
  EXPECT_EQ(p.slots[static_cast<size_t>(g.findValue("h"))].kind, ValueSlot::Output);
  EXPECT_EQ(p.slots[static_cast<size_t>(g.findValue("x"))].kind, ValueSlot::Input);
  ASSERT_EQ(p.copies.size(), 1u);
  EXPECT_EQ(p.copies[0].output, 1);
  EXPECT_EQ(p.copies[0].value, g.findValue("x"));
  EXPECT_EQ(p.arenaFloats, 4 * 64);  // "out", no longer an output, at the default max_batch 64
}

TEST(MemoryPlan, ExamplesAreSafeAndReuse) {
  for (const char *name : {"xor", "perceptron", "lenet5", "vgg_cifar", "resnet18", "inception_block", "segnet_tiny"}) {
    Graph g = load(std::string(NNCC_SOURCE_DIR) + "/examples/" + name + ".json");
    for (int level : {0, 2}) {
      Graph h = g;
      Diagnostics diags;
      PassOptions po;
      ASSERT_TRUE(buildInferencePipeline(level).run(h, diags, po));
      MemoryPlan p = planMemory(h);
      expectSafe(h, p);
      EXPECT_LE(p.arenaFloats, p.naiveFloats) << name;
    }
  }
}

}  // namespace
}  // namespace nncc
