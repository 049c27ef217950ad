// The C++ source form of a model (see SourceEmitter.h). The descriptor is
// written field by field in nncc_model_desc's order (runtime/model/nncc_model.h);
// the weights as exact hexadecimal float literals.
#include "compiler/emit/SourceEmitter.h"

#include <cmath>
#include <cstdio>
#include <regex>
#include <set>
#include <sstream>

extern const unsigned char nncc_runtime_source[];
extern const unsigned long nncc_runtime_source_size;
extern const unsigned char nncc_runtime_shim[];
extern const unsigned long nncc_runtime_shim_size;

namespace nncc {
namespace {

std::string embedded(const unsigned char *p, unsigned long n) { return std::string(reinterpret_cast<const char *>(p), n); }

std::string cString(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c < 32 || c >= 127) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// An exact float literal: hexadecimal (C++17), or the builtins for inf/nan.
std::string floatLit(float v) {
  if (std::isnan(v)) return "__builtin_nanf(\"\")";
  if (std::isinf(v)) return v > 0 ? "__builtin_inff()" : "-__builtin_inff()";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%af", static_cast<double>(v));
  return buf;
}

class Writer {
 public:
  Writer(const Graph &g, const TensorMap &params, const ModelDescription &d) : g_(g), params_(params), d_(d), p_(g.name + "_") {}

  std::string descriptor() {
    std::ostringstream &o = os_;
    auto tensors = [&](const std::string &name, const std::vector<std::pair<std::string, Shape>> &ts) {
      if (ts.empty()) return std::string("0");
      o << "static const nncc_tensor_desc " << p_ << name << "[] = {\n";
      for (const auto &t : ts) {
        o << "  {" << cString(t.first) << ", " << t.second.size() << ", {";
        for (size_t k = 0; k < 4; ++k) o << (k ? ", " : "") << (k < t.second.size() ? t.second[k] : 0);
        o << "}, " << numElements(t.second) << "},\n";
      }
      o << "};\n";
      return p_ + name;
    };
    std::vector<std::pair<std::string, Shape>> ins, outs, ps, tg;
    for (int v : g_.inputs) ins.emplace_back(g_.value(v).name, g_.value(v).shape);
    for (int v : g_.outputs) outs.emplace_back(g_.value(v).name, g_.value(v).shape);
    for (const Param &p : g_.params) ps.emplace_back(p.name, p.shape);
    for (const TargetDesc &t : d_.targets) tg.emplace_back(t.name, t.shape);
    std::string inArr = tensors("inputs", ins), outArr = tensors("outputs", outs), pArr = tensors("params", ps),
                tArr = tensors("targets", tg);
    // Trainable flags and the initial values.
    std::string trainable = "0", initial = "0";
    int64_t nfloats = 0;
    if (!g_.params.empty()) {
      o << "static const uint8_t " << p_ << "trainable[] = {";
      for (size_t k = 0; k < g_.params.size(); ++k) o << (k ? ", " : "") << (g_.params[k].trainable ? 1 : 0);
      o << "};\n";
      trainable = p_ + "trainable";
      o << "static const float " << p_ << "initial_values[] __attribute__((aligned(64))) = {";
      for (const Param &p : g_.params) {
        for (float v : params_.at(p.name).data) {
          o << (nfloats % 8 ? " " : "\n  ") << floatLit(v) << ",";
          ++nfloats;
        }
      }
      o << "\n};\n";
      initial = p_ + "initial_values";
    }
    std::string kernels = "0";
    if (!d_.kernelKeys.empty()) {
      o << "static const nncc_kernel_fn " << p_ << "kernels[] = {";
      for (size_t k = 0; k < d_.kernelKeys.size(); ++k)
        o << (k ? ", " : "") << ModelDescription::kernelName(g_.name, k) << "_argv";
      o << "};\n";
      kernels = p_ + "kernels";
    }
    std::string refs = "0";
    if (!d_.refs.empty()) {
      o << "static const nncc_buffer_ref " << p_ << "refs[] = {\n";
      for (const RefDesc &r : d_.refs) {
        o << "  {" << static_cast<int>(r.kind) << ", " << r.index << ", " << r.offset << ", " << r.dims.size() << ", "
          << (r.batched ? 1 : 0) << ", {";
        for (size_t k = 0; k < 4; ++k) o << (k ? ", " : "") << (k < r.dims.size() ? r.dims[k] : 0);
        o << "}, " << (r.isInt ? 1 : 0) << "},\n";
      }
      o << "};\n";
      refs = p_ + "refs";
    }
    std::string fwd = program("forward_steps", d_.forward), train = program("train_steps", d_.train),
                eval = program("evaluate_steps", d_.evaluate), upd = program("update_steps", d_.update);
    std::string ints = [&] {
      return std::string();
    }();
    auto intArray = [&](const std::string &name, const std::vector<int> &v) {
      if (v.empty()) return std::string("0");
      o << "static const int32_t " << p_ << name << "[] = {";
      for (size_t k = 0; k < v.size(); ++k) o << (k ? ", " : "") << v[k];
      o << "};\n";
      return p_ + name;
    };
    std::vector<int> classes;
    for (const TargetDesc &t : d_.targets) classes.push_back(t.classes);
    std::string classArr = intArray("target_classes", classes), costArr = intArray("cost_slots", d_.costSlots),
                correctArr = intArray("correct_slots", d_.correctSlots);
    std::string gradArr = "0";
    if (d_.hasTraining && !d_.gradOffset.empty()) {
      o << "static const int64_t " << p_ << "grad_offset[] = {";
      for (size_t k = 0; k < d_.gradOffset.size(); ++k) o << (k ? ", " : "") << d_.gradOffset[k];
      o << "};\n";
      gradArr = p_ + "grad_offset";
    }
    std::string stateArr = "0";
    if (!d_.stateNames.empty()) {
      o << "static const char *const " << p_ << "state_names[] = {";
      for (size_t k = 0; k < d_.stateNames.size(); ++k) o << (k ? ", " : "") << cString(d_.stateNames[k]);
      o << "};\n";
      stateArr = p_ + "state_names";
    }
    // The descriptor, positionally in nncc_model_desc's field order.
    o << "static const nncc_model_desc " << p_ << "desc = {\n"
      << "  " << cString(g_.name) << ", " << g_.maxBatch << ", " << g_.inputs.size() << ", " << g_.outputs.size() << ", "
      << g_.params.size() << ",\n"
      << "  " << inArr << ", " << outArr << ", " << pArr << ", " << trainable << ", " << initial << ", " << nfloats << ",\n"
      << "  " << d_.kernelKeys.size() << ", " << kernels << ", " << d_.refs.size() << ", " << refs << ", "
      << d_.arenaFloats << ",\n"
      << "  " << fwd << ",\n"
      << "  " << (d_.hasTraining ? 1 : 0) << ", " << d_.targets.size() << ", " << tArr << ", " << classArr << ", "
      << d_.numGradFloats << ", " << gradArr << ", " << d_.numStates << ", " << (d_.hasTraining ? d_.numScalars : 0)
      << ", " << d_.costSlots.size() << ", " << costArr << ", " << d_.correctSlots.size() << ", " << correctArr << ",\n"
      << "  " << num(d_.adamBeta1) << ", " << num(d_.adamBeta2) << ", " << d_.schedule << ", {"
      << num(d_.scheduleArgs[0]) << ", " << num(d_.scheduleArgs[1]) << "}, " << num(d_.learningRate) << ", "
      << d_.trainArenaFloats << ",\n"
      << "  " << train << ", " << eval << ", " << upd << ", " << d_.seed << "ULL, " << stateArr << "};\n";
    (void)ints;
    return o.str();
  }

