// nncc: the compiler driver. Reads a model, reports every problem with its
// place in the model, runs the passes, and writes the requested output
// atomically (an object with its header beside it, LLVM IR, assembly, a
// header, or the IR as text). Nothing is written when anything fails.
#include "compiler/emit/Emitter.h"
#include "compiler/emit/HeaderWriter.h"
#include "compiler/ir/Printer.h"
#include "compiler/passes/Autodiff.h"
#include "compiler/passes/MemoryPlan.h"
#include "compiler/passes/Pass.h"
#include "compiler/weights/WeightBinding.h"
#include "frontend/JsonReader.h"
#include "frontend/ModelParser.h"
#include "runtime/AtomicFile.h"
#include "tools/nncc/Options.h"

#include <cstdio>
#include <exception>
#include <iostream>
#include <sstream>

using namespace nncc;

namespace {

bool needsCode(const std::string &emit) {
  return emit == "obj" || emit == "lib" || emit == "cpp" || emit == "llvm" || emit == "asm";
}

// "dir/model.o" -> "dir/model.h"; a library's "dir/libmodel.a" -> "dir/model.h".
std::string headerBeside(const std::string &path) {
  size_t slash = path.find_last_of('/');
  size_t dot = path.find_last_of('.');
  size_t base = slash == std::string::npos ? 0 : slash + 1;
  std::string dir = path.substr(0, base);
  std::string stem = (dot == std::string::npos || dot < base) ? path.substr(base) : path.substr(base, dot - base);
  bool library = dot != std::string::npos && path.compare(dot, std::string::npos, ".a") == 0;
  if (library && stem.size() > 3 && stem.compare(0, 3, "lib") == 0) stem = stem.substr(3);
  return dir + stem + ".h";
}

// The outputs of one run, written only once all of them exist.
struct Outputs {
  std::vector<std::pair<std::string, std::string>> files;  // path, bytes

