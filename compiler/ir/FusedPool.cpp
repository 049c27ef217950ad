// The fused pool as an op and as text (see FusedPool.h).
#include "compiler/ir/FusedPool.h"

#include "compiler/ir/OpRegistry.h"

#include <sstream>

namespace nncc {

Op fusedPoolOp(const Op &op) {
  Op pool;
  pool.kind = op.fused.poolKind;
  pool.name = op.name;
  pool.loc = op.loc;
  pool.output = op.output;
  pool.attrs = op.fused.poolAttrs;
  return pool;
}

std::string fusedPoolStr(const Op &op) {
  if (!op.fused.pool) return "";
  std::ostringstream os;
  os << " +" << opName(op.fused.poolKind) << "(";
  bool first = true;
  for (const auto &s : opInfo(op.fused.poolKind).attrs) {
    auto it = op.fused.poolAttrs.find(s.name);
    if (it == op.fused.poolAttrs.end()) continue;
    os << (first ? "" : ", ") << s.name << "=" << it->second.str();
    first = false;
  }
  os << ")";
  return os.str();
}

}  // namespace nncc
