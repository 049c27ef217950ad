// Emission of one object per model: one Halide kernel per distinct op
// (compiled without the runtime, linked into one Halide module), Halide's
// runtime once, the generic model runtime (runtime/model/*.c, embedded in
// nncc as bitcode), and the generated part: a constant descriptor of the model
// with its weights, its memory plan and its programs (the kernel calls in
// order, each on buffers of the plan), and the public entry points, thin
// wrappers over nncc_rt_*. Every symbol but the entry points is then made
// internal, so that two models link into one program without clashes, and the
// object is emitted by a TargetMachine configured with the CPU and features
// Halide chose (see ../shared notes: otherwise no AVX-512).
#include "compiler/emit/Emitter.h"

#include "compiler/lower/Autotune.h"

#include "compiler/lower/Lowering.h"
#include "compiler/emit/ModelDescription.h"
#include "compiler/emit/ParallelFor.h"
#include "compiler/emit/SourceEmitter.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Metadata.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Linker/Linker.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Object/ArchiveWriter.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Target/TargetOptions.h>
#include <llvm/Transforms/IPO.h>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <map>
#include <set>
#include <thread>

#include <sys/resource.h>

// The model runtime's bitcode, one per supported architecture (emit/CMakeLists.txt).
extern const unsigned char nncc_runtime_bitcode_x86_64[];
extern const unsigned long nncc_runtime_bitcode_x86_64_size;
extern const unsigned char nncc_runtime_bitcode_aarch64[];
extern const unsigned long nncc_runtime_bitcode_aarch64_size;

namespace nncc {
namespace {

struct EmitFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The generated part of the module: the descriptor and the entry points.
class GlueBuilder {
 public:
  GlueBuilder(llvm::Module &m, const Graph &g, const TensorMap &params, const ModelDescription &desc)
      : m_(m), ctx_(m.getContext()), g_(g), params_(params), desc_(desc) {}

