// The IR printer.
#include "compiler/ir/Printer.h"

#include "compiler/ir/FusedPool.h"

#include <ostream>
#include <sstream>

namespace nncc {
namespace {

std::string typeStr(const Shape &s) {
  std::string r = "f32[N";
  for (int64_t d : s) r += ", " + std::to_string(d);
  return r + "]";
}

std::string groupDigits(int64_t n) {
  std::string s = std::to_string(n), r;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) r += ',';
    r += s[i];
  }
  return r;
}

std::string initStr(const InitSpec &s) {
  std::ostringstream os;
  os << initKindName(s.kind);
  if (s.kind == InitKind::Normal || s.kind == InitKind::TruncatedNormal) os << "(mean=" << s.mean << ", stddev=" << s.stddev << ")";
  if (s.kind == InitKind::Uniform) os << "(low=" << s.low << ", high=" << s.high << ")";
  return os.str();
}

}  // namespace

void printGraph(const Graph &g, std::ostream &os) {
  os << "model " << g.name << " (max_batch " << g.maxBatch << ", seed " << g.seed << ")\n";
  for (int in : g.inputs) os << "input %" << g.value(in).name << " : " << typeStr(g.value(in).shape) << "\n";
  for (const auto &p : g.params) {
    os << "param @" << p.name << " : f32" << shapeStr(p.shape) << " init=" << initStr(p.init);
    if (!p.trainable) os << " buffer";
    if (p.regularized) os << " regularized";
    os << "\n";
  }
  for (const auto &op : g.ops) {
    const OpInfo &info = opInfo(op.kind);
    os << "%" << g.value(op.output).name << " = " << info.name << "(";
    for (size_t k = 0; k < op.inputs.size(); ++k) os << (k ? ", " : "") << "%" << g.value(op.inputs[k]).name;
    os << ")";
    if (!info.attrs.empty()) {
      os << " {";
      bool first = true;
      for (const auto &s : info.attrs) {
        auto it = op.attrs.find(s.name);
        if (it == op.attrs.end()) continue;
        os << (first ? "" : ", ") << s.name << "=" << it->second.str();
        first = false;
      }
      os << "}";
    }
    if (op.fused.preprocess)
      os << " +preprocess(mean=" << Attr::makeFloatList(op.fused.preprocessMean).str()
         << ", std=" << Attr::makeFloatList(op.fused.preprocessStd).str() << ")";
    if (op.fused.batchnorm) os << " +batchnorm(epsilon=" << Attr::makeFloat(op.fused.batchnormEpsilon).str() << ")";
    if (op.fused.residual) os << " +residual(%" << g.value(op.inputs.back()).name << ")";
    os << fusedPoolStr(op);
    if (!op.params.empty()) {
      os << " [";
      for (size_t k = 0; k < op.params.size(); ++k) os << (k ? ", " : "") << "@" << g.params[static_cast<size_t>(op.params[k])].name;
      os << "]";
    }
    os << " : " << typeStr(g.value(op.output).shape);
    if (g.value(op.output).layout == Layout::ChannelsLast) os << " channels_last";
    if (g.value(op.output).border > 0) os << " border=" << g.value(op.output).border;
    os << "\n";
  }
  os << "outputs";
  for (size_t k = 0; k < g.outputs.size(); ++k) os << (k ? ", " : " ") << "%" << g.value(g.outputs[k]).name;
  os << "\n";
  if (g.training) {
    const TrainingConfig &t = *g.training;
    os << "training optimizer=" << t.optimizer << "(";
    bool first = true;
    for (const auto &[k, v] : t.optimizerArgs) {
      os << (first ? "" : ", ") << k << "=" << v;
      first = false;
    }
    os << ") schedule=" << t.schedule << "(";
    first = true;
    for (const auto &[k, v] : t.scheduleArgs) {
      os << (first ? "" : ", ") << k << "=" << v;
      first = false;
    }
    os << ") l2=" << t.l2 << " l1=" << t.l1 << "\n";
    for (const auto &l : t.losses) os << "loss " << lossKindName(l.kind) << "(%" << g.value(l.output).name << ")\n";
  }
  os << "# parameters: " << groupDigits(g.numTrainable()) << " trainable, " << groupDigits(g.numBuffers())
     << " buffers, in " << g.params.size() << " tensors\n";
}

}  // namespace nncc
