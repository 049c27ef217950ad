// Parsing op attributes from JSON by the op registry's schema, and the two
// structured attribute forms: fused activations and initializers.
#pragma once
#include "compiler/ir/OpRegistry.h"
#include "frontend/JsonReader.h"

namespace nncc {

// Reads every attribute of `info` from `r` into `out`, applying defaults.
// Returns false if any attribute was bad (each problem is reported).
bool parseAttrs(const OpInfo &info, ObjectReader &r, AttrMap &out);

// An initializer: "he_normal" or {"type": "normal", "stddev": 0.01}.
std::optional<InitSpec> parseInit(const json &j, const Location &loc, Diagnostics &diags);

}  // namespace nncc