  std::set<std::string> build() {
    llvm::GlobalVariable *desc = buildDescriptor();
    std::set<std::string> exported;
    auto wrap = [&](const char *suffix, const char *rtName) {
      llvm::Function *rt = runtimeFunction(rtName);
      std::string name = g_.name + "_" + suffix;
      llvm::Function *f = llvm::Function::Create(rt->getFunctionType(), llvm::Function::ExternalLinkage, name, m_);
      llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx_, "entry", f));
      std::vector<llvm::Value *> args;
      for (auto &a : f->args()) args.push_back(&a);
      if (std::string(suffix) == "create") args = {desc};
      llvm::Value *r = b.CreateCall(rt, args);
      if (f->getReturnType()->isVoidTy()) b.CreateRetVoid();
      else b.CreateRet(r);
      exported.insert(name);
    };
    // NAME_create(void) calls nncc_rt_create(&desc): a wrapper without the argument.
    {
      llvm::Function *rt = runtimeFunction("nncc_rt_create");
      auto *fty = llvm::FunctionType::get(rt->getReturnType(), {}, false);
      std::string name = g_.name + "_create";
      llvm::Function *f = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, name, m_);
      llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx_, "entry", f));
      llvm::Value *d = b.CreatePointerCast(desc, rt->getFunctionType()->getParamType(0));
      b.CreateRet(b.CreateCall(rt, {d}));
      exported.insert(name);
    }
    wrap("destroy", "nncc_rt_destroy");
    wrap("set_threads", "nncc_rt_set_threads");
    wrap("load_weights", "nncc_rt_load_weights");
    wrap("save_weights", "nncc_rt_save_weights");
    wrap("last_error", "nncc_rt_last_error");
    exported.insert(buildPacked("forward", "nncc_rt_forward", /*groups=*/{{g_.inputs.size(), true}, {g_.outputs.size(), false}}, 0));
    if (desc_.hasTraining) {
      size_t nin = g_.inputs.size(), nt = desc_.targets.size();
      exported.insert(buildPacked("train_step", "nncc_rt_train_step", {{nin, true}, {nt, true}}, 1));
      exported.insert(buildPacked("compute_gradients", "nncc_rt_compute_gradients", {{nin, true}, {nt, true}}, 1));
      exported.insert(buildPacked("evaluate", "nncc_rt_evaluate", {{nin, true}, {nt, true}}, 2));
      wrap("gradients", "nncc_rt_gradients");
      wrap("apply_gradients", "nncc_rt_apply_gradients");
      wrap("set_learning_rate", "nncc_rt_set_learning_rate");
      wrap("set_seed", "nncc_rt_set_seed");
    }
    return exported;
  }

 private:
  llvm::Function *runtimeFunction(const char *name) {
    llvm::Function *f = m_.getFunction(name);
    if (!f || f->isDeclaration()) throw EmitFailure(std::string("the model runtime lacks ") + name);
    return f;
  }

  llvm::StructType *runtimeType(const char *name) {
    llvm::StructType *t = llvm::StructType::getTypeByName(ctx_, name);
    if (!t) throw EmitFailure(std::string("the model runtime lacks the type ") + name);
    return t;
  }

  llvm::Constant *string(const std::string &s) {
    llvm::Constant *data = llvm::ConstantDataArray::getString(ctx_, s);
    auto *gv = new llvm::GlobalVariable(m_, data->getType(), true, llvm::GlobalValue::PrivateLinkage, data, ".str.nncc");
    gv->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
    return llvm::ConstantExpr::getPointerCast(gv, llvm::Type::getInt8PtrTy(ctx_));
  }

  llvm::Constant *tensorDesc(llvm::StructType *ty, const std::string &name, const Shape &shape, int64_t size) {
    auto *i64 = llvm::Type::getInt64Ty(ctx_);
    std::vector<llvm::Constant *> dims;
    for (size_t k = 0; k < 4; ++k) dims.push_back(llvm::ConstantInt::get(i64, k < shape.size() ? shape[k] : 0));
    auto *dimsTy = llvm::cast<llvm::ArrayType>(ty->getElementType(2));
    return llvm::ConstantStruct::get(ty, {llvm::ConstantExpr::getPointerCast(string(name), ty->getElementType(0)),
                                          llvm::ConstantInt::get(llvm::Type::getInt32Ty(ctx_), shape.size()),
                                          llvm::ConstantArray::get(dimsTy, dims), llvm::ConstantInt::get(i64, size)});
  }

  // A private constant array, as a pointer of type `ptrTy`.
  llvm::Constant *array(llvm::Type *elemTy, const std::vector<llvm::Constant *> &elems, llvm::Type *ptrTy,
                        const char *name) {
    if (elems.empty()) return llvm::ConstantPointerNull::get(llvm::cast<llvm::PointerType>(ptrTy));
    auto *aty = llvm::ArrayType::get(elemTy, elems.size());
    auto *gv = new llvm::GlobalVariable(m_, aty, true, llvm::GlobalValue::PrivateLinkage,
                                        llvm::ConstantArray::get(aty, elems), name);
    return llvm::ConstantExpr::getPointerCast(gv, ptrTy);
  }

  llvm::GlobalVariable *buildDescriptor() {
    llvm::StructType *descTy = runtimeType("struct.nncc_model_desc");
    llvm::StructType *tensorTy = runtimeType("struct.nncc_tensor_desc");
    auto *i32 = llvm::Type::getInt32Ty(ctx_);
    auto *i64 = llvm::Type::getInt64Ty(ctx_);
    auto field = [&](unsigned i) { return descTy->getElementType(i); };
    std::vector<llvm::Constant *> ins, outs, ps, trainable;
    for (int v : g_.inputs) ins.push_back(tensorDesc(tensorTy, g_.value(v).name, g_.value(v).shape, numElements(g_.value(v).shape)));
    for (int v : g_.outputs) outs.push_back(tensorDesc(tensorTy, g_.value(v).name, g_.value(v).shape, numElements(g_.value(v).shape)));
    std::vector<float> values;
    for (const auto &p : g_.params) {
      ps.push_back(tensorDesc(tensorTy, p.name, p.shape, numElements(p.shape)));
      trainable.push_back(llvm::ConstantInt::get(llvm::Type::getInt8Ty(ctx_), p.trainable ? 1 : 0));
      auto it = params_.find(p.name);
      if (it == params_.end() || static_cast<int64_t>(it->second.data.size()) != numElements(p.shape))
        throw EmitFailure("no value of the right size for parameter " + p.name);
      values.insert(values.end(), it->second.data.begin(), it->second.data.end());
    }
    llvm::Constant *initial;
    if (values.empty()) {
      initial = llvm::ConstantPointerNull::get(llvm::cast<llvm::PointerType>(field(9)));
    } else {
      // As bytes, not floats: LLVM's AsmPrinter writes an i8 array with one
      // copy, but a float array element by element (about 1 us each: 11 s
      // of ResNet-18's 14 s of codegen for its 11.7M parameters). The same
      // object bytes; the targets are little-endian.
      llvm::Constant *data = llvm::ConstantDataArray::get(
          ctx_, llvm::ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(values.data()), values.size() * sizeof(float)));
      auto *gv = new llvm::GlobalVariable(m_, data->getType(), true, llvm::GlobalValue::PrivateLinkage, data,
                                          g_.name + ".initial_values");
      gv->setAlignment(llvm::Align(64));
      initial = llvm::ConstantExpr::getPointerCast(gv, field(9));
    }
    // The kernels, by their "_argv" forms.
    llvm::StructType *refTy = runtimeType("struct.nncc_buffer_ref");
    llvm::StructType *stepTy = runtimeType("struct.nncc_step");
    llvm::StructType *progTy = runtimeType("struct.nncc_program");
    auto *kernelPtrTy = llvm::cast<llvm::PointerType>(field(12))->getPointerElementType();
    std::vector<llvm::Constant *> kernels;
    for (size_t k = 0; k < desc_.kernelKeys.size(); ++k) {
      std::string name = ModelDescription::kernelName(g_.name, k) + "_argv";
      llvm::Function *fn = m_.getFunction(name);
      if (!fn) throw EmitFailure("Halide did not produce " + name);
      kernels.push_back(llvm::ConstantExpr::getPointerCast(fn, kernelPtrTy));
    }
    std::vector<llvm::Constant *> refs;
    for (const RefDesc &r : desc_.refs) {
      std::vector<llvm::Constant *> dims;
      for (size_t k = 0; k < 4; ++k) dims.push_back(llvm::ConstantInt::get(i64, k < r.dims.size() ? r.dims[k] : 0));
      refs.push_back(llvm::ConstantStruct::get(
          refTy, {llvm::ConstantInt::get(i32, r.kind), llvm::ConstantInt::get(i32, r.index),
                  llvm::ConstantInt::get(i64, r.offset), llvm::ConstantInt::get(i32, r.dims.size()),
                  llvm::ConstantInt::get(i32, r.batched ? 1 : 0),
                  llvm::ConstantArray::get(llvm::cast<llvm::ArrayType>(refTy->getElementType(5)), dims),
                  llvm::ConstantInt::get(i32, r.isInt ? 1 : 0), llvm::ConstantInt::get(i32, r.channelsLast ? 1 : 0),
                  llvm::ConstantInt::get(i32, r.border), llvm::ConstantInt::get(i32, r.interior ? 1 : 0)}));
    }
    auto program = [&](const std::vector<StepDesc> &prog, const char *name) {
      std::vector<llvm::Constant *> steps;
      for (const StepDesc &st : prog)
        steps.push_back(llvm::ConstantStruct::get(stepTy, {llvm::ConstantInt::get(i32, st.kernel),
                                                           llvm::ConstantInt::get(i32, st.firstRef),
                                                           llvm::ConstantInt::get(i32, st.numRefs),
                                                           llvm::ConstantInt::get(i64, st.work),
                                                           llvm::ConstantExpr::getPointerCast(
                                                               string(st.name), stepTy->getElementType(4))}));
      return llvm::ConstantStruct::get(progTy, {llvm::ConstantInt::get(i32, steps.size()),
                                                array(stepTy, steps, progTy->getElementType(1), name)});
    };
    auto i32s = [&](const std::vector<int> &v, unsigned fieldIndex, const char *name) {
      std::vector<llvm::Constant *> c;
      for (int x : v) c.push_back(llvm::ConstantInt::get(i32, x));
      return array(i32, c, field(fieldIndex), name);
    };
    auto f64 = [&](double v) { return llvm::ConstantFP::get(llvm::Type::getDoubleTy(ctx_), v); };
    std::vector<llvm::Constant *> targets, gradOffsets, classes;
    for (const TargetDesc &t : desc_.targets) {
      targets.push_back(tensorDesc(tensorTy, t.name, t.shape, numElements(t.shape)));
      classes.push_back(llvm::ConstantInt::get(i32, t.classes));
    }
    for (int64_t o : desc_.gradOffset) gradOffsets.push_back(llvm::ConstantInt::get(i64, o));

    std::vector<llvm::Constant *> f = {
        llvm::ConstantExpr::getPointerCast(string(g_.name), field(0)),
        llvm::ConstantInt::get(i32, g_.maxBatch),
        llvm::ConstantInt::get(i32, g_.inputs.size()),
        llvm::ConstantInt::get(i32, g_.outputs.size()),
        llvm::ConstantInt::get(i32, g_.params.size()),
        array(tensorTy, ins, field(5), "nncc.inputs"),
        array(tensorTy, outs, field(6), "nncc.outputs"),
        array(tensorTy, ps, field(7), "nncc.params"),
        array(llvm::Type::getInt8Ty(ctx_), trainable, field(8), "nncc.trainable"),
        initial,
        llvm::ConstantInt::get(i64, values.size()),
        llvm::ConstantInt::get(i32, kernels.size()),
        array(kernelPtrTy, kernels, field(12), "nncc.kernels"),
        llvm::ConstantInt::get(i32, refs.size()),
        array(refTy, refs, field(14), "nncc.refs"),
        llvm::ConstantInt::get(i64, desc_.arenaFloats),
        program(desc_.forward, "nncc.forward_steps"),
        llvm::ConstantInt::get(i32, desc_.hasTraining ? 1 : 0),
        llvm::ConstantInt::get(i32, desc_.targets.size()),
        array(tensorTy, targets, field(19), "nncc.targets"),
        array(i32, classes, field(20), "nncc.target_classes"),
        llvm::ConstantInt::get(i64, desc_.numGradFloats),
        array(i64, desc_.hasTraining ? gradOffsets : std::vector<llvm::Constant *>(), field(22), "nncc.grad_offset"),
        llvm::ConstantInt::get(i32, desc_.numStates),
        llvm::ConstantInt::get(i32, desc_.hasTraining ? desc_.numScalars : 0),
        llvm::ConstantInt::get(i32, desc_.costSlots.size()),
        i32s(desc_.costSlots, 26, "nncc.cost_slots"),
        llvm::ConstantInt::get(i32, desc_.correctSlots.size()),
        i32s(desc_.correctSlots, 28, "nncc.correct_slots"),
        f64(desc_.adamBeta1),
        f64(desc_.adamBeta2),
        llvm::ConstantInt::get(i32, desc_.schedule),
        llvm::ConstantArray::get(llvm::cast<llvm::ArrayType>(field(32)), {f64(desc_.scheduleArgs[0]), f64(desc_.scheduleArgs[1])}),
        f64(desc_.learningRate),
        llvm::ConstantInt::get(i64, desc_.trainArenaFloats),
        program(desc_.train, "nncc.train_steps"),
        program(desc_.evaluate, "nncc.evaluate_steps"),
        program(desc_.update, "nncc.update_steps"),
        program(desc_.trainStep, "nncc.train_step_steps"),
        llvm::ConstantInt::get(i64, desc_.seed),
        stateNames(field(40)),
        llvm::ConstantInt::get(i64, desc_.packedFloats),
        program(desc_.prepack, "nncc.prepack_steps"),
    };
    if (descTy->getNumElements() != f.size())
      throw EmitFailure("nncc_model_desc has " + std::to_string(descTy->getNumElements()) + " fields, expected " +
                        std::to_string(f.size()));
    return new llvm::GlobalVariable(m_, descTy, true, llvm::GlobalValue::PrivateLinkage,
                                    llvm::ConstantStruct::get(descTy, f), g_.name + ".desc");
  }

  // The optimizer state's names: a private array of string pointers, as the
  // field's type `fieldTy`.
  llvm::Constant *stateNames(llvm::Type *fieldTy) {
    llvm::Type *strTy = llvm::cast<llvm::PointerType>(fieldTy)->getPointerElementType();
    std::vector<llvm::Constant *> names;
    for (const std::string &n : desc_.stateNames) names.push_back(llvm::ConstantExpr::getPointerCast(string(n), strTy));
    return array(strTy, names, fieldTy, "nncc.state_names");
  }

  // NAME_x(m, batch, group0 pointers..., group1 pointers..., trailing...) ->
  // nncc_rt_x(m, batch, array0, array1, trailing...): each group of pointer
  // arguments is packed into an array on the stack (forward: inputs and
  // outputs; training: inputs and targets). The pointers' types follow the
  // runtime's array element types; `trailing` arguments pass through.
  struct Group {
    size_t count;
    bool isConst;
  };
  std::string buildPacked(const char *suffix, const char *rtName, const std::vector<Group> &groups, size_t trailing) {
    llvm::Function *rt = runtimeFunction(rtName);
    llvm::FunctionType *rty = rt->getFunctionType();
    std::vector<llvm::Type *> params = {rty->getParamType(0), rty->getParamType(1)};
    std::vector<llvm::Type *> elemTys;
    for (size_t k = 0; k < groups.size(); ++k) {
      llvm::Type *elem = llvm::cast<llvm::PointerType>(rty->getParamType(2 + k))->getPointerElementType();
      elemTys.push_back(elem);
      for (size_t j = 0; j < groups[k].count; ++j) params.push_back(elem);
    }
    for (size_t t = 0; t < trailing; ++t) params.push_back(rty->getParamType(2 + groups.size() + t));
    auto *fty = llvm::FunctionType::get(rty->getReturnType(), params, false);
    std::string name = g_.name + "_" + suffix;
    llvm::Function *f = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, name, m_);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx_, "entry", f));
    std::vector<llvm::Value *> args = {f->getArg(0), f->getArg(1)};
    unsigned next = 2;
    for (size_t k = 0; k < groups.size(); ++k) {
      auto *aty = llvm::ArrayType::get(elemTys[k], std::max<size_t>(groups[k].count, 1));
      llvm::Value *arr = b.CreateAlloca(aty);
      for (size_t j = 0; j < groups[k].count; ++j)
        b.CreateStore(f->getArg(next++), b.CreateConstInBoundsGEP2_32(aty, arr, 0, static_cast<unsigned>(j)));
      args.push_back(b.CreatePointerCast(arr, rty->getParamType(2 + k)));
    }
    for (size_t t = 0; t < trailing; ++t) args.push_back(f->getArg(next++));
    b.CreateRet(b.CreateCall(rt, args));
    return name;
  }

  llvm::Module &m_;
  llvm::LLVMContext &ctx_;
  const Graph &g_;
  const TensorMap &params_;
  const ModelDescription &desc_;
};

