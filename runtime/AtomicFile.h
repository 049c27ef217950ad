// Writing output files atomically: the bytes go to a temporary file in the
// destination's folder, which is renamed over the destination only when
// complete, so a failed or killed run never leaves a partial file.
#pragma once
#include <string>

namespace nncc {

// Returns false and sets `error` on failure; nothing is left behind then.
bool writeFileAtomically(const std::string &path, const std::string &bytes, std::string &error);

}  // namespace nncc
