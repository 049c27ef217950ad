// The op registry: for every OpKind, its name, how many inputs it takes, its
// attribute schema (names, types, defaults, ranges) and its parameters. The
// frontend parses attributes from this table; the printer prints in its order.
#pragma once
#include "compiler/ir/Attr.h"

#include <optional>
#include <string>
#include <vector>

namespace nncc {

enum class OpKind : int {
#define NNCC_OP(e, s) e,
#include "compiler/ir/Ops.def"
#undef NNCC_OP
};

struct AttrSchema {
  std::string name;
  AttrType type;
  bool required = false;
  Attr defaultValue{};      // used when not required and absent
  double min = -1e300;      // inclusive lower bound (Int, Float, each Pair entry, Padding entries)
  double max = 1e300;       // upper bound
  bool maxExclusive = false;
  bool minExclusive = false;
  bool allowSame = true;          // Padding: whether "same" is accepted
  const char *defaultFrom = nullptr;  // absent: copy this attribute (pool stride = size)
};

enum class ParamRole { Weight, Bias, BNWeight, BNBias, RunningMean, RunningVar };

struct OpInfo {
  OpKind kind;
  const char *name;       // the JSON "type"
  int minInputs;
  int maxInputs;          // -1: unbounded
  bool isActivation;      // usable as a fused `activation`
  bool hasParams;         // dense, conv2d, conv2d_transpose, batchnorm
  bool isLayerType;       // false for ops the frontend inserts (preprocess)
  std::vector<AttrSchema> attrs;
};

const OpInfo &opInfo(OpKind kind);
const char *opName(OpKind kind);
std::optional<OpKind> opKindFromName(const std::string &name);
const std::vector<OpInfo> &allOps();

const char *paramRoleSuffix(ParamRole r);  // "weight", "bias", "running_mean", ...

}  // namespace nncc