// Everything defined in the module becomes internal but the entry points.
void internalizeAllBut(llvm::Module &m, const std::set<std::string> &exported) {
  auto hide = [&](llvm::GlobalValue &gv) {
    if (gv.isDeclaration() || gv.getName().startswith("llvm.") || exported.count(gv.getName().str())) return;
    gv.setLinkage(llvm::GlobalValue::InternalLinkage);
    gv.setVisibility(llvm::GlobalValue::DefaultVisibility);
    gv.setDLLStorageClass(llvm::GlobalValue::DefaultStorageClass);
    if (auto *go = llvm::dyn_cast<llvm::GlobalObject>(&gv)) go->setComdat(nullptr);
  };
  for (auto &f : m.functions()) hide(f);
  for (auto &g : m.globals()) hide(g);
  for (auto &a : m.aliases()) hide(a);
  m.getComdatSymbolTable().clear();
}

// Halide's Mullapudi2016 autoscheduler (the plugin Debian ships), for the
// host's two cores and its 4 MiB of L2 per core by default.
// Called from the serial lowering phase only (the plugin load is unguarded).
void autoSchedule(LoweredKernel &k, const Halide::Target &target) {
  static bool loaded = false;
  if (!loaded) {
    Halide::load_plugin(NNCC_MULLAPUDI2016_PLUGIN);
    loaded = true;
  }
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  k.pipeline.auto_schedule("Mullapudi2016", target, Halide::MachineParams(static_cast<int>(cores), 4 << 20, 40));
}

