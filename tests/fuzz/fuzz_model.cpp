// libFuzzer target: model JSON bytes -> parseModelJson -> inferShapes ->
// verifyGraph -> printGraph. Any crash, hang, leak or sanitizer report is a
// bug; a bad model must only produce diagnostics. See docs/fuzzing.md.
#include "compiler/ir/Diagnostics.h"
#include "compiler/ir/Printer.h"
#include "compiler/ir/ShapeInference.h"
#include "compiler/ir/Verifier.h"
#include "frontend/ModelParser.h"

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <streambuf>
#include <string>

namespace {
class NullBuf : public std::streambuf {
protected:
  int overflow(int c) override { return traits_type::not_eof(c); }
  std::streamsize xsputn(const char *, std::streamsize n) override { return n; }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  nncc::Diagnostics diags;
  std::optional<nncc::Graph> g = nncc::parseModelJson(text, "fuzz.json", ".", diags);
  if (!g) return 0;
  if (!nncc::inferShapes(*g, diags)) return 0;
  if (!nncc::verifyGraph(*g, diags)) return 0;
  NullBuf buf;
  std::ostream os(&buf);
  nncc::printGraph(*g, os);
  return 0;
}
