// Per-layer kernel benchmark (not a test): GFLOP/s of one conv2d or dense
// layer lowered exactly as nncc lowers it (one op, bias + relu fused into its
// epilogue), JIT-compiled for the host, median of repeated runs.
//   kernel_bench [--baseline] [--tile VxC] [--direct] [--dense-units U] [--reps R]
//                [--batch B[,B...]] SPEC...
//   SPEC: name:conv:cin:H:W:cout:k:stride:pad[:groups]  or  name:dense:features:units
//         or name:dense-grad:features:units (the dense layer's two GEMM
//         gradients, dx and dw, each its own JIT pipeline as in a training
//         step, relu fused; GFLOP/s = 2 x features x units x batch each)
//         or model:PATH.json (the whole network as one JIT pipeline, lowerGraph,
//         unoptimized graph; GFLOP/s over its conv2d and dense layers)
// Threads: HL_NUM_THREADS (the peak is 226.5 GFLOP/s per thread: the
// measured FMA peak of this machine, 453 on two cores). Printed: the median
// and the minimum wall time, and the median process CPU time per thread (on
// a shared, loaded machine the minimum and the CPU time are the steadier).
#include "compiler/ir/ShapeInference.h"
#include "compiler/lower/ConvSchedule.h"
#include "compiler/lower/Gradients.h"
#include "compiler/lower/Lowering.h"
#include "compiler/weights/Initializers.h"
#include "frontend/ModelParser.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>

using namespace nncc;