Halide::Target parseTarget(const std::string &s) {
  if (s == "host") return Halide::get_host_target();
  if (!Halide::Target::validate_target_string(s)) throw EmitFailure("unknown target '" + s + "'");
  return Halide::Target(s);
}

// The phases of one compile, wall and CPU time, printed by --time-passes.
class PhaseTimer {
 public:
  using Clock = std::chrono::steady_clock;
  static double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
  // The process's CPU time (every thread's, user and system), in seconds.
  static double cpu() {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  }
  void start() {
    wall_ = Clock::now();
    cpu_ = cpu();
  }
  void stop(const std::string &name) { phases_.push_back({name, since(wall_), cpu() - cpu_}); }
  void print(std::ostream &os) const {
    os << "; emission timings (seconds: wall, CPU of all threads)\n";
    for (const auto &p : phases_)
      os << ";   " << std::fixed << std::setprecision(6) << p.wall << "  " << p.cpu << "  " << p.name << "\n";
    os.unsetf(std::ios::floatfield);
  }

 private:
  struct Phase {
    std::string name;
    double wall, cpu;
  };
  std::vector<Phase> phases_;
  Clock::time_point wall_;
  double cpu_ = 0;
};

// Everything a kernel needs to be lowered.
struct KernelContext {
  const Graph &g;
  const BackwardProgram &bp;
  const LowerOptions &lo;
  const LowerOptions &opLo;  // the op kernels' and pack kernels' (unscheduled for --schedule=auto)
  const EmitOptions &opts;
  Halide::Target target;
};

