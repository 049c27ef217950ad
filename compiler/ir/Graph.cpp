// Graph, Value and Op helpers.
#include "compiler/ir/Graph.h"

#include <cstdint>
#include <stdexcept>

namespace nncc {

int64_t storedElements(const Value &v) {
  if (v.border <= 0 || v.shape.size() != 3) return numElements(v.shape);
  return numElements({v.shape[0], v.shape[1] + 2 * v.border, v.shape[2] + 2 * v.border});
}

int64_t numElements(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d > 0 && n > INT64_MAX / d) return INT64_MAX;  // saturate: never overflow
    n *= d;
  }
  return n;
}

std::string shapeStr(const Shape &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

const Attr &Op::attr(const std::string &n) const {
  auto it = attrs.find(n);
  if (it == attrs.end()) throw std::logic_error("op '" + name + "' has no attribute '" + n + "'");
  return it->second;
}

const char *lossKindName(LossKind k) {
  switch (k) {
    case LossKind::SoftmaxCrossEntropy: return "softmax_cross_entropy";
    case LossKind::CrossEntropy: return "cross_entropy";
    case LossKind::BinaryCrossEntropy: return "binary_cross_entropy";
    case LossKind::Mse: return "mse";
  }
  return "?";
}

int Graph::addValue(const std::string &n, int producer) {
  Value v;
  v.id = static_cast<int>(values.size());
  v.name = n;
  v.producer = producer;
  values.push_back(v);
  return v.id;
}

int Graph::findValue(const std::string &n) const {
  for (const auto &v : values)
    if (v.name == n) return v.id;
  return -1;
}

const Param *Graph::findParam(const std::string &n) const {
  for (const auto &p : params)
    if (p.name == n) return &p;
  return nullptr;
}

int64_t Graph::numTrainable() const {
  int64_t n = 0;
  for (const auto &p : params)
    if (p.trainable) n += numElements(p.shape);
  return n;
}

int64_t Graph::numBuffers() const {
  int64_t n = 0;
  for (const auto &p : params)
    if (!p.trainable) n += numElements(p.shape);
  return n;
}

}  // namespace nncc
