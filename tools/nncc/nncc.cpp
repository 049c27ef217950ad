// nncc: the compiler driver. Reads a model, reports every problem with its
// place in the model, and writes the requested output atomically.
#include "compiler/ir/Printer.h"
#include "compiler/passes/Pass.h"
#include "runtime/AtomicFile.h"
#include "compiler/weights/WeightBinding.h"
#include "frontend/JsonReader.h"
#include "frontend/ModelParser.h"
#include "tools/nncc/Options.h"

#include <exception>
#include <iostream>
#include <sstream>

using namespace nncc;

namespace {

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
  if (opts.emit != "ir" && opts.emit != "ir-opt") {
    std::cerr << "nncc: error: output kind '" << opts.emit
              << "' needs code generation, which this version of nncc does not have yet; use --emit=ir\n";
    return 1;
  }
  Diagnostics diags;
  std::optional<Graph> g = loadModel(opts.input, diags);
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
    TensorMap values;
    if (!weights.empty()) loadWeightsForGraph(*g, weights, opts.partialWeights, values, diags);
  }
  if (g && !diags.hasErrors() && opts.emit == "ir-opt") {
    PassOptions po;
    po.printAfterAll = opts.printAfterAll;
    po.timePasses = opts.timePasses;
    po.log = &std::cerr;
    if (!buildInferencePipeline(opts.optLevel).run(*g, diags, po)) {
      diags.print(std::cerr);
      return 2;  // a pass failed the verifier: an internal error
    }
  }
  diags.print(std::cerr);
  if (diags.hasErrors()) return 1;

  std::ostringstream text;
  printGraph(*g, text);
  if (opts.output.empty() || opts.output == "-") {
    std::cout << text.str();
    return 0;
  }
  if (!writeFileAtomically(opts.output, text.str(), error)) {
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
