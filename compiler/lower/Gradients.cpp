// Gradient rules (see Gradients.h) of the activations, concat and the
// pools, as gathers: every gradient element is one Func value summing what
// reaches it, so no kernel scatters. Max pooling sends the gradient to the
// first maximum of each window in scan order (rows, then columns), as
// PyTorch; average pooling divides by the forward pass's own divisor.
#include "compiler/lower/Gradients.h"

#include <limits>

namespace nncc {
namespace lower {

using Halide::Expr;
using Halide::Func;

const Halide::ImageParam &GradArgs::param(ParamRole r) const {
  auto it = params.find(r);
  if (it == params.end()) throw LoweringError(op.name + ": missing parameter '" + paramRoleSuffix(r) + "'");
  return it->second;
}

Func activationBackward(const Activation &act, const LValue &y, const LValue &dy, Namer &namer,
                        const std::string &name, const LowerOptions &opts) {
  Dims d = dimsOf(y.shape);
  std::vector<Expr> at = d.exprs();
  Expr yv = y.f(at), g = dy.f(at);
  Func out(namer.unique(name));
  if (act.kind == OpKind::Softmax || act.kind == OpKind::LogSoftmax) {
    // softmax: dx = y * (dy - sum_axis(dy * y)); log_softmax: dx = dy - exp(y) * sum_axis(dy)
    size_t k = halideDim(y.shape.size(), static_cast<size_t>(act.axis));
    Dims reduced = d.without(k);
    Halide::RDom r({Halide::Range(0, d.extents[k])}, namer.unique(name + "_r"));
    std::vector<Expr> ra = at;
    ra[k] = r.x;
    std::vector<Expr> red = reduced.exprs();
    Func s(namer.unique(name + "_sum"));
    s(reduced.vars) = 0.f;
    s(red) += act.kind == OpKind::Softmax ? dy.f(ra) * y.f(ra) : dy.f(ra);
    scheduleReduction(s, reduced, {r.x}, opts);
    out(d.vars) = act.kind == OpKind::Softmax ? yv * (g - s(red)) : g - Halide::exp(yv) * s(red);
  } else {
    Expr slope;
    switch (act.kind) {
      case OpKind::Relu: slope = Halide::select(yv > 0.f, 1.f, 0.f); break;
      case OpKind::Sigmoid: slope = yv * (1.f - yv); break;
      case OpKind::Tanh: slope = 1.f - yv * yv; break;
      case OpKind::LeakyRelu: slope = Halide::select(yv > 0.f, 1.f, f32(act.alpha)); break;
      case OpKind::Elu: slope = Halide::select(yv > 0.f, 1.f, yv + f32(act.alpha)); break;
      default: throw LoweringError(name + ": no gradient for the activation '" + opName(act.kind) + "'");
    }
    out(d.vars) = g * slope;
  }
  schedulePointwise(out, d, opts);
  return out;
}

LValue gradThroughFusedActivation(const GradArgs &a, bool inlined) {
  if (!a.op.attrs.count("activation") || !a.op.attr("activation").hasActivation) return a.dy;
  const Activation &act = a.op.attr("activation").act;
  LowerOptions opts = a.opts;
  if (inlined && act.kind != OpKind::Softmax && act.kind != OpKind::LogSoftmax) opts.schedule = false;
  return {activationBackward(act, a.y, a.dy, a.namer, a.op.name + "_dpreact", opts), a.y.shape};
}

Expr regularizationGradient(const GradArgs &a, const Param &p, Expr w) {
  if (!p.regularized) return Expr(0.f);
  Expr r = Expr(0.f);
  if (a.l2 != 0.0) r = r + f32(a.l2) * w;
  if (a.l1 != 0.0) r = r + f32(a.l1) * Halide::select(w > 0.f, 1.f, Halide::select(w < 0.f, -1.f, 0.f));
  return r;
}

namespace {

struct Window {
  int kh, kw, sh, sw, pt, pl, pb, pr, h, w, oh, ow;
};

Window windowOf(const GradArgs &a) {
  const auto &k = a.op.intsAttr("size");
  const auto &s = a.op.intsAttr("stride");
  const auto &p = a.op.intsAttr("padding");
  const Shape &in = a.inputs[0].shape;
  return {int(k[0]), int(k[1]), int(s[0]), int(s[1]), int(p[0]), int(p[1]), int(p[2]), int(p[3]),
          int(in[1]),  int(in[2]),  int(a.y.shape[1]), int(a.y.shape[2])};
}

// dx(ix, iy, c, n) = sum over the taps (kx, ky) of the windows that contain
// (ix, iy): window (ox, oy) = ((ix + pl - kx) / sw, (iy + pt - ky) / sh) when
// that divides and lies inside the output; `term(ox, oy, kx, ky)` is what
// that window sends.
template <typename Term>
Func windowGather(const GradArgs &a, const Window &p, Term term, const std::string &name) {
  Dims d = dimsOf(a.inputs[0].shape);
  Halide::Var x = d.vars[0], y = d.vars[1];
  Halide::RDom r({{0, p.kw}, {0, p.kh}}, a.name(name + "_r"));
  Expr nx = x + p.pl - r.x, ny = y + p.pt - r.y;
  Expr ox = nx / p.sw, oy = ny / p.sh;
  Expr hit = nx % p.sw == 0 && ny % p.sh == 0 && ox >= 0 && ox < p.ow && oy >= 0 && oy < p.oh;
  Func dx(a.name(name));
  dx(d.vars) = 0.f;
  dx(d.vars) += Halide::select(hit, term(Halide::clamp(ox, 0, p.ow - 1), Halide::clamp(oy, 0, p.oh - 1), r.x, r.y), 0.f);
  scheduleReduction(dx, d, {r.x, r.y}, a.opts);
  return dx;
}

Func maxPoolInputGradient(const GradArgs &a) {
  Window p = windowOf(a);
  Dims od = dimsOf(a.y.shape);
  Halide::Var x = od.vars[0], y = od.vars[1], c = od.vars[2], n = od.vars[3];
  Func padded = padXY(a.inputs[0], f32(-std::numeric_limits<float>::infinity()), a.name("padded"));
  // The first maximum of each window in scan order (NaN wins, as forward).
  Halide::RDom r({{0, p.kw}, {0, p.kh}}, a.name("argmax_r"));
  Func best(a.name("argmax"));
  best(x, y, c, n) = {f32(-std::numeric_limits<float>::infinity()), -1};
  Expr v = padded(x * p.sw - p.pl + r.x, y * p.sh - p.pt + r.y, c, n);
  Expr cur = best(x, y, c, n)[0];
  Expr take = v > cur || Halide::is_nan(v) || best(x, y, c, n)[1] < 0;  // PyTorch: a NaN takes over
  best(x, y, c, n) = {Halide::select(take, v, cur), Halide::select(take, r.y * p.kw + r.x, best(x, y, c, n)[1])};
  best.compute_root();
  best.update().parallel(n);
  Halide::Var ci = dimsOf(a.inputs[0].shape).vars[2], ni = dimsOf(a.inputs[0].shape).vars[3];
  return windowGather(
      a, p,
      [&](Expr ox, Expr oy, Expr kx, Expr ky) {
        return Halide::select(best(ox, oy, ci, ni)[1] == ky * p.kw + kx, a.dy.f(ox, oy, ci, ni), 0.f);
      },
      "dinput");
}

Func avgPoolInputGradient(const GradArgs &a) {
  Window p = windowOf(a);
  bool includePad = a.op.boolAttr("count_include_pad");
  Halide::Var ci = dimsOf(a.inputs[0].shape).vars[2], ni = dimsOf(a.inputs[0].shape).vars[3];
  return windowGather(
      a, p,
      [&](Expr ox, Expr oy, Expr, Expr) {
        Expr x0 = ox * p.sw - p.pl, y0 = oy * p.sh - p.pt;
        Expr rows = includePad ? Halide::min(y0 + p.kh, p.h + p.pb) - y0 : Halide::min(y0 + p.kh, p.h) - Halide::max(y0, 0);
        Expr cols = includePad ? Halide::min(x0 + p.kw, p.w + p.pr) - x0 : Halide::min(x0 + p.kw, p.w) - Halide::max(x0, 0);
        return a.dy.f(ox, oy, ci, ni) / Halide::cast<float>(Halide::max(rows * cols, 1));
      },
      "dinput");
}

Func globalPoolInputGradient(const GradArgs &a, bool isMax) {
  const LValue &in = a.inputs[0];
  Dims d = dimsOf(in.shape);
  Halide::Var x = d.vars[0], y = d.vars[1], c = d.vars[2], n = d.vars[3];
  int h = int(in.shape[1]), w = int(in.shape[2]);
  Func dx(a.name("dinput"));
  if (!isMax) {
    dx(x, y, c, n) = a.dy.f(c, n) / f32(double(h) * double(w));
  } else {
    Halide::RDom r({{0, w}, {0, h}}, a.name("argmax_r"));
    Func best(a.name("argmax"));
    Halide::Var cc("cc"), nn("nn");
    best(cc, nn) = {f32(-std::numeric_limits<float>::infinity()), -1};
    Expr v = in.f(r.x, r.y, cc, nn), cur = best(cc, nn)[0];
    Expr take = v > cur || Halide::is_nan(v) || best(cc, nn)[1] < 0;
    best(cc, nn) = {Halide::select(take, v, cur), Halide::select(take, r.y * w + r.x, best(cc, nn)[1])};
    best.compute_root();
    best.update().parallel(nn);
    dx(x, y, c, n) = Halide::select(best(c, n)[1] == y * w + x, a.dy.f(c, n), 0.f);
  }
  schedulePointwise(dx, d, a.opts);
  return dx;
}

Func concatInputGradient(const GradArgs &a, int wrt) {
  size_t axis = static_cast<size_t>(a.op.intAttr("axis"));
  int offset = 0;
  for (int j = 0; j < wrt; ++j) offset += static_cast<int>(a.inputs[static_cast<size_t>(j)].shape[axis]);
  const Shape &s = a.inputs[static_cast<size_t>(wrt)].shape;
  Dims d = dimsOf(s);
  std::vector<Expr> at = d.exprs();
  size_t k = halideDim(s.size(), axis);
  at[k] = at[k] + offset;
  Func dx(a.name("dinput" + std::to_string(wrt)));
  dx(d.vars) = a.dy.f(at);
  schedulePointwise(dx, d, a.opts);
  return dx;
}

Activation activationOf(const Op &op) {
  Activation act;
  act.kind = op.kind;
  if (op.attrs.count("alpha")) act.alpha = op.floatAttr("alpha");
  if (op.attrs.count("axis")) act.axis = op.intAttr("axis");
  return act;
}

}  // namespace

Func lowerInputGradient(const GradArgs &a, int wrt) {
  switch (a.op.kind) {
    case OpKind::Dense: return denseInputGradient(a);
    case OpKind::Conv2D: return conv2dInputGradient(a);
    case OpKind::Conv2DTranspose: return conv2dTransposeInputGradient(a);
    case OpKind::MaxPool2D: return maxPoolInputGradient(a);
    case OpKind::AvgPool2D: return avgPoolInputGradient(a);
    case OpKind::GlobalAvgPool2D: return globalPoolInputGradient(a, false);
    case OpKind::GlobalMaxPool2D: return globalPoolInputGradient(a, true);
    case OpKind::Concat: return concatInputGradient(a, wrt);
    case OpKind::BatchNorm: return batchNormInputGradient(a);
    case OpKind::Dropout: {
      if (!a.dropout) throw LoweringError(a.op.name + ": dropout's gradient needs its mask arguments");
      Dims d = dimsOf(a.y.shape);
      Func scale = dropoutScale(a.op, a.y.shape, *a.dropout, a.namer);
      Func dx(a.name("dinput"));
      dx(d.vars) = a.dy.f(d.exprs()) * scale(d.exprs());
      schedulePointwise(dx, d, a.opts);
      return dx;
    }
    case OpKind::Relu:
    case OpKind::Sigmoid:
    case OpKind::Tanh:
    case OpKind::LeakyRelu:
    case OpKind::Elu:
    case OpKind::Softmax:
    case OpKind::LogSoftmax:
      return activationBackward(activationOf(a.op), a.y, a.dy, a.namer, a.op.name + "_dinput", a.opts);
    default:
      throw LoweringError(a.op.name + ": no input gradient for '" + opName(a.op.kind) + "'");
  }
}

Func lowerParamGradient(const GradArgs &a, const Param &p) {
  switch (a.op.kind) {
    case OpKind::Dense: return denseParamGradient(a, p);
    case OpKind::Conv2D: return conv2dParamGradient(a, p);
    case OpKind::Conv2DTranspose: return conv2dTransposeParamGradient(a, p);
    case OpKind::BatchNorm: return batchNormParamGradient(a, p);
    default: throw LoweringError(a.op.name + ": no parameter gradient for '" + opName(a.op.kind) + "'");
  }
}

}  // namespace lower
}  // namespace nncc
