// Parsing the nncc command line: GNU/LLVM style, "--opt=value" or "--opt value".
#include "tools/nncc/Options.h"

#include <cstdlib>

namespace nncc {

const char *driverUsage() {
  return "usage: nncc MODEL.json [options]\n"
         "\n"
         "  -o FILE                output file; its extension picks the output type\n"
         "  --emit=KIND            ir: the graph IR after shape inference (to stdout or -o)\n"
         "                         ir-opt: the IR after the optimizer's passes (see -O)\n"
         "                         plan: the memory plan of the optimized IR (arena offsets)\n"
         "                         backward: the backward program autodiff builds (training)\n"
         "                         llvm, asm: LLVM IR or assembly of the object (with -o)\n"
         "                         header: the C/C++ header alone (with -o)\n"
         "  --weights FILE         safetensors weights (overrides the model's \"weights\")\n"
         "  --partial-weights      accept a weights file that lacks some parameters\n"
         "  --inference-only       omit the training entry points\n"
         "  --max-batch N          largest batch the compiled library accepts\n"
         "  --target T             Halide target string (default host)\n"
         "  --schedule=S           manual: nncc's schedules (default); auto: Halide's Mullapudi2016\n"
         "                         autoscheduler for the inference kernels, for comparison\n"
         "  --conv-algorithm=A     auto: the Winograd kernel for the 3x3 stride-1 convs it applies\n"
         "                         to (default); direct: the direct kernels only (docs/schedules.md)\n"
         "  --autotune             time a few schedules of each distinct conv layer on this machine\n"
         "                         and keep the fastest, cached for later compiles (docs/schedules.md)\n"
         "  --tune-cache FILE      the autotune cache (default $NNCC_TUNE_CACHE, else\n"
         "                         ~/.cache/nncc/autotune.json); without --autotune: use its choices\n"
         "  -O0 | -O1 | -O2        optimization level (default -O2): -O0 no passes, -O1 dropout\n"
         "                         removal and dead-value elimination, -O2 also fusion\n"
         "  --disable-pass NAME    skip pass NAME of the -O pipeline (e.g. assign-layouts); repeatable\n"
         "  --print-after-all      print the IR after each pass to stderr\n"
         "  --time-passes          print the time each pass and each emission phase took\n"
         "  -j N, --jobs N         generate the kernels' LLVM code on N threads (default: the\n"
         "                         online CPUs); the output is the same for every N\n"
         "  --name NAME            symbol prefix (default: the model's name)\n"
         "  --max-memory BYTES     refuse a model whose parameters and activations at max_batch\n"
         "                         need more (default 4G; suffixes K, M, G, T)\n"
         "  --strict               NaN or infinite weights are an error, not a warning\n"
         "  --version, --help\n"
         "\n"
         "Exit status: 0 success, 1 bad model or option, 2 internal error.\n";
}

bool parseByteSize(const std::string &text, uint64_t &bytes) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    unsigned d = static_cast<unsigned>(text[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
    ++i;
  }
  if (i == 0) return false;
  std::string unit = text.substr(i);
  int shift = 0;
  if (!unit.empty()) {
    switch (unit[0]) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      case 'b': case 'B': shift = 0; break;
      default: return false;
    }
    std::string rest = unit.substr(1);
    bool ok = rest.empty() || (shift && (rest == "B" || rest == "iB" || rest == "b")) ||
              (!shift && unit.size() == 1);
    if (!ok) return false;
  }
  if (shift && v > (UINT64_MAX >> shift)) return false;
  v <<= shift;
  if (v == 0) return false;
  bytes = v;
  return true;
}