LoweredKernel lowerKernel(const KernelContext &c, const KernelSource &src) {
  const Graph &g = c.g;
  switch (src.kind) {
    case KernelSource::Op: {
      LoweredKernel lk = lowerOpKernel(g, g.ops[static_cast<size_t>(src.index)], c.opLo);
      if (c.opts.schedule == "auto") autoSchedule(lk, c.target);
      return lk;
    }
    case KernelSource::Prepack: return lowerConvWeightPackKernel(g, g.ops[static_cast<size_t>(src.index)], c.opLo);
    case KernelSource::TrainForward: return lowerTrainForwardKernel(g, g.ops[static_cast<size_t>(src.index)], c.lo);
    case KernelSource::Train: return lowerTrainKernel(g, c.bp, c.bp.steps[static_cast<size_t>(src.index)], c.lo);
    case KernelSource::Update: return lowerUpdateKernel(g, src.numel, c.lo);
    case KernelSource::FusedUpdate: return lowerFusedUpdateKernel(g, c.bp, c.bp.steps[static_cast<size_t>(src.index)], c.lo);
  }
  throw EmitFailure("unknown kernel kind");
}

// A Halide module as LLVM bitcode, through an LLVM context of its own (one
// per call, so that workers share nothing LLVM-side). Halide runs LLVM's
// optimization passes on the module here.
std::string toBitcode(const Halide::Module &hm) {
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = Halide::compile_module_to_llvm_module(hm, ctx);
  std::string bc;
  llvm::raw_string_ostream os(bc);
  llvm::WriteBitcodeToFile(*m, os);
  os.flush();
  return bc;
}

