// The C++ source form of a model (see SourceEmitter.h and docs/codegen.md,
// "-o model.cpp"). The layout of the generated file:
//
//   system headers (every #include of what follows, hoisted)
//   namespace {
//     static declarations of the Halide runtime functions the kernels call
//     Halide's C++ backend output (its functions static: HALIDE_FUNCTION_ATTRS)
//     the model runtime (runtime/model/*.c, C++ linkage: NNCC_MODEL_CXX_LINKAGE)
//     the Halide runtime shim (runtime/source/HalideRuntimeShim.c)
//     the descriptor (designated initializers, from the ModelDescription)
//   }
//   extern "C" entry points, as the header declares them
#include "compiler/emit/SourceEmitter.h"

#include "runtime/model/nncc_model.h"

#include <Halide.h>

#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

// Embedded at build time (compiler/emit/CMakeLists.txt).
extern const unsigned char nncc_runtime_source[];
extern const unsigned long nncc_runtime_source_size;
extern const unsigned char nncc_runtime_shim_decls[];
extern const unsigned long nncc_runtime_shim_decls_size;
extern const unsigned char nncc_runtime_shim[];
extern const unsigned long nncc_runtime_shim_size;

namespace nncc {
namespace {

// ---- The descriptor's fields ----
// nncc_model_desc's fields in declaration order. A field added to
// runtime/model/nncc_model.h must be added here (and given a value in
// Writer::descriptor): the static_assert below fails otherwise.
#define NNCC_DESC_FIELDS(X)                                                                                      \
  X(name) X(max_batch) X(num_inputs) X(num_outputs) X(num_params) X(inputs) X(outputs) X(params) X(trainable)      \
  X(initial_values) X(num_param_floats) X(num_kernels) X(kernels) X(num_refs) X(refs) X(arena_floats) X(forward)    \
  X(has_training) X(num_targets) X(targets) X(target_classes) X(num_grad_floats) X(grad_offset) X(num_states)       \
  X(num_scalars) X(num_costs) X(cost_slots) X(num_corrects) X(correct_slots) X(adam_beta1) X(adam_beta2)           \
  X(schedule) X(schedule_args) X(learning_rate) X(train_arena_floats) X(train) X(evaluate) X(update) X(train_step) \
  X(seed) X(state_names) X(packed_floats) X(prepack)

constexpr size_t alignUp(size_t v, size_t a) { return (v + a - 1) / a * a; }

// True when the listed fields tile nncc_model_desc with nothing but padding
// between them: a field missing from the list leaves a gap.
constexpr bool fieldsCoverDesc() {
  size_t end = 0;
  bool ok = true;
#define NNCC_CHECK_FIELD(f)                                                                                          \
  ok = ok && offsetof(nncc_model_desc, f) == alignUp(end, alignof(decltype(nncc_model_desc::f)));                     \
  end = offsetof(nncc_model_desc, f) + sizeof(nncc_model_desc::f);
  NNCC_DESC_FIELDS(NNCC_CHECK_FIELD)
#undef NNCC_CHECK_FIELD
  return ok && alignUp(end, alignof(nncc_model_desc)) == sizeof(nncc_model_desc);
}
static_assert(fieldsCoverDesc(), "nncc_model_desc has a field that SourceEmitter.cpp does not write");

const std::vector<std::string> &descFieldNames() {
  static const std::vector<std::string> names = {
#define NNCC_FIELD_NAME(f) #f,
      NNCC_DESC_FIELDS(NNCC_FIELD_NAME)
#undef NNCC_FIELD_NAME
  };
  return names;
}

// ---- Literals ----

std::string embedded(const unsigned char *p, unsigned long n) { return std::string(reinterpret_cast<const char *>(p), n); }

std::string cString(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\' || c == '?') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 32 || c >= 127) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// A double that reads back exactly.
std::string f64(double v) {
  if (std::isnan(v)) return "__builtin_nan(\"\")";
  if (std::isinf(v)) return v > 0 ? "__builtin_inf()" : "-__builtin_inf()";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

// A float that reads back exactly: a hexadecimal literal (C++17).
std::string f32(float v) {
  if (std::isnan(v)) return "__builtin_nanf(\"\")";
  if (std::isinf(v)) return v > 0 ? "__builtin_inff()" : "-__builtin_inff()";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%af", static_cast<double>(v));
  return buf;
}

template <typename T>
std::string i64(T v) {
  return std::to_string(static_cast<long long>(v)) + "LL";
}

// ---- The descriptor ----

class Writer {
 public:
  Writer(const Graph &g, const TensorMap &params, const ModelDescription &d) : g_(g), params_(params), d_(d), p_(g.name + "_") {}

  // The arrays the descriptor points at, then the descriptor `<name>_desc`.
  std::string descriptor() {
    std::vector<std::pair<std::string, Shape>> ins, outs, ps, tgs;
    for (int v : g_.inputs) ins.emplace_back(g_.value(v).name, g_.value(v).shape);
    for (int v : g_.outputs) outs.emplace_back(g_.value(v).name, g_.value(v).shape);
    for (const Param &p : g_.params) ps.emplace_back(p.name, p.shape);
    for (const TargetDesc &t : d_.targets) tgs.emplace_back(t.name, t.shape);

    std::map<std::string, std::string> f;  // field -> its initializer
    f["name"] = cString(g_.name);
    f["max_batch"] = std::to_string(g_.maxBatch);
    f["num_inputs"] = std::to_string(ins.size());
    f["num_outputs"] = std::to_string(outs.size());
    f["num_params"] = std::to_string(ps.size());
    f["inputs"] = tensors("inputs", ins);
    f["outputs"] = tensors("outputs", outs);
    f["params"] = tensors("params", ps);
    std::vector<std::string> flags;
    for (const Param &p : g_.params) flags.push_back(p.trainable ? "1" : "0");
    f["trainable"] = array("const uint8_t", "trainable", flags);
    int64_t numFloats = 0;
    f["initial_values"] = initialValues(numFloats);
    f["num_param_floats"] = i64(numFloats);
    std::vector<std::string> kernels;
    for (size_t k = 0; k < d_.kernelKeys.size(); ++k) kernels.push_back(ModelDescription::kernelName(g_.name, k) + "_argv");
    f["num_kernels"] = std::to_string(kernels.size());
    f["kernels"] = array("const nncc_kernel_fn", "kernels", kernels);
    std::vector<std::string> refs;
    for (const RefDesc &r : d_.refs)
      refs.push_back("{" + std::to_string(static_cast<int>(r.kind)) + ", " + std::to_string(r.index) + ", " + i64(r.offset) +
                     ", " + std::to_string(r.dims.size()) + ", " + (r.batched ? "1" : "0") + ", " + dims(r.dims) + ", " +
                     (r.isInt ? "1" : "0") + ", " + (r.channelsLast ? "1" : "0") + ", " + std::to_string(r.border) +
                     ", " + (r.interior ? "1" : "0") + "}");
    f["num_refs"] = std::to_string(refs.size());
    f["refs"] = array("const nncc_buffer_ref", "refs", refs, 1);
    f["arena_floats"] = i64(d_.arenaFloats);
    f["forward"] = program("forward_steps", d_.forward);
    // Training: all zero without a training section, as the object encodes it.
    f["has_training"] = d_.hasTraining ? "1" : "0";
    f["num_targets"] = std::to_string(tgs.size());
    f["targets"] = tensors("targets", tgs);
    std::vector<std::string> classes, offsets, states;
    for (const TargetDesc &t : d_.targets) classes.push_back(std::to_string(t.classes));
    f["target_classes"] = array("const int32_t", "target_classes", classes);
    f["num_grad_floats"] = i64(d_.numGradFloats);
    if (d_.hasTraining)
      for (int64_t o : d_.gradOffset) offsets.push_back(i64(o));
    f["grad_offset"] = array("const int64_t", "grad_offset", offsets);
    f["num_states"] = std::to_string(d_.numStates);
    f["num_scalars"] = std::to_string(d_.hasTraining ? d_.numScalars : 0);
    f["num_costs"] = std::to_string(d_.costSlots.size());
    f["cost_slots"] = ints("cost_slots", d_.costSlots);
    f["num_corrects"] = std::to_string(d_.correctSlots.size());
    f["correct_slots"] = ints("correct_slots", d_.correctSlots);
    f["adam_beta1"] = f64(d_.adamBeta1);
    f["adam_beta2"] = f64(d_.adamBeta2);
    f["schedule"] = std::to_string(d_.schedule);
    f["schedule_args"] = "{" + f64(d_.scheduleArgs[0]) + ", " + f64(d_.scheduleArgs[1]) + "}";
    f["learning_rate"] = f64(d_.learningRate);
    f["train_arena_floats"] = i64(d_.trainArenaFloats);
    f["train"] = program("train_steps", d_.train);
    f["evaluate"] = program("evaluate_steps", d_.evaluate);
    f["update"] = program("update_steps", d_.update);
    f["seed"] = std::to_string(d_.seed) + "ULL";
    for (const std::string &s : d_.stateNames) states.push_back(cString(s));
    f["state_names"] = array("const char *const", "state_names", states);
    f["train_step"] = program("train_step_steps", d_.trainStep);
    f["packed_floats"] = i64(d_.packedFloats);
    f["prepack"] = program("prepack_steps", d_.prepack);

    // Designated initializers in declaration order: the C++ compiler checks
    // every name against runtime's nncc_model_desc.
    os_ << "static const nncc_model_desc " << p_ << "desc = {\n";
    for (const std::string &name : descFieldNames()) {
      auto it = f.find(name);
      if (it == f.end()) throw std::logic_error("SourceEmitter: no value for nncc_model_desc." + name);
      os_ << "    ." << name << " = " << it->second << ",\n";
      f.erase(it);
    }
    if (!f.empty()) throw std::logic_error("SourceEmitter: nncc_model_desc has no field " + f.begin()->first);
    os_ << "};\n";
    return os_.str();
  }

 private:
  static std::string dims(const Shape &s) {
    std::string out = "{";
    for (size_t k = 0; k < 4; ++k) out += (k ? ", " : "") + i64(k < s.size() ? s[k] : 0);
    return out + "}";
  }

  // `static TYPE NAME[] = {...};` and its name, or "nullptr" when empty.
  std::string array(const std::string &type, const std::string &name, const std::vector<std::string> &elems,
                    size_t perLine = 8) {
    if (elems.empty()) return "nullptr";
    os_ << "static " << type << " " << p_ << name << "[" << elems.size() << "] = {";
    for (size_t k = 0; k < elems.size(); ++k) os_ << (k % perLine ? " " : "\n    ") << elems[k] << ",";
    os_ << "\n};\n";
    return p_ + name;
  }

  std::string ints(const std::string &name, const std::vector<int> &v) {
    std::vector<std::string> elems;
    for (int x : v) elems.push_back(std::to_string(x));
    return array("const int32_t", name, elems);
  }

  std::string tensors(const std::string &name, const std::vector<std::pair<std::string, Shape>> &ts) {
    std::vector<std::string> elems;
    for (const auto &t : ts)
      elems.push_back("{" + cString(t.first) + ", " + std::to_string(t.second.size()) + ", " + dims(t.second) + ", " +
                      i64(numElements(t.second)) + "}");
    return array("const nncc_tensor_desc", name, elems, 1);
  }

  std::string program(const std::string &name, const std::vector<StepDesc> &steps) {
    std::vector<std::string> elems;
    for (const StepDesc &s : steps)
      elems.push_back("{" + std::to_string(s.kernel) + ", " + std::to_string(s.firstRef) + ", " + std::to_string(s.numRefs) + ", " + i64(s.work) + ", " + cString(s.name) + "}");
    return "{" + std::to_string(steps.size()) + ", " + array("const nncc_step", name, elems, 6) + "}";
  }

  // Every parameter's floats, concatenated in the header's order, exact.
  std::string initialValues(int64_t &count) {
    count = 0;
    if (g_.params.empty()) return "nullptr";
    os_ << "alignas(64) static const float " << p_ << "initial_values[] = {";
    for (const Param &p : g_.params) {
      auto it = params_.find(p.name);
      if (it == params_.end() || static_cast<int64_t>(it->second.data.size()) != numElements(p.shape))
        throw std::runtime_error("no value of the right size for parameter " + p.name);
      for (float v : it->second.data) os_ << (count++ % 8 ? " " : "\n    ") << f32(v) << ",";
    }
    os_ << "\n};\n";
    return p_ + "initial_values";
  }

  const Graph &g_;
  const TensorMap &params_;
  const ModelDescription &d_;
  std::string p_;
  std::ostringstream os_;
};

// ---- The entry points ----
// C linkage, the header's exact signatures; each a thin wrapper over nncc_rt_*.
std::string entryPoints(const Graph &g, const ModelDescription &d) {
  const std::string &n = g.name;
  const std::string M = "struct " + n + " *m", inst = "reinterpret_cast<nncc_instance *>(m)",
                    cinst = "reinterpret_cast<const nncc_instance *>(m)";
  std::ostringstream o;
  o << "struct " << n << ";\n"
    << "extern \"C\" {\n"
    << "struct " << n << " *" << n << "_create(void) { return reinterpret_cast<struct " << n << " *>(nncc_rt_create(&"
    << n << "_desc)); }\n"
    << "void " << n << "_destroy(" << M << ") { nncc_rt_destroy(" << inst << "); }\n"
    << "int " << n << "_set_threads(" << M << ", int n) { return nncc_rt_set_threads(" << inst << ", n); }\n"
    << "int " << n << "_load_weights(" << M << ", const char *path) { return nncc_rt_load_weights(" << inst << ", path); }\n"
    << "int " << n << "_save_weights(const " << M << ", const char *path) { return nncc_rt_save_weights(" << cinst
    << ", path); }\n"
    << "const char *" << n << "_last_error(const " << M << ") { return nncc_rt_last_error(" << cinst << "); }\n";
  // ", const float *in0, ..." and "{in0, ...}" (a null array when empty).
  auto list = [](const std::vector<std::string> &types, const std::string &prefix, std::string &params, std::string &init) {
    init.clear();
    for (size_t k = 0; k < types.size(); ++k) {
      params += ", " + types[k] + prefix + std::to_string(k);
      init += (k ? ", " : "") + prefix + std::to_string(k);
    }
    init = types.empty() ? "{nullptr}" : "{" + init + "}";
  };
  std::string inParams, ins, outParams, outs;
  list(std::vector<std::string>(g.inputs.size(), "const float *"), "in", inParams, ins);
  list(std::vector<std::string>(g.outputs.size(), "float *"), "out", outParams, outs);
  o << "int " << n << "_forward(" << M << ", int batch" << inParams << outParams << ") {\n"
    << "  const float *const ins[] = " << ins << ";\n  float *const outs[] = " << outs << ";\n"
    << "  return nncc_rt_forward(" << inst << ", batch, ins, outs);\n}\n";
  if (d.hasTraining) {
    std::vector<std::string> types;
    for (const TargetDesc &t : d.targets) types.push_back(t.classes > 0 ? "const int32_t *" : "const float *");
    std::string tParams, tgts;
    list(types, "target", tParams, tgts);
    std::string arrays = "  const float *const ins[] = " + ins + ";\n  const void *const tgts[] = " + tgts + ";\n";
    for (const char *fn : {"train_step", "compute_gradients"})
      o << "int " << n << "_" << fn << "(" << M << ", int batch" << inParams << tParams << ", float *loss) {\n"
        << arrays << "  return nncc_rt_" << fn << "(" << inst << ", batch, ins, tgts, loss);\n}\n";
    o << "int " << n << "_evaluate(" << M << ", int batch" << inParams << tParams << ", float *loss, int32_t *correct) {\n"
      << arrays << "  return nncc_rt_evaluate(" << inst << ", batch, ins, tgts, loss, correct);\n}\n"
      << "float *" << n << "_gradients(" << M << ") { return nncc_rt_gradients(" << inst << "); }\n"
      << "int " << n << "_apply_gradients(" << M << ") { return nncc_rt_apply_gradients(" << inst << "); }\n"
      << "int " << n << "_set_learning_rate(" << M << ", float lr) { return nncc_rt_set_learning_rate(" << inst
      << ", lr); }\n"
      << "int " << n << "_set_seed(" << M << ", uint64_t seed) { return nncc_rt_set_seed(" << inst << ", seed); }\n";
  }
  o << "}  // extern \"C\"\n";
  return o.str();
}

// The kernels through Halide's C++ backend, which writes only to a file.
std::string halideSource(const std::string &name, const std::vector<Halide::Module> &kernels) {
  if (kernels.empty()) return "";
  Halide::Module linked = Halide::link_modules(name, kernels);
  char dir[] = "/tmp/nncc-cpp-XXXXXX";
  if (!mkdtemp(dir)) throw std::runtime_error("cannot create a temporary directory for Halide's C++ output");
  std::string path = std::string(dir) + "/kernels.cpp";
  std::string text;
  try {
    linked.compile({{Halide::OutputFileType::c_source, path}});
    std::ifstream in(path, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) throw std::runtime_error("cannot read Halide's C++ output");
  } catch (...) {
    std::remove(path.c_str());
    rmdir(dir);
    throw;
  }
  std::remove(path.c_str());
  rmdir(dir);
  return text;
}

// Every `#include <...>` line of `text`, in order, once.
void collectIncludes(const std::string &text, std::vector<std::string> &out, std::set<std::string> &seen) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line.compare(b, 1, "#") != 0) continue;
    size_t i = line.find_first_not_of(" \t", b + 1);
    if (i == std::string::npos || line.compare(i, 7, "include") != 0) continue;
    size_t lt = line.find('<', i), gt = line.find('>', i);
    if (lt == std::string::npos || gt == std::string::npos || gt < lt) continue;
    std::string header = line.substr(lt, gt - lt + 1);
    if (seen.insert(header).second) out.push_back(header);
  }
}

}  // namespace

