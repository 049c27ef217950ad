// nncc-run: runs a model with the reference interpreter on inputs read from
// NPY files and writes each output as DIR/<output name>.npy (float32), or
// prints it. The oracle as a command, for tests and for checking a compiled
// network against the model it came from.
#include "compiler/passes/Pass.h"
#include "compiler/reference/Interpreter.h"
#include "compiler/weights/WeightBinding.h"
#include "frontend/ModelParser.h"
#include "runtime/Npy.h"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <system_error>
#include <vector>

using namespace nncc;

namespace {

const char kUsage[] =
    "usage: nncc-run MODEL.json [options]\n"
    "\n"
    "Runs MODEL.json with the reference interpreter (inference mode) and writes\n"
    "every output of the model as DIR/<output name>.npy (float32).\n"
    "\n"
    "options:\n"
    "  --input NAME=FILE.npy  the value of input NAME: float32, shape [N, ...] with\n"
    "                         N >= 1, or the per-sample shape alone (N = 1); one per input\n"
    "  --output-dir DIR       where the outputs go (created if missing)\n"
    "  --weights FILE         a safetensors file (overrides the model's \"weights\");\n"
    "                         without one, every parameter is initialized from the seed\n"
    "  --partial-weights      accept a weights file that lacks some parameters\n"
    "  --print                print each output's values to stdout (\"%.6g\", one line per sample)\n"
    "  -O0 | -O1 | -O2        run the optimizer's inference passes first (default -O0:\n"
    "                         the model as written); for testing that passes keep results\n"
    "  --help                 show this help\n"
    "\n"
    "Exit status: 0 on success, 1 for bad usage, model or input, 2 for an internal error.\n";

struct RunOptions {
  std::string model;
  std::string weights;
  bool partialWeights = false;
  std::vector<std::pair<std::string, std::string>> inputs;  // NAME, FILE in command-line order
  std::string outputDir;
  bool print = false;
  bool help = false;
  int optLevel = 0;
};

// A usage or input problem: one line on stderr, exit status 1.
struct UserError {
  std::string message;
};

RunOptions parseArgs(const std::vector<std::string> &args) {
  RunOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string &a = args[i];
    // "--opt VALUE" or "--opt=VALUE".
    auto value = [&](const std::string &opt, std::string &out) {
      if (a == opt) {
        if (i + 1 >= args.size()) throw UserError{opt + " needs a value"};
        out = args[++i];
        return true;
      }
      if (a.compare(0, opt.size() + 1, opt + "=") == 0) {
        out = a.substr(opt.size() + 1);
        return true;
      }
      return false;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--partial-weights") {
      o.partialWeights = true;
    } else if (a == "--print") {
      o.print = true;
    } else if (a == "-O0" || a == "-O1" || a == "-O2") {
      o.optLevel = a[2] - '0';
    } else if (value("--weights", v)) {
      if (v.empty()) throw UserError{"--weights needs a file name"};
      o.weights = v;
    } else if (value("--output-dir", v)) {
      if (v.empty()) throw UserError{"--output-dir needs a folder name"};
      o.outputDir = v;
    } else if (value("--input", v)) {
      size_t eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
        throw UserError{"--input expects NAME=FILE.npy, got '" + v + "'"};
      o.inputs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (a.size() > 1 && a[0] == '-') {
      throw UserError{"unknown option '" + a + "' (see --help)"};
    } else if (o.model.empty()) {
      o.model = a;
    } else {
      throw UserError{"more than one model given ('" + o.model + "' and '" + a + "')"};
    }
  }
  if (o.help) return o;
  if (o.model.empty()) throw UserError{"no model given (see --help)"};
  if (o.outputDir.empty() && !o.print) throw UserError{"no --output-dir given (or use --print)"};
  return o;
}

// The model's inputs from the --input options, in the model's input order.
std::vector<TensorF32> readInputs(const Graph &g, const RunOptions &o) {
  std::map<std::string, size_t> byName;  // model input name -> position
  std::string names;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    byName[g.value(g.inputs[i]).name] = i;
    names += (i ? ", '" : "'") + g.value(g.inputs[i]).name + "'";
  }
  std::vector<TensorF32> inputs(g.inputs.size());
  std::vector<bool> given(g.inputs.size(), false);
  int64_t batch = 0;
  std::string batchFrom;
  for (const auto &[name, file] : o.inputs) {
    auto it = byName.find(name);
    if (it == byName.end()) throw UserError{"--input " + name + ": the model has no input '" + name + "' (its inputs: " + names + ")"};
    if (given[it->second]) throw UserError{"--input " + name + ": input '" + name + "' is given twice"};
    given[it->second] = true;
    NpyArray a;
    std::string error;
    if (!readNpy(file, a, error)) throw UserError{"--input " + name + ": " + error};
    if (a.dtype != NpyDType::Float32)
      throw UserError{"--input " + name + ": " + file + " holds " + npyDTypeName(a.dtype) + ", expected float32"};
    const Shape &sample = g.value(g.inputs[it->second]).shape;
    Shape shape = a.shape;
    if (shape == sample) shape.insert(shape.begin(), 1);  // no batch axis: one sample
    if (shape.size() != sample.size() + 1 || shape[0] < 1 || Shape(shape.begin() + 1, shape.end()) != sample)
      throw UserError{"--input " + name + ": " + file + " has shape " + npyShapeStr(a.shape) + ", expected [N, " +
                      shapeStr(sample).substr(1) + " with N >= 1, or " + shapeStr(sample)};
    if (batch == 0) {
      batch = shape[0];
      batchFrom = name;
    } else if (shape[0] != batch) {
      throw UserError{"--input " + name + ": batch " + std::to_string(shape[0]) + " differs from input '" + batchFrom +
                      "' (batch " + std::to_string(batch) + ")"};
    }
    inputs[it->second] = TensorF32{shape, std::move(a.f32)};
  }
  for (size_t i = 0; i < given.size(); ++i)
    if (!given[i]) {
      const std::string &n = g.value(g.inputs[i]).name;
      throw UserError{"missing input '" + n + "' (give --input " + n + "=FILE.npy)"};
    }
  return inputs;
}

