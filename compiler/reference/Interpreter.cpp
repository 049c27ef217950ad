// The reference interpreter's driver: validates the graph, the inputs and the
// parameters, then runs the ops in order, each through the kernel table
// (Kernels.h), keeping every value as a float tensor [N, ...].
#include "compiler/reference/Interpreter.h"
#include "compiler/ir/FusedPool.h"
#include "compiler/ir/Verifier.h"
#include "compiler/reference/Kernels.h"

#include <sstream>

namespace nncc {

namespace {

Shape batched(int64_t n, const Shape &perSample) {
  Shape s{n};
  s.insert(s.end(), perSample.begin(), perSample.end());
  return s;
}

bool checkGraph(const Graph &g, std::string &error) {
  Diagnostics diags;
  if (!verifyGraph(g, diags)) {
    error = "the graph is not valid: " + diags.all().front().message;
    return false;
  }
  for (int id : g.inputs) {
    const Value &v = g.value(id);
    if (!v.shapeKnown || v.shape.empty()) {
      error = "the shape of input '" + v.name + "' is unknown (were shapes inferred?)";
      return false;
    }
  }
  return true;
}

bool checkInputs(const Graph &g, const std::vector<TensorF32> &inputs, int64_t &batch, std::string &error) {
  if (inputs.size() != g.inputs.size()) {
    error = "the model has " + std::to_string(g.inputs.size()) + " input(s), " + std::to_string(inputs.size()) +
            " were given";
    return false;
  }
  batch = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Value &v = g.value(g.inputs[i]);
    const TensorF32 &t = inputs[i];
    bool ok = t.shape.size() == v.shape.size() + 1 && t.shape[0] >= 1 &&
              Shape(t.shape.begin() + 1, t.shape.end()) == v.shape;
    if (!ok) {
      error = "input '" + v.name + "' has shape " + shapeStr(t.shape) + ", expected [N, " +
              shapeStr(v.shape).substr(1);
      return false;
    }
    if (batch == 0) batch = t.shape[0];
    if (t.shape[0] != batch) {
      error = "input '" + v.name + "' has batch " + std::to_string(t.shape[0]) + " but input '" +
              g.value(g.inputs[0]).name + "' has batch " + std::to_string(batch);
      return false;
    }
    if (static_cast<int64_t>(t.data.size()) != numElements(t.shape)) {
      error = "input '" + v.name + "' of shape " + shapeStr(t.shape) + " holds " + std::to_string(t.data.size()) +
              " values, expected " + std::to_string(numElements(t.shape));
      return false;
    }
  }
  if (inputs.empty()) {
    error = "the model has no inputs";
    return false;
  }
  return true;
}

bool checkParams(const Graph &g, const TensorMap &params, std::string &error) {
  for (const Param &p : g.params) {
    auto it = params.find(p.name);
    if (it == params.end()) {
      error = "parameter '" + p.name + "' is missing";
      return false;
    }
    const TensorF32 &t = it->second;
    if (t.shape != p.shape || static_cast<int64_t>(t.data.size()) != numElements(p.shape)) {
      error = "parameter '" + p.name + "' has shape " + shapeStr(t.shape) + " (" + std::to_string(t.data.size()) +
              " values), expected " + shapeStr(p.shape);
      return false;
    }
  }
  return true;
}

}  // namespace

bool runReference(const Graph &g, const TensorMap &params, const std::vector<TensorF32> &inputs,
                  std::vector<TensorF32> &outputs, std::string &error, const TrainingMode *training) {
  using namespace reference;
  outputs.clear();
  int64_t batch = 0;
  if (!checkGraph(g, error) || !checkInputs(g, inputs, batch, error) || !checkParams(g, params, error)) return false;

  std::vector<TensorF32> values(g.values.size());
  for (size_t i = 0; i < inputs.size(); ++i) values[static_cast<size_t>(g.inputs[i])] = inputs[i];

  for (const Op &op : g.ops) {
    Kernel kernel = kernelFor(op.kind);
    if (!kernel) {
      error = "layer '" + op.name + "': no reference kernel for '" + opName(op.kind) + "'";
      return false;
    }
    TensorF32 &out = values[static_cast<size_t>(op.output)];
    out.shape = batched(batch, g.value(op.output).shape);
    out.data.assign(static_cast<size_t>(numElements(out.shape)), 0.0f);
    TensorF32 unpooled;  // with a fused pool, the op's own result, which the pool reads
    if (op.fused.pool) {
      unpooled.shape = batched(batch, op.fused.poolInput);
      unpooled.data.assign(static_cast<size_t>(numElements(unpooled.shape)), 0.0f);
    }
    KernelArgs args{op, batch, {}, {}, op.fused.pool ? unpooled : out, training};
    for (int in : op.inputs) args.inputs.push_back(&values[static_cast<size_t>(in)]);
    for (int p : op.params) {
      const Param &param = g.params[static_cast<size_t>(p)];
      args.params[param.role] = &params.at(param.name);
    }
    std::string kernelError;
    TensorF32 normalized;  // the fused preprocess prologue's result
    if (op.fused.preprocess) {
      if (!preprocessTensor(*args.inputs.at(0), op.fused.preprocessMean, op.fused.preprocessStd, normalized,
                            kernelError)) {
        error = "layer '" + op.name + "' (fused preprocess): " + kernelError;
        return false;
      }
      args.inputs[0] = &normalized;
    }
    if (!kernel(args, kernelError)) {
      error = "layer '" + op.name + "' (" + opName(op.kind) + "): " + kernelError;
      return false;
    }
    if (op.fused.pool) {
      Op pool = fusedPoolOp(op);
      KernelArgs poolArgs{pool, batch, {&unpooled}, {}, out, training};
      if (!kernelFor(pool.kind)(poolArgs, kernelError)) {
        error = "layer '" + op.name + "' (fused " + opName(pool.kind) + "): " + kernelError;
        return false;
      }
    }
  }

  for (int id : g.outputs) outputs.push_back(values[static_cast<size_t>(id)]);
  return true;
}

}  // namespace nncc
