// Attribute rendering and initializer names.
#include "compiler/ir/Attr.h"
#include "compiler/ir/OpRegistry.h"

#include <sstream>

namespace nncc {
namespace {
const char *const kInitNames[] = {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "truncated_normal",
                                  "normal", "uniform", "zeros", "ones"};

std::string num(double v) {
  std::ostringstream os;
  os.precision(9);
  os << v;
  return os.str();
}

template <typename T, typename F>
std::string list(const std::vector<T> &v, F f) {
  std::string r = "[";
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + f(v[i]);
  return r + "]";
}
}  // namespace

const char *initKindName(InitKind k) { return kInitNames[static_cast<int>(k)]; }

bool parseInitKind(const std::string &name, InitKind &out) {
  for (int i = 0; i < static_cast<int>(sizeof(kInitNames) / sizeof(kInitNames[0])); ++i) {
    if (name == kInitNames[i]) {
      out = static_cast<InitKind>(i);
      return true;
    }
  }
  return false;
}

std::string Attr::str() const {
  switch (type) {
    case AttrType::Int: return std::to_string(i);
    case AttrType::Float: return num(f);
    case AttrType::Bool: return b ? "true" : "false";
    case AttrType::Pair:
    case AttrType::IntList: return list(ints, [](int64_t x) { return std::to_string(x); });
    case AttrType::Padding:
      return same ? std::string("same") : list(ints, [](int64_t x) { return std::to_string(x); });
    case AttrType::FloatList: return list(floats, num);
    case AttrType::Activation: {
      if (!hasActivation) return "none";
      std::string s = opName(act.kind);
      if (act.kind == OpKind::LeakyRelu || act.kind == OpKind::Elu) s += "(alpha=" + num(act.alpha) + ")";
      if ((act.kind == OpKind::Softmax || act.kind == OpKind::LogSoftmax) && act.axis != 0)
        s += "(axis=" + std::to_string(act.axis) + ")";
      return s;
    }
  }
  return "?";
}

}  // namespace nncc