// Halide marks a module that uses strict_float with the flag below, which
// makes the code generator drop its global fast-math options (the
// instructions carry their own flags). Modules compiled on their own disagree
// on it: every part gets the value one module of them all would have had.
void agreeOnStrictFloat(std::vector<std::unique_ptr<llvm::Module>> &parts) {
  const char *key = "halide_per_instruction_fast_math_flags";
  bool any = false;
  for (const auto &p : parts)
    if (auto *c = llvm::mdconst::dyn_extract_or_null<llvm::ConstantInt>(p->getModuleFlag(key))) any |= !c->isZero();
  for (const auto &p : parts)
    if (p->getModuleFlag(key))
      p->setModuleFlag(llvm::Module::Warning, key,
                       llvm::ConstantAsMetadata::get(llvm::ConstantInt::get(llvm::Type::getInt32Ty(p->getContext()), any)));
}

// Names Halide made unique with its process-wide counters while generating
// code ("vrshrn_wrapper$3" for some ARM intrinsics) depend on which worker
// got there first; they are all internal by now, so the "$N" goes and LLVM
// numbers clashes in module order, the same for every -j.
void renumberUniqueNames(llvm::Module &m) {
  auto renumber = [](llvm::GlobalValue &gv) {
    std::string name = gv.getName().str();
    size_t dollar = name.find('$');
    if (dollar == std::string::npos || !gv.hasLocalLinkage()) return;
    std::string plain;
    for (size_t i = 0; i < name.size(); ++i) {
      if (name[i] != '$') {
        plain += name[i];
        continue;
      }
      while (i + 1 < name.size() && name[i + 1] >= '0' && name[i + 1] <= '9') ++i;
    }
    gv.setName(plain);
  };
  for (auto &f : m.functions()) renumber(f);
  for (auto &g : m.globals()) renumber(g);
}

}  // namespace

