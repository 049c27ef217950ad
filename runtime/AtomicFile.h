// Writing output files atomically: the bytes go to a temporary file in the
// destination's folder, which is renamed over the destination only when
// complete, so a failed or killed run never leaves a partial file.
#pragma once
#include <string>

namespace nncc {

// Returns false and sets `error` on failure; nothing is left behind then.
// The file is written unnamed (O_TMPFILE) where the file system allows, then
// linked as atomicTempTemplate(path) and renamed onto `path`; a process killed
// in between these two steps can leave only that hidden name (docs/reliability.md).
bool writeFileAtomically(const std::string &path, const std::string &bytes, std::string &error);

// "dir/model.o" -> "dir/.model.o.nncc-tmp-XXXXXX", the name of the temporary
// file (mkstemp template).
std::string atomicTempTemplate(const std::string &path);

}  // namespace nncc