void printOutput(const std::string &name, const TensorF32 &t) {
  std::cout << name << ": " << shapeStr(t.shape) << "\n";
  int64_t perSample = t.shape[0] > 0 ? numElements(t.shape) / t.shape[0] : 0;
  for (int64_t n = 0; n < t.shape[0]; ++n) {
    for (int64_t k = 0; k < perSample; ++k) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6g", double(t.data[static_cast<size_t>(n * perSample + k)]));
      std::cout << (k ? " " : "") << buf;
    }
    std::cout << "\n";
  }
}

// Writes every output; when one write fails, removes the ones this run wrote.
void writeOutputs(const Graph &g, const std::vector<TensorF32> &outputs, const std::string &dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir))
    throw UserError{"cannot create the output folder '" + dir + "'" + (ec ? ": " + ec.message() : "")};
  std::vector<std::string> written;
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::string path = (std::filesystem::path(dir) / (g.value(g.outputs[i]).name + ".npy")).string();
    std::string error;
    if (!writeNpy(path, NpyArray::float32(outputs[i].shape, outputs[i].data), error)) {
      for (const std::string &p : written) std::remove(p.c_str());
      throw UserError{error};
    }
    written.push_back(path);
  }
}

int run(const std::vector<std::string> &args) {
  RunOptions o = parseArgs(args);
  if (o.help) {
    std::cout << kUsage;
    return 0;
  }
  Diagnostics diags;
  std::optional<Graph> g = loadModel(o.model, diags);
  if (!g) {
    diags.print(std::cerr);
    return 1;
  }
  TensorMap params;
  std::string weights = o.weights.empty() ? g->weightsPath : o.weights;
  if (!loadWeightsForGraph(*g, weights, o.partialWeights, params, diags) || diags.hasErrors()) {
    diags.print(std::cerr);
    return 1;
  }
  if (!buildInferencePipeline(o.optLevel).run(*g, diags, PassOptions{})) {
    diags.print(std::cerr);
    return 2;
  }
  diags.print(std::cerr);  // warnings
  std::vector<TensorF32> inputs = readInputs(*g, o);
  std::vector<TensorF32> outputs;
  std::string error;
  if (!runReference(*g, params, inputs, outputs, error)) {
    std::cerr << "nncc-run: internal error: " << error << "\n";
    return 2;
  }
  if (!o.outputDir.empty()) writeOutputs(*g, outputs, o.outputDir);
  if (o.print)
    for (size_t i = 0; i < outputs.size(); ++i) printOutput(g->value(g->outputs[i]).name, outputs[i]);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UserError &e) {
    std::cerr << "nncc-run: error: " << e.message << "\n";
    return 1;
  } catch (const std::exception &e) {
    std::cerr << "nncc-run: internal error: " << e.what() << "\n";
    return 2;
  }
}