bool emitModel(const Graph &g, const TensorMap &params, const EmitOptions &opts, std::string &bytes, std::string &error) {
  try {
    Halide::Target target = parseTarget(opts.target);
    bool x86 = target.arch == Halide::Target::X86, arm = target.arch == Halide::Target::ARM;
    if (!(x86 || arm) || target.bits != 64 || target.os != Halide::Target::Linux)
      throw EmitFailure("target '" + opts.target + "': this version of nncc emits x86-64 and AArch64 Linux objects only");
    target = target.with_feature(Halide::Target::UserContext);
    LowerOptions lo;
    lo.target = target;
    lo.prepackConvWeights = true;  // (the autotuner times the kernels so too)
    lo.winograd = opts.winograd;
    lo.prepackDenseWeights = !(opts.training && g.training.has_value());
    if (opts.autotune || !opts.tuneCache.empty()) {
      std::string path = opts.tuneCache.empty() ? defaultTuneCachePath() : opts.tuneCache, err;
      TuneCache cache;
      if (!cache.load(path, err)) throw EmitFailure("autotune cache " + err);
      if (opts.autotune) {
        AutotuneOptions ao;
        ao.log = opts.log;
        if (autotuneGraph(g, lo, cache, ao) > 0 && !cache.save(path, err))
          throw EmitFailure("autotune cache " + path + ": " + err);
      }
      lo.choices = cache.choicesFor(lo.target.to_string());
    }
    // The op kernels' options: --schedule=auto leaves them unscheduled for
    // the autoscheduler (and then no weight is prepacked).
    LowerOptions opOpts = lo;
    if (opts.schedule == "auto") opOpts.schedule = false;
    std::vector<std::string> opKeys;
    std::vector<PackedWeightDesc> packed;
    for (const Op &op : g.ops) {
      std::optional<Shape> shape = packedWeightShape(g, op, opOpts);
      // A prepacked forward kernel takes another argument than the same op's
      // unpacked kernel: another key.
      opKeys.push_back(kernelKey(g, op) + (shape ? " weight-prepacked" + shapeStr(*shape) : ""));
      packed.push_back(shape ? PackedWeightDesc{*shape, convWeightPackKernelKey(g, op, opOpts)} : PackedWeightDesc{});
    }
    // Training: the backward program, its memory plan and kernel keys.
    BackwardProgram bp;
    TrainingMemoryPlan trainPlan;
    TrainingInput ti;
    bool training = opts.training && g.training.has_value();
    if (training) {
      Diagnostics diags;
      if (!buildBackward(g, bp, diags)) throw EmitFailure("autodiff: " + diags.all().front().str());
      trainPlan = planTrainingMemory(g, bp);
      ti.bp = &bp;
      ti.plan = &trainPlan;
      for (const TrainStep &s : bp.steps) ti.stepKeys.push_back(trainKernelKey(g, bp, s));
      for (const Param &p : g.params) ti.updateKeys.push_back(p.trainable ? updateKernelKey(g, numElements(p.shape)) : "");
      ti.numStates = optimizerStateCount(g);
      ti.stateNames = optimizerStateNames(g);
      for (const Op &op : g.ops) ti.trainForwardKeys.push_back(trainsDifferently(op) ? trainForwardKernelKey(g, op) : "");
      for (const TrainStep &s : bp.steps) ti.fusedKeys.push_back(fusesUpdate(g, s) ? fusedUpdateKernelKey(g, bp, s) : "");
    }
    ModelDescription desc = describeModel(g, planMemory(g), opKeys, packed, training ? &ti : nullptr);
    if (opts.packedWeightBytes) *opts.packedWeightBytes = desc.packedFloats * int64_t(sizeof(float));
    // One kernel per distinct key, compiled without the Halide runtime; the
    // Halide runtime comes once, from a trivial pipeline compiled with it
    // (the pipeline itself is removed as dead code below). Two phases:
    // Halide's lowering of every kernel, in kernel order on this thread, then
    // the LLVM side of each (Halide's code generator and LLVM's optimization
    // passes, into an LLVM context of its own) on parallelFor's workers. The
    // first phase stays serial so that the names Halide makes unique with its
    // process-wide counters come out the same for every -j (docs/codegen.md).
    PhaseTimer timer;
    timer.start();
    size_t numKernels = desc.kernelKeys.size();
    bool source = opts.kind == OutputKind::CppSource;
    std::vector<Halide::Module> modules;
    Halide::Target kernelTarget = target.with_feature(Halide::Target::NoRuntime);
    KernelContext kc{g, bp, lo, opOpts, opts, target};
    for (size_t k = 0; k < numKernels; ++k) {
      LoweredKernel lk = lowerKernel(kc, desc.kernelSources[k]);
      if (source) scheduleForSource(lk.pipeline);
      modules.push_back(lk.pipeline.compile_to_module(lk.arguments, ModelDescription::kernelName(g.name, k), kernelTarget));
    }
    timer.stop("lowering the kernels: nncc's, then Halide's (one thread)");
    if (source) {
      bytes = writeModelSource(g, params, desc, modules);  // SourceEmitter.cpp
      if (opts.timePhases && opts.log) timer.print(*opts.log);
      return true;
    }
    {
      Halide::Func anchor(g.name + "_runtime_anchor");
      Halide::Var x;
      anchor(x) = 0.0f;
      modules.push_back(Halide::Pipeline(anchor).compile_to_module({}, g.name + "_runtime_anchor", target));
    }
    timer.start();
    std::vector<std::string> bitcode(modules.size());
    unsigned jobs = opts.jobs ? opts.jobs : defaultJobs();
    parallelFor(modules.size(), jobs, [&](size_t k) { bitcode[k] = toBitcode(modules[k]); });
    modules.clear();
    timer.stop("the kernels and the Halide runtime to optimized LLVM IR (" + std::to_string(jobs) +
               (jobs == 1 ? " thread)" : " threads)"));
    timer.start();
    llvm::LLVMContext ctx;
    std::vector<std::unique_ptr<llvm::Module>> parts;
    for (size_t k = 0; k <= numKernels; ++k) {
      auto part = llvm::parseBitcodeFile(llvm::MemoryBufferRef(bitcode[k], ModelDescription::kernelName(g.name, k)), ctx);
      if (!part) throw EmitFailure("cannot read back a kernel's bitcode: " + llvm::toString(part.takeError()));
      std::string().swap(bitcode[k]);
      parts.push_back(std::move(*part));
    }
    agreeOnStrictFloat(parts);
    std::unique_ptr<llvm::Module> m = std::move(parts[0]);
    for (size_t k = 1; k < parts.size(); ++k)
      if (llvm::Linker::linkModules(*m, std::move(parts[k])))
        throw EmitFailure(k == numKernels ? "linking the Halide runtime failed" : "linking the kernels failed");
    auto rt = llvm::parseBitcodeFile(
        x86 ? llvm::MemoryBufferRef(llvm::StringRef(reinterpret_cast<const char *>(nncc_runtime_bitcode_x86_64),
                                                    nncc_runtime_bitcode_x86_64_size),
                                    "nncc_runtime_x86_64")
            : llvm::MemoryBufferRef(llvm::StringRef(reinterpret_cast<const char *>(nncc_runtime_bitcode_aarch64),
                                                    nncc_runtime_bitcode_aarch64_size),
                                    "nncc_runtime_aarch64"),
        ctx);
    if (!rt) throw EmitFailure("cannot read the embedded model runtime: " + llvm::toString(rt.takeError()));
    (*rt)->setTargetTriple(m->getTargetTriple());
    (*rt)->setDataLayout(m->getDataLayout());
    if (llvm::Linker::linkModules(*m, std::move(*rt))) throw EmitFailure("linking the model runtime failed");
    std::set<std::string> exported = GlueBuilder(*m, g, params, desc).build();
    internalizeAllBut(*m, exported);
    renumberUniqueNames(*m);
    std::string verifyMsg;
    llvm::raw_string_ostream vos(verifyMsg);
    if (llvm::verifyModule(*m, &vos)) throw EmitFailure("the linked module does not verify: " + vos.str());
    {
      llvm::legacy::PassManager dce;
      dce.add(llvm::createGlobalDCEPass());
      dce.run(*m);
    }

    timer.stop("linking, the model runtime, the descriptor");
    if (opts.kind == OutputKind::LLVMIR) {
      // The code generator names its temporaries from Halide's process-wide
      // counters too ("t4157", "a400"), in whichever order the workers ran:
      // unnamed, they print as %N in instruction order, the same for every -j.
      for (auto &f : m->functions())
        for (auto &bb : f)
          for (auto &inst : bb) inst.setName("");
      llvm::raw_string_ostream os(bytes);
      m->print(os, nullptr);
      os.flush();
      if (opts.timePhases && opts.log) timer.print(*opts.log);
      return true;
    }
    timer.start();
    if (x86) {
      LLVMInitializeX86TargetInfo();
      LLVMInitializeX86Target();
      LLVMInitializeX86TargetMC();
      LLVMInitializeX86AsmPrinter();
    } else {
      LLVMInitializeAArch64TargetInfo();
      LLVMInitializeAArch64Target();
      LLVMInitializeAArch64TargetMC();
      LLVMInitializeAArch64AsmPrinter();
    }
    std::string err;
    const llvm::Target *tgt = llvm::TargetRegistry::lookupTarget(m->getTargetTriple(), err);
    if (!tgt) throw EmitFailure(err);
    llvm::TargetOptions topts;
    std::string mcpu, mattrs;
    Halide::Internal::get_target_options(*m, topts, mcpu, mattrs);
    std::unique_ptr<llvm::TargetMachine> tm(tgt->createTargetMachine(
        m->getTargetTriple(), mcpu, mattrs, topts, llvm::Reloc::PIC_, llvm::None, llvm::CodeGenOpt::Aggressive));
    m->setDataLayout(tm->createDataLayout());
    llvm::SmallVector<char, 0> buf;
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    auto type = opts.kind == OutputKind::Assembly ? llvm::CGFT_AssemblyFile : llvm::CGFT_ObjectFile;
    if (tm->addPassesToEmitFile(pm, os, nullptr, type)) throw EmitFailure("the target cannot emit this file type");
    pm.run(*m);
    timer.stop("LLVM code generation (one thread)");
    if (opts.timePhases && opts.log) timer.print(*opts.log);
    if (opts.kind != OutputKind::StaticLibrary) {
      bytes.assign(buf.begin(), buf.end());
      return true;
    }
    // A static library: an archive with the object as its one member, with a symbol table.
    std::vector<llvm::NewArchiveMember> members;
    members.emplace_back(llvm::MemoryBufferRef(llvm::StringRef(buf.data(), buf.size()), g.name + ".o"));
    auto archive = llvm::writeArchiveToBuffer(members, true, llvm::object::Archive::K_GNU, true, false);
    if (!archive) throw EmitFailure("writing the archive failed: " + llvm::toString(archive.takeError()));
    bytes.assign((*archive)->getBufferStart(), (*archive)->getBufferEnd());
    return true;
  } catch (const EmitFailure &e) {
    error = e.what();
  } catch (const LoweringError &e) {
    error = std::string("lowering: ") + e.what();
  } catch (const Halide::Error &e) {
    error = std::string("Halide: ") + e.what();
  }
  return false;
}

}  // namespace nncc