namespace {

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

struct Layer {
  std::string name, json;
  std::vector<int> inShape;
  double flopsPerSample = 0;
  bool gradients = false;
};

Graph build(const std::string &json);

// 2 x multiply-adds of every conv2d and dense layer, per sample.
double networkFlops(const Graph &g) {
  double flops = 0;
  for (const Op &op : g.ops) {
    const Shape &out = g.value(op.output).shape;
    if (op.kind == OpKind::Conv2D) {
      const auto &k = op.intsAttr("kernel");
      double cinPerGroup = double(g.value(op.inputs[0]).shape[0]) / double(op.intAttr("groups"));
      flops += 2.0 * double(numElements(out)) * cinPerGroup * double(k[0] * k[1]);
    } else if (op.kind == OpKind::Dense) {
      flops += 2.0 * double(numElements(out)) * double(g.value(op.inputs[0]).shape[0]);
    }
  }
  return flops;
}

Layer parseSpec(const std::string &spec) {
  std::vector<std::string> f = split(spec, ':');
  Layer l;
  l.name = f.at(0);
  if (l.name == "model") {
    std::ifstream in(f.at(1));
    std::stringstream ss;
    ss << in.rdbuf();
    l.json = ss.str();
    l.name = f.at(1).substr(f.at(1).find_last_of('/') + 1);
    l.flopsPerSample = networkFlops(build(l.json));
    return l;
  }
  std::ostringstream js;
  if (f.at(1) == "conv") {
    int cin = std::stoi(f.at(2)), h = std::stoi(f.at(3)), w = std::stoi(f.at(4)), cout = std::stoi(f.at(5));
    int k = std::stoi(f.at(6)), s = std::stoi(f.at(7)), p = std::stoi(f.at(8));
    int g = f.size() > 9 ? std::stoi(f.at(9)) : 1;
    l.inShape = {cin, h, w};
    int oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
    l.flopsPerSample = 2.0 * cout * oh * ow * (cin / g) * k * k;
    js << R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [)" << cin << "," << h << "," << w
       << R"(]}], "layers": [{"type": "conv2d", "name": "l", "filters": )" << cout << R"(, "kernel": )" << k
       << R"(, "stride": )" << s << R"(, "padding": )" << p << R"(, "groups": )" << g
       << R"(, "activation": "relu"}], "outputs": ["l"]})";
  } else {
    int fe = std::stoi(f.at(2)), u = std::stoi(f.at(3));
    l.gradients = f.at(1) == "dense-grad";
    l.inShape = {fe};
    l.flopsPerSample = 2.0 * fe * u;
    js << R"({"nncc": 1, "name": "m", "inputs": [{"name": "x", "shape": [)" << fe
       << R"(]}], "layers": [{"type": "dense", "name": "l", "units": )" << u
       << R"(, "activation": "relu"}], "outputs": ["l"]})";
  }
  l.json = js.str();
  return l;
}

double cpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

Graph build(const std::string &json) {
  Diagnostics diags;
  std::optional<Graph> g = parseModelJson(json, "bench.json", "", diags);
  if (g) inferShapes(*g, diags);
  if (!g || diags.hasErrors()) {
    diags.print(std::cerr);
    std::exit(1);
  }
  return *g;
}

Halide::Buffer<float> bufferOf(const Shape &s, int batch) {
  std::vector<int> sizes;
  for (auto it = s.rbegin(); it != s.rend(); ++it) sizes.push_back(int(*it));
  if (batch > 0) sizes.push_back(batch);
  Halide::Buffer<float> b(sizes);
  int k = 0;
  b.for_each_value([&](float &v) { v = float((k++ * 7919) % 1000) / 1000.f - 0.5f; });
  return b;
}

struct Timing {
  double median, best, cpu;
};

Timing timeRuns(int reps, int threads, const std::function<void()> &run) {
  run();
  std::vector<double> t, cpu;
  for (int r = 0; r < reps; ++r) {
    double c0 = cpuSeconds();
    auto s = std::chrono::steady_clock::now();
    run();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
    cpu.push_back((cpuSeconds() - c0) / threads);
  }
  std::sort(t.begin(), t.end());
  std::sort(cpu.begin(), cpu.end());
  return {t[t.size() / 2], t[0], cpu[cpu.size() / 2]};
}

void report(const std::string &name, int batch, int threads, double flops, double peak, const Timing &t, double compile) {
  std::printf("%-22s batch %3d thr %d  median %8.3f ms %6.1f GF/s | min %8.3f ms %6.1f GF/s %5.1f%% peak | cpu/thr %8.3f ms %6.1f GF/s  (compile %.2fs)\n",
              name.c_str(), batch, threads, t.median * 1e3, flops / t.median / 1e9, t.best * 1e3, flops / t.best / 1e9,
              100 * flops / t.best / 1e9 / peak, t.cpu * 1e3, flops / t.cpu / 1e9, compile);
  std::fflush(stdout);
}

// The dense layer's input and weight gradients (DenseGradients.cpp), each a
// pipeline of its own as in a training step, on random x, y, dy.
void benchDenseGradients(const Layer &l, const Graph &g, const std::vector<int> &batches, int reps, int threads,
                         double peak, const Halide::Target &target) {
  const Op *op = nullptr;
  for (const Op &o : g.ops)
    if (o.kind == OpKind::Dense) op = &o;
  LowerOptions opts;
  opts.target = target;
  lower::Namer namer;
  Halide::ImageParam xp, yp, dyp;
  Value xv = g.value(op->inputs[0]), yv = g.value(op->output), dyv = yv;
  yv.name = "y", dyv.name = "dy";
  lower::LValue x = lower::bindInput(xv, namer, xp), y = lower::bindInput(yv, namer, yp),
                dy = lower::bindInput(dyv, namer, dyp);
  lower::GradArgs a{g, *op, opts, namer, {x}, y, dy, {}, xp.dim(1).extent(), 0.0, 0.0};
  const Param *weight = nullptr;
  std::vector<Halide::Buffer<float>> keep;
  for (int p : op->params) {
    const Param &prm = g.params[static_cast<size_t>(p)];
    Halide::ImageParam ip = lower::bindParam(prm, namer);
    keep.push_back(bufferOf(prm.shape, 0));
    ip.set(keep.back());
    a.params.emplace(prm.role, ip);
    if (prm.role == ParamRole::Weight) weight = &prm;
  }
  const int features = int(xv.shape[0]), units = int(yv.shape[0]);
  struct Kernel {
    std::string name;
    Halide::Func f;
    std::vector<int> sizes;  // without the batch for dw
    bool batched;
  };
  std::vector<Kernel> kernels{{l.name + ".dx", lower::lowerInputGradient(a, 0), {features}, true},
                              {l.name + ".dw", lower::lowerParamGradient(a, *weight), {features, units}, false}};
  for (Kernel &k : kernels) {
    auto c0 = std::chrono::steady_clock::now();
    k.f.compile_jit(target);
    double compile = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
    for (int batch : batches) {
      Halide::Buffer<float> xb = bufferOf(xv.shape, batch), yb = bufferOf(yv.shape, batch), dyb = bufferOf(yv.shape, batch);
      xp.set(xb), yp.set(yb), dyp.set(dyb);
      std::vector<int> sizes = k.sizes;
      if (k.batched) sizes.push_back(batch);
      Halide::Buffer<float> out(sizes);
      Timing t = timeRuns(reps, threads, [&] { k.f.realize(out, target); });
      report(k.name, batch, threads, 2.0 * features * units * batch, peak, t, compile);
    }
  }
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<int> batches{1, 32};
  int reps = 30;
  bool profile = false;
  std::string asmFile;
  std::vector<std::string> specs;
  lower::ScheduleOverrides &o = lower::scheduleOverrides();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--baseline") o.baseline = true;
    else if (a == "--direct") o.forceDirect = true;
    else if (a == "--profile") profile = true;
    else if (a == "--asm") asmFile = argv[++i];
    else if (a == "--tile") {
      auto v = split(argv[++i], 'x');
      o.convVectors = std::stoi(v.at(0)), o.convCols = std::stoi(v.at(1));
    } else if (a == "--dense-units") o.denseUnits = std::stoi(argv[++i]);
    else if (a == "--reps") reps = std::stoi(argv[++i]);
    else if (a == "--batch") {
      batches.clear();
      for (auto &b : split(argv[++i], ',')) batches.push_back(std::stoi(b));
    } else specs.push_back(a);
  }
  const char *thr = getenv("HL_NUM_THREADS");
  int threads = thr ? atoi(thr) : 2;
  double peak = 226.5 * threads;
  for (const std::string &spec : specs) {
    Layer l = parseSpec(spec);
    Graph g = build(l.json);
    g.maxBatch = std::max(g.maxBatch, int64_t(*std::max_element(batches.begin(), batches.end())));
    LowerOptions opts;
    opts.target = Halide::get_jit_target_from_environment();
    if (profile) opts.target = opts.target.with_feature(Halide::Target::Profile);
    if (l.gradients) {
      benchDenseGradients(l, g, batches, reps, threads, peak, opts.target);
      continue;
    }
    auto c0 = std::chrono::steady_clock::now();
    LoweredModel m = lowerGraph(g, opts);
    if (!asmFile.empty()) {
      m.pipeline.compile_to_assembly(asmFile, m.arguments(), "kernel", opts.target);
      m.pipeline.compile_to_lowered_stmt(asmFile + ".stmt", m.arguments(), Halide::Text, opts.target);
      continue;
    }
    m.pipeline.compile_jit(opts.target);
    double compile = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
    TensorMap params = initializeAll(g);
    std::vector<Halide::Buffer<float>> keep;
    for (size_t p = 0; p < g.params.size(); ++p) {
      Halide::Buffer<float> b = bufferOf(g.params[p].shape, 0);
      m.params[p].set(b);
      keep.push_back(b);
    }
    for (int batch : batches) {
      Halide::Buffer<float> in = bufferOf(g.value(g.inputs[0]).shape, batch);
      m.inputs[0].set(in);
      std::vector<Halide::Buffer<>> outs;
      for (int o : g.outputs) outs.push_back(bufferOf(g.value(o).shape, batch));
      Halide::Realization out(outs);
      m.pipeline.realize(out, opts.target);
      std::vector<double> t, cpu;
      for (int r = 0; r < reps; ++r) {
        double c0 = cpuSeconds();
        auto s = std::chrono::steady_clock::now();
        m.pipeline.realize(out, opts.target);
        t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - s).count());
        cpu.push_back((cpuSeconds() - c0) / threads);
      }
      std::sort(t.begin(), t.end());
      std::sort(cpu.begin(), cpu.end());
      double flops = l.flopsPerSample * batch;
      double med = t[t.size() / 2], best = t[0], cpuMed = cpu[cpu.size() / 2];
      std::printf("%-22s batch %3d thr %d  median %8.3f ms %6.1f GF/s | min %8.3f ms %6.1f GF/s %5.1f%% peak | cpu/thr %8.3f ms %6.1f GF/s  (compile %.2fs)\n",
                  l.name.c_str(), batch, threads, med * 1e3, flops / med / 1e9, best * 1e3, flops / best / 1e9,
                  100 * flops / best / 1e9 / peak, cpuMed * 1e3, flops / cpuMed / 1e9, compile);
      std::fflush(stdout);
    }
  }
  return 0;
}
