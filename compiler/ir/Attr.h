// Attributes of IR ops: a small tagged value (int, float, bool, int list,
// padding, fused activation, initializer) and the ordered map an op keeps.
// The frontend normalizes every attribute: pairs are always [h, w], padding
// always [t, l, b, r] once shape inference has resolved "same".
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nncc {

enum class OpKind : int;

enum class AttrType {
  Int,         // 3
  Float,       // 0.5
  Bool,        // true
  Pair,        // 3 or [3, 3], kept as [h, w]
  Padding,     // "valid" | "same" | p | [ph, pw] | [t, l, b, r], kept as [t, l, b, r]
  Activation,  // "relu" | {"type": "leaky_relu", "alpha": 0.2}
  IntList,     // a reshape target, may hold one -1
  FloatList,   // preprocess mean/std, one value or one per channel
};

// The initializers of the spec (model-format.md, "Parameters and weights files").
enum class InitKind {
  GlorotUniform, GlorotNormal, HeUniform, HeNormal, TruncatedNormal, Normal, Uniform, Zeros, Ones,
};

struct InitSpec {
  InitKind kind = InitKind::GlorotUniform;
  double mean = 0.0;
  double stddev = 0.05;
  double low = -0.05;
  double high = 0.05;
};

const char *initKindName(InitKind k);
bool parseInitKind(const std::string &name, InitKind &out);

struct Activation {
  OpKind kind;           // one of the element-wise activation ops (or softmax/log_softmax)
  double alpha = 0.0;    // leaky_relu, elu
  int64_t axis = 0;      // softmax, log_softmax
};

struct Attr {
  AttrType type = AttrType::Int;
  int64_t i = 0;
  double f = 0.0;
  bool b = false;
  std::vector<int64_t> ints;  // Pair [h,w], Padding [t,l,b,r], IntList
  std::vector<double> floats; // FloatList
  bool same = false;          // Padding: "same", resolved by shape inference
  bool hasActivation = false; // Activation: false means none
  Activation act{};

  static Attr makeInt(int64_t v) { Attr a; a.type = AttrType::Int; a.i = v; return a; }
  static Attr makeFloat(double v) { Attr a; a.type = AttrType::Float; a.f = v; return a; }
  static Attr makeBool(bool v) { Attr a; a.type = AttrType::Bool; a.b = v; return a; }
  static Attr makePair(int64_t h, int64_t w) { Attr a; a.type = AttrType::Pair; a.ints = {h, w}; return a; }
  static Attr makePadding(int64_t t, int64_t l, int64_t b, int64_t r) {
    Attr a; a.type = AttrType::Padding; a.ints = {t, l, b, r}; return a;
  }
  static Attr makeSame() { Attr a; a.type = AttrType::Padding; a.same = true; return a; }
  static Attr makeNoActivation() { Attr a; a.type = AttrType::Activation; return a; }
  static Attr makeIntList(std::vector<int64_t> v) { Attr a; a.type = AttrType::IntList; a.ints = std::move(v); return a; }
  static Attr makeFloatList(std::vector<double> v) { Attr a; a.type = AttrType::FloatList; a.floats = std::move(v); return a; }

  // The attribute as the IR printer writes it ("[1, 1]", "relu", "leaky_relu(alpha=0.2)").
  std::string str() const;
};

using AttrMap = std::map<std::string, Attr>;

}  // namespace nncc