  bool write(std::string &error) const {
    for (size_t i = 0; i < files.size(); ++i) {
      if (!writeFileAtomically(files[i].first, files[i].second, error)) {
        for (size_t k = 0; k < i; ++k) std::remove(files[k].first.c_str());
        return false;
      }
    }
    return true;
  }
};

int run(const std::vector<std::string> &args) {
  DriverOptions opts;
  std::string error;
  if (!parseDriverOptions(args, opts, error)) {
    std::cerr << "nncc: error: " << error << "\n";
    return 1;
  }
  if (opts.help) {
    std::cout << driverUsage();
    return 0;
  }
  if (opts.version) {
    std::cout << "nncc version " << NNCC_VERSION << " (model format 1)\n";
    return 0;
  }
  if ((needsCode(opts.emit) || opts.emit == "header") && opts.output.empty()) {
    std::cerr << "nncc: error: --emit=" << opts.emit << " needs -o FILE\n";
    return 1;
  }
  Diagnostics diags;
  std::optional<Graph> g = loadModel(opts.input, diags);
  TensorMap values;
  if (g) {
    if (opts.maxBatch) g->maxBatch = *opts.maxBatch;
    if (!opts.name.empty()) {
      if (!isCIdentifier(opts.name) || isReservedCName(opts.name))
        diags.error(Location("nncc", "--name"), "'" + opts.name + "' is not a usable C identifier");
      else
        g->name = opts.name;
    }
    // A weights file is checked against the model even for --emit=ir; the
    // seeded initializers only run when code generation needs the values.
    std::string weights = opts.weights.empty() ? g->weightsPath : opts.weights;
    // Before anything is allocated: the bytes the parameters and the
    // activations at max_batch need, against --max-memory.
    if ((!weights.empty() || needsCode(opts.emit)) && checkMemoryLimit(*g, opts.maxMemory, diags))
      loadWeightsForGraph(*g, weights, opts.partialWeights, values, diags, opts.strict);
  }
  // Training entry points: every op on a path to a loss needs a gradient
  // rule. Checked on the graph as written, before the inference passes
  // (which remove dropout, for one).
  bool training = g && g->training && !opts.inferenceOnly;
  if (training && !diags.hasErrors() && (opts.emit == "backward" || needsCode(opts.emit))) {
    BackwardProgram bp;
    buildBackward(*g, bp, diags);
  }
  if (g && !diags.hasErrors() && (opts.emit == "ir-opt" || opts.emit == "plan" || opts.emit == "backward" || needsCode(opts.emit))) {
    PassOptions po;
    po.printAfterAll = opts.printAfterAll;
    po.timePasses = opts.timePasses;
    po.log = &std::cerr;
    PassManager pipeline = buildInferencePipeline(opts.optLevel, training);
    for (const std::string &name : opts.disabledPasses) {
      if (!pipeline.has(name)) {
        std::cerr << "nncc: error: --disable-pass: no pass '" << name << "' in the -O" << opts.optLevel
                  << (training ? " training" : "") << " pipeline (see --print-after-all for the names)\n";
        return 1;
      }
      po.disabled.insert(name);
    }
    if (!pipeline.run(*g, diags, po)) {
      diags.print(std::cerr);
      return 2;  // a pass failed the verifier: an internal error
    }
  }
  diags.print(std::cerr);
  if (diags.hasErrors()) return 1;

  Outputs out;
  if (opts.emit == "ir" || opts.emit == "ir-opt" || opts.emit == "plan" || opts.emit == "backward") {
    std::ostringstream text;
    if (opts.emit == "plan") {
      text << printMemoryPlan(*g, planMemory(*g));
    } else if (opts.emit == "backward") {
      if (!training) {
        std::cerr << "nncc: --emit=backward needs a model with a \"training\" section (and no --inference-only)\n";
        return 1;
      }
      BackwardProgram bp;
      buildBackward(*g, bp, diags);
      text << printBackward(*g, bp);
    } else
      printGraph(*g, text);
    if (opts.output.empty() || opts.output == "-") {
      std::cout << text.str();
      return 0;
    }
    out.files.emplace_back(opts.output, text.str());
  } else if (opts.emit == "header") {
    out.files.emplace_back(opts.output, writeHeader(*g, !opts.inferenceOnly));
  } else {
    EmitOptions eo;
    eo.target = opts.target;
    eo.training = !opts.inferenceOnly;
    eo.schedule = opts.schedule;
    eo.winograd = opts.convAlgorithm != "direct";
    eo.autotune = opts.autotune;
    eo.tuneCache = opts.tuneCache;
    eo.jobs = opts.jobs;
    eo.timePhases = opts.timePasses;
    eo.log = &std::cerr;
    int64_t packedBytes = -1;
    eo.packedWeightBytes = &packedBytes;
    eo.kind = opts.emit == "obj"   ? OutputKind::Object
              : opts.emit == "lib" ? OutputKind::StaticLibrary
              : opts.emit == "cpp" ? OutputKind::CppSource
              : opts.emit == "asm" ? OutputKind::Assembly
                                   : OutputKind::LLVMIR;
    std::string bytes;
    if (!emitModel(*g, values, eo, bytes, error)) {
      bool userError = error.rfind("target ", 0) == 0 || error.rfind("unknown target", 0) == 0 ||
                       error.rfind("autotune cache ", 0) == 0;
      std::cerr << "nncc: " << (userError ? "error: " : "internal error: ") << error << "\n";
      return userError ? 1 : 2;
    }
    out.files.emplace_back(opts.output, bytes);
    if (opts.emit == "obj" || opts.emit == "lib" || opts.emit == "cpp")
      out.files.emplace_back(headerBeside(opts.output), writeHeader(*g, !opts.inferenceOnly, packedBytes));
  }
  if (!out.write(error)) {
    std::cerr << "nncc: error: " << error << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception &e) {
    std::cerr << "nncc: internal error: " << e.what() << "\n";
    return 2;
  }
}