bool parseDriverOptions(const std::vector<std::string> &args, DriverOptions &o, std::string &error) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string value;
    bool hasValue = false;
    if (a.rfind("--", 0) == 0) {
      size_t eq = a.find('=');
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        hasValue = true;
      }
    }
    auto take = [&](std::string &out) {
      if (hasValue) {
        out = value;
        return true;
      }
      if (i + 1 >= args.size()) {
        error = "option '" + a + "' needs a value";
        return false;
      }
      out = args[++i];
      return true;
    };
    if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "-o") {
      if (!take(o.output)) return false;
    } else if (a == "--emit") {
      if (!take(o.emit)) return false;
      static const char *kinds[] = {"ir", "ir-opt", "plan", "backward", "llvm", "asm", "header"};
      bool known = false;
      for (const char *k : kinds) known |= o.emit == k;
      if (!known) {
        error = "unknown --emit kind '" + o.emit + "' (expected ir, ir-opt, plan, backward, llvm, asm or header)";
        return false;
      }
    } else if (a == "--weights") {
      if (!take(o.weights)) return false;
    } else if (a == "--partial-weights") {
      o.partialWeights = true;
    } else if (a == "--inference-only") {
      o.inferenceOnly = true;
    } else if (a == "--max-batch") {
      std::string v;
      if (!take(v)) return false;
      char *end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || n < 1 || n > (1 << 20)) {
        error = "--max-batch must be an integer in [1, 1048576], found '" + v + "'";
        return false;
      }
      o.maxBatch = n;
    } else if (a == "--target") {
      if (!take(o.target)) return false;
    } else if (a == "--schedule") {
      if (!take(o.schedule)) return false;
      if (o.schedule != "manual" && o.schedule != "auto") {
        error = "unknown --schedule '" + o.schedule + "' (expected manual or auto)";
        return false;
      }
    } else if (a == "--conv-algorithm") {
      if (!take(o.convAlgorithm)) return false;
      if (o.convAlgorithm != "auto" && o.convAlgorithm != "direct") {
        error = "unknown --conv-algorithm '" + o.convAlgorithm + "' (expected auto or direct)";
        return false;
      }
    } else if (a == "--autotune") {
      o.autotune = true;
    } else if (a == "--tune-cache") {
      if (!take(o.tuneCache)) return false;
      if (o.tuneCache.empty()) {
        error = "--tune-cache needs a file name";
        return false;
      }
    } else if (a == "-O0" || a == "-O1" || a == "-O2") {
      o.optLevel = a[2] - '0';
    } else if (a == "--disable-pass") {
      std::string v;
      if (!take(v)) return false;
      o.disabledPasses.push_back(v);
    } else if (a == "--print-after-all") {
      o.printAfterAll = true;
    } else if (a == "--time-passes") {
      o.timePasses = true;
    } else if (a == "-j" || a.rfind("-j", 0) == 0 || a == "--jobs") {
      std::string v;
      if (a.size() > 2 && a[1] == 'j') v = a.substr(2);  // -j4
      else if (!take(v)) return false;
      char *end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || v[0] == '-' || v[0] == '+' || n < 1 || n > 1024) {
        error = "-j/--jobs must be an integer in [1, 1024], found '" + v + "'";
        return false;
      }
      o.jobs = static_cast<unsigned>(n);
    } else if (a == "--name") {
      if (!take(o.name)) return false;
    } else if (a == "--max-memory") {
      std::string v;
      if (!take(v)) return false;
      if (!parseByteSize(v, o.maxMemory)) {
        error = "--max-memory must be a positive number of bytes, optionally with K, M, G or T (e.g. 512M, 2G), found '" +
                v + "'";
        return false;
      }
    } else if (a == "--strict") {
      o.strict = true;
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      error = "unknown option '" + args[i] + "' (see nncc --help)";
      return false;
    } else if (o.input.empty()) {
      o.input = a;
    } else {
      error = "more than one model file given ('" + o.input + "' and '" + a + "')";
      return false;
    }
  }
  if (o.help || o.version) return true;
  if (o.input.empty()) {
    error = "no model file given (see nncc --help)";
    return false;
  }
  if (o.emit.empty() && !o.output.empty()) {
    auto ends = [&](const char *ext) {
      std::string e(ext);
      return o.output.size() > e.size() && o.output.compare(o.output.size() - e.size(), e.size(), e) == 0;
    };
    if (ends(".o")) o.emit = "obj";
    else if (ends(".a")) o.emit = "lib";
    else if (ends(".cpp")) o.emit = "cpp";
    else if (ends(".ll")) o.emit = "llvm";
    else if (ends(".s")) o.emit = "asm";
    else if (ends(".h")) o.emit = "header";
    else {
      error = "cannot tell the output type from '" + o.output + "' (use .o, .a, .cpp, .ll, .s or .h, or --emit)";
      return false;
    }
  }
  if (o.emit.empty()) {
    error = "nothing to do: give -o FILE or --emit=ir";
    return false;
  }
  return true;
}

}  // namespace nncc