 private:
  std::string program(const std::string &name, const std::vector<StepDesc> &steps) {
    if (steps.empty()) return "{0, 0}";
    os_ << "static const nncc_step " << p_ << name << "[] = {";
    for (size_t k = 0; k < steps.size(); ++k)
      os_ << (k % 6 ? " " : "\n  ") << "{" << steps[k].kernel << ", " << steps[k].firstRef << ", " << steps[k].numRefs << "},";
    os_ << "\n};\n";
    return "{" + std::to_string(steps.size()) + ", " + p_ + name + "}";
  }

  const Graph &g_;
  const TensorMap &params_;
  const ModelDescription &d_;
  std::string p_;
  std::ostringstream os_;
};

// The entry points, C linkage, as the header declares them.
std::string entryPoints(const Graph &g, const ModelDescription &d) {
  const std::string &n = g.name;
  std::ostringstream o;
  std::string inst = "(nncc_instance *)m";
  o << "extern \"C\" {\n"
    << "struct " << n << " *" << n << "_create(void) { return (struct " << n << " *)nncc_rt_create(&" << n << "_desc); }\n"
    << "void " << n << "_destroy(struct " << n << " *m) { nncc_rt_destroy(" << inst << "); }\n"
    << "int " << n << "_set_threads(struct " << n << " *m, int n) { return nncc_rt_set_threads(" << inst << ", n); }\n"
    << "int " << n << "_load_weights(struct " << n << " *m, const char *path) { return nncc_rt_load_weights(" << inst << ", path); }\n"
    << "int " << n << "_save_weights(const struct " << n << " *m, const char *path) { return nncc_rt_save_weights((const nncc_instance *)m, path); }\n"
    << "const char *" << n << "_last_error(const struct " << n << " *m) { return nncc_rt_last_error((const nncc_instance *)m); }\n";
  auto list = [&](const char *type, const std::string &prefix, size_t count, std::string &params, std::string &array) {
    array = "{";
    for (size_t k = 0; k < count; ++k) {
      params += std::string(", ") + type + " " + prefix + std::to_string(k);
      array += (k ? ", " : "") + prefix + std::to_string(k);
    }
    array += count ? "}" : "0}";
  };
  std::string inParams, inArr, outParams, outArr;
  list("const float *", "in", g.inputs.size(), inParams, inArr);
  list("float *", "out", g.outputs.size(), outParams, outArr);
  o << "int " << n << "_forward(struct " << n << " *m, int batch" << inParams << outParams << ") {\n"
    << "  const float *ins[] = " << inArr << ";\n  float *outs[] = " << outArr << ";\n"
    << "  return nncc_rt_forward(" << inst << ", batch, ins, outs);\n}\n";
  if (d.hasTraining) {
    std::string tParams, tArr;
    list("const void *", "target", d.targets.size(), tParams, tArr);
    for (const char *fn : {"train_step", "compute_gradients"})
      o << "int " << n << "_" << fn << "(struct " << n << " *m, int batch" << inParams << tParams << ", float *loss) {\n"
        << "  const float *ins[] = " << inArr << ";\n  const void *tgts[] = " << tArr << ";\n"
        << "  return nncc_rt_" << fn << "(" << inst << ", batch, ins, tgts, loss);\n}\n";
    o << "int " << n << "_evaluate(struct " << n << " *m, int batch" << inParams << tParams
      << ", float *loss, int32_t *correct) {\n"
      << "  const float *ins[] = " << inArr << ";\n  const void *tgts[] = " << tArr << ";\n"
      << "  return nncc_rt_evaluate(" << inst << ", batch, ins, tgts, loss, correct);\n}\n"
      << "float *" << n << "_gradients(struct " << n << " *m) { return nncc_rt_gradients(" << inst << "); }\n"
      << "int " << n << "_apply_gradients(struct " << n << " *m) { return nncc_rt_apply_gradients(" << inst << "); }\n"
      << "int " << n << "_set_learning_rate(struct " << n << " *m, float lr) { return nncc_rt_set_learning_rate(" << inst << ", lr); }\n"
      << "int " << n << "_set_seed(struct " << n << " *m, uint64_t seed) { return nncc_rt_set_seed(" << inst << ", seed); }\n";
  }
  o << "}  // extern \"C\"\n";
  return o.str();
}

}  // namespace

std::string writeModelSource(const Graph &g, const TensorMap &params, const ModelDescription &desc,
                             const std::string &halideSource, const std::vector<std::string> &runtimeFunctions) {
  std::string shim = embedded(nncc_runtime_shim, nncc_runtime_shim_size);
  std::set<std::string> renamed(runtimeFunctions.begin(), runtimeFunctions.end());
  static const std::regex shimFn(R"(\n(?:static )?int (halide_\w+)\()");
  for (std::sregex_iterator it(shim.begin(), shim.end(), shimFn), end; it != end; ++it) renamed.insert((*it)[1]);
  std::ostringstream o;
  o << "// " << g.name << ".cpp: the compiled model '" << g.name << "', generated by nncc. Do not edit.\n"
    << "// Portable C++17: Halide's C++ backend output of the kernels, the nncc model runtime and the\n"
    << "// model's descriptor and entry points (the API of " << g.name << ".h). Build and link:\n"
    << "//   clang++ -O3 -march=native -c " << g.name << ".cpp     (fast: LLVM vectorizes the kernels)\n"
    << "//   g++ -O2 -c " << g.name << ".cpp                       (correct, much slower kernels)\n"
    << "//   c++ app.cpp " << g.name << ".o -lpthread -ldl\n"
    << "#ifndef _POSIX_C_SOURCE\n#define _POSIX_C_SOURCE 200809L\n#endif\n"
    << "// Everything but the entry points carries the model's prefix, so two models link together.\n";
  for (const std::string &f : renamed) o << "#define " << f << " " << g.name << "__" << f << "\n";
  o << "\n// ==== The kernels (Halide's C++ backend) ====\n" << halideSource
    << "\n// ==== The model runtime ====\n" << embedded(nncc_runtime_source, nncc_runtime_source_size)
    << "\n// ==== Halide runtime error reporters ====\n" << shim
    << "\n// ==== The model ====\n";
  Writer w(g, params, desc);
  o << w.descriptor() << "\n" << entryPoints(g, desc);
  return o.str();
}

}  // namespace nncc
