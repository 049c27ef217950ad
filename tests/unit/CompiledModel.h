#pragma once
// Test helper: compiles a graph with the emitter into an object, links it as
// a shared library with the system's cc and loads it with dlopen, so a test
// calls the generated entry points the way an application does.
#include "compiler/emit/Emitter.h"
#include "compiler/ir/ShapeInference.h"
#include "compiler/passes/Pass.h"
#include "compiler/weights/WeightBinding.h"
#include "frontend/ModelParser.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace nncc {
namespace testing_support {

struct CompiledModel {
  void *lib = nullptr;
  std::string name;
  void *(*create)() = nullptr;
  void (*destroy)(void *) = nullptr;
  float *(*gradients)(void *) = nullptr;
  const char *(*lastError)(const void *) = nullptr;
  int (*applyGradients)(void *) = nullptr;
  int (*saveWeights)(const void *, const char *) = nullptr;
  void *computeGradients = nullptr, *trainStep = nullptr, *evaluate = nullptr, *forward = nullptr;

  CompiledModel() = default;
  CompiledModel(const CompiledModel &) = delete;
  CompiledModel &operator=(const CompiledModel &) = delete;
  ~CompiledModel() {
    if (lib) dlclose(lib);
  }
  void *sym(const std::string &s) const { return dlsym(lib, (name + "_" + s).c_str()); }
};

inline bool compileModel(const Graph &g, const TensorMap &params, CompiledModel &c, std::string &error) {
  EmitOptions eo;
  std::string bytes;
  if (!emitModel(g, params, eo, bytes, error)) return false;
  char tmpl[] = "/tmp/nncc-test-XXXXXX";
  const char *dir = mkdtemp(tmpl);
  if (!dir) {
    error = "mkdtemp failed";
    return false;
  }
  std::string obj = std::string(dir) + "/m.o", so = std::string(dir) + "/m.so";
  std::ofstream(obj, std::ios::binary) << bytes;
  std::string cmd = "cc -shared -o " + so + " " + obj + " -lpthread -ldl -lm";
  int rc = std::system(cmd.c_str());
  if (rc == 0) c.lib = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  std::remove(obj.c_str());
  std::remove(so.c_str());
  rmdir(dir);
  if (rc != 0 || !c.lib) {
    error = rc != 0 ? "linking failed: " + cmd : std::string(dlerror());
    return false;
  }
  c.name = g.name;
  c.create = reinterpret_cast<void *(*)()>(c.sym("create"));
  c.destroy = reinterpret_cast<void (*)(void *)>(c.sym("destroy"));
  c.gradients = reinterpret_cast<float *(*)(void *)>(c.sym("gradients"));
  c.lastError = reinterpret_cast<const char *(*)(const void *)>(c.sym("last_error"));
  c.applyGradients = reinterpret_cast<int (*)(void *)>(c.sym("apply_gradients"));
  c.saveWeights = reinterpret_cast<int (*)(const void *, const char *)>(c.sym("save_weights"));
  c.computeGradients = c.sym("compute_gradients");
  c.trainStep = c.sym("train_step");
  c.evaluate = c.sym("evaluate");
  c.forward = c.sym("forward");
  if (!c.create || !c.destroy || !c.forward) {
    error = "missing entry points";
    return false;
  }
  return true;
}

// Parses, infers shapes and runs the -O2 passes, as nncc does.
// The parameters of `g` from its seeded initializers into `params`, and `g`
// compiled with them into `c` (a fatal test failure otherwise: call it under
// ASSERT_NO_FATAL_FAILURE).
inline void compileSeeded(const Graph &g, TensorMap &params, CompiledModel &c) {
  Diagnostics diags;
  ASSERT_TRUE(loadWeightsForGraph(g, "", false, params, diags));
  std::string error;
  ASSERT_TRUE(compileModel(g, params, c, error)) << error;
}

inline Graph prepareModel(const std::string &json) {
  Diagnostics diags;
  std::optional<Graph> g = parseModelJson(json, "m.json", "", diags);
  EXPECT_TRUE(g && !diags.hasErrors());
  if (!g) return Graph();
  EXPECT_TRUE(inferShapes(*g, diags));
  PassOptions po;
  EXPECT_TRUE(buildInferencePipeline(2, g->training.has_value()).run(*g, diags, po));
  for (const auto &d : diags.all()) ADD_FAILURE() << d.str();
  return *g;
}

}  // namespace testing_support
}  // namespace nncc