void scheduleForSource(Halide::Pipeline &pipeline) {
  using namespace Halide::Internal;
  std::map<std::string, Function> funcs;
  for (const Halide::Func &out : pipeline.outputs()) {
    funcs.emplace(out.name(), out.function());
    for (const auto &kv : find_transitive_calls(out.function())) funcs.emplace(kv.first, kv.second);
  }
  std::vector<Definition> defs;
  for (auto &kv : funcs) {
    defs.push_back(kv.second.definition());
    for (const Definition &u : kv.second.updates()) defs.push_back(u);
  }
  while (!defs.empty()) {
    Definition d = defs.back();  // a handle: the schedule is shared with the Func's
    defs.pop_back();
    if (!d.defined()) continue;
    for (Dim &dim : d.schedule().dims())
      if (dim.for_type == ForType::Vectorized) dim.for_type = ForType::Serial;
    for (const Specialization &s : d.specializations()) defs.push_back(s.definition);
  }
}

std::string writeModelSource(const Graph &g, const TensorMap &params, const ModelDescription &desc,
                             const std::vector<Halide::Module> &kernels) {
  const std::string &n = g.name;
  const std::string kernelText = halideSource(n + "_kernels", kernels);
  const std::string runtime = embedded(nncc_runtime_source, nncc_runtime_source_size);
  const std::string shimDecls = embedded(nncc_runtime_shim_decls, nncc_runtime_shim_decls_size);
  const std::string shim = embedded(nncc_runtime_shim, nncc_runtime_shim_size);
  Writer w(g, params, desc);
  const std::string descriptor = w.descriptor();

  // The system headers first, outside the anonymous namespace: their include
  // guards make the same lines inside it no-ops.
  std::vector<std::string> includes;
  std::set<std::string> seen;
  for (const std::string *t : {&shimDecls, &kernelText, &runtime, &shim}) collectIncludes(*t, includes, seen);

  std::ostringstream o;
  o << "// " << n << ".cpp: the compiled model '" << n << "', generated by nncc. Do not edit.\n"
    << "// Portable C++17 with the API of " << n << ".h: Halide's C++ backend output of the kernels,\n"
    << "// the nncc model runtime, the weights and the entry points. Build and link:\n"
    << "//   clang++ -O3 -march=native -c " << n << ".cpp   (fast)\n"
    << "//   g++ -O2 -c " << n << ".cpp                     (correct; the kernels run much slower)\n"
    << "//   cc app.c " << n << ".o -lpthread -ldl -lm\n"
    << "// Only the entry points have external linkage.\n"
    << "#ifndef _POSIX_C_SOURCE\n#define _POSIX_C_SOURCE 200809L\n#endif\n"
    << "#define HALIDE_FUNCTION_ATTRS static\n"
    << "#define NNCC_MODEL_CXX_LINKAGE 1\n";
  for (const std::string &h : includes) o << "#include " << h << "\n";
  // Quiet under -Wall -Wextra: Halide's output and the C runtime compiled as C++.
  o << "\n#if defined(__GNUC__)\n#pragma GCC diagnostic ignored \"-Wunused-function\"\n"
    << "#pragma GCC diagnostic ignored \"-Wunused-variable\"\n"
    << "#pragma GCC diagnostic ignored \"-Wunused-parameter\"\n"
    << "#pragma GCC diagnostic ignored \"-Wmissing-field-initializers\"\n#endif\n"
    << "#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC diagnostic ignored \"-Wclass-memaccess\"\n#endif\n"
    << "\nnamespace {\n"
    << "\n// ==== The Halide runtime functions the kernels call ====\n" << shimDecls
    << "\n// ==== The kernels (Halide's C++ backend) ====\n" << kernelText
    << "\n// ==== The model runtime ====\n" << runtime
    << "\n// ==== The Halide runtime shim ====\n" << shim
    << "\n// ==== The model ====\n" << descriptor
    << "\n}  // namespace\n\n"
    << entryPoints(g, desc);
  return o.str();
}

}  // namespace nncc
