// Reference kernels of the convolution family, as PyTorch: conv2d (a
// cross-correlation with stride, dilation, padding [t, l, b, r] and groups)
// and conv2d_transpose (its adjoint, with output_padding), then the fused
// activation. Output sizes are the value shapes from shape inference.
#include "compiler/reference/Activation.h"
#include "compiler/reference/Indexing.h"
#include "compiler/reference/Kernels.h"

namespace nncc {
namespace reference {
namespace {

// The attributes both convolutions share.
struct ConvAttrs {
  int64_t kh, kw, sh, sw, dh, dw, padTop, padLeft, groups;

  explicit ConvAttrs(const Op &op) {
    const auto &k = op.intsAttr("kernel");
    const auto &s = op.intsAttr("stride");
    const auto &d = op.intsAttr("dilation");
    const auto &p = op.intsAttr("padding");  // [t, l, b, r]
    kh = k[0], kw = k[1], sh = s[0], sw = s[1], dh = d[0], dw = d[1];
    padTop = p[0], padLeft = p[1];
    groups = op.intAttr("groups");
  }
};

// What both convolutions check and compute before their loops: images in
// and out, groups dividing both channel counts, and the parameters' shapes
// (conv2d weight [F, C/g, kh, kw], conv2d_transpose weight [C, F/g, kh, kw]).
struct ConvSetup {
  ConvAttrs c;
  Image in, out;
  int64_t inPerGroup = 0, outPerGroup = 0;
  const std::vector<float> *x = nullptr, *w = nullptr;
  const TensorF32 *bias = nullptr;

  explicit ConvSetup(const Op &op) : c(op) {}
};

bool setUpConv(const KernelArgs &a, bool transposed, ConvSetup &s, std::string &error) {
  const std::string name = opName(a.op.kind);
  if (a.in().shape.size() != 4 || a.out.shape.size() != 4) {
    error = name + " needs images, got " + shapeStr(a.in().shape) + " -> " + shapeStr(a.out.shape);
    return false;
  }
  s.in = Image::of(a.in());
  s.out = Image::of(a.out);
  if (s.c.groups < 1 || s.in.c % s.c.groups != 0 || s.out.c % s.c.groups != 0) {
    error = "groups " + std::to_string(s.c.groups) + " does not divide the channels";
    return false;
  }
  s.inPerGroup = s.in.c / s.c.groups;
  s.outPerGroup = s.out.c / s.c.groups;
  Shape expectWeight = transposed ? Shape{s.in.c, s.outPerGroup, s.c.kh, s.c.kw}
                                  : Shape{s.out.c, s.inPerGroup, s.c.kh, s.c.kw};
  const TensorF32 *w = a.param(ParamRole::Weight);
  s.bias = a.param(ParamRole::Bias);
  if (!w || w->shape != expectWeight || (s.bias && s.bias->shape != Shape{s.out.c})) {
    error = name + " parameters do not match: weight " + (w ? shapeStr(w->shape) : std::string("missing")) +
            ", expected " + shapeStr(expectWeight);
    return false;
  }
  s.x = &a.in().data;
  s.w = &w->data;
  return true;
}

}  // namespace

// out[n, f, oy, ox] = bias[f] + sum over the channels c of f's group and the
// kernel taps (ky, kx) of in[n, c, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw] *
// weight[f, c - group start, ky, kx], the input being zero outside.
bool runConv2D(const KernelArgs &a, std::string &error) {
  ConvSetup s(a.op);
  if (!setUpConv(a, false, s, error)) return false;
  const ConvAttrs &c = s.c;
  const Image &in = s.in, &out = s.out;
  const int64_t inPerGroup = s.inPerGroup, outPerGroup = s.outPerGroup;
  const std::vector<float> &x = *s.x, &w = *s.w;
  const TensorF32 *bias = s.bias;
  for (int64_t n = 0; n < out.n; ++n) {
    for (int64_t f = 0; f < out.c; ++f) {
      int64_t group = f / outPerGroup;
      for (int64_t oy = 0; oy < out.h; ++oy) {
        for (int64_t ox = 0; ox < out.w; ++ox) {
          double acc = 0.0;
          for (int64_t ci = 0; ci < inPerGroup; ++ci) {
            int64_t channel = group * inPerGroup + ci;
            for (int64_t ky = 0; ky < c.kh; ++ky) {
              for (int64_t kx = 0; kx < c.kw; ++kx) {
                int64_t y = oy * c.sh - c.padTop + ky * c.dh;
                int64_t xx = ox * c.sw - c.padLeft + kx * c.dw;
                if (!in.inside(y, xx)) continue;  // zero padding
                double wv = w[static_cast<size_t>(((f * inPerGroup + ci) * c.kh + ky) * c.kw + kx)];
                acc += wv * double(x[static_cast<size_t>(in.at(n, channel, y, xx))]);
              }
            }
          }
          if (bias) acc += bias->data[static_cast<size_t>(f)];
          a.out.data[static_cast<size_t>(out.at(n, f, oy, ox))] = static_cast<float>(acc);
        }
      }
    }
  }
  return applyFusedEpilogue(a, error);
}

// The transpose of conv2d with weight [C_in, filters/groups, kh, kw]: input
// pixel (iy, ix) of channel c reaches output (iy*sh - pt + ky*dh, ix*sw - pl +
// kx*dw) through weight[c, f - group start, ky, kx]. Written as a gather: for
// each output element, the input pixels that reach it. output_padding only
// enlarges the output (already in its shape); those rows see the bias alone
// unless a tap reaches them.
bool runConv2DTranspose(const KernelArgs &a, std::string &error) {
  ConvSetup s(a.op);
  if (!setUpConv(a, true, s, error)) return false;
  const ConvAttrs &c = s.c;
  const Image &in = s.in, &out = s.out;
  const int64_t inPerGroup = s.inPerGroup, outPerGroup = s.outPerGroup;
  const std::vector<float> &x = *s.x, &w = *s.w;
  const TensorF32 *bias = s.bias;
  for (int64_t n = 0; n < out.n; ++n) {
    for (int64_t f = 0; f < out.c; ++f) {
      int64_t group = f / outPerGroup, fo = f % outPerGroup;
      for (int64_t oy = 0; oy < out.h; ++oy) {
        for (int64_t ox = 0; ox < out.w; ++ox) {
          double acc = 0.0;
          for (int64_t ci = 0; ci < inPerGroup; ++ci) {
            int64_t channel = group * inPerGroup + ci;
            for (int64_t ky = 0; ky < c.kh; ++ky) {
              for (int64_t kx = 0; kx < c.kw; ++kx) {
                // oy = iy*sh - pt + ky*dh  <=>  iy = (oy + pt - ky*dh) / sh, when exact.
                int64_t ny = oy + c.padTop - ky * c.dh, nx = ox + c.padLeft - kx * c.dw;
                if (ny < 0 || nx < 0 || ny % c.sh != 0 || nx % c.sw != 0) continue;
                int64_t iy = ny / c.sh, ix = nx / c.sw;
                if (!in.inside(iy, ix)) continue;
                double wv = w[static_cast<size_t>(((channel * outPerGroup + fo) * c.kh + ky) * c.kw + kx)];
                acc += wv * double(x[static_cast<size_t>(in.at(n, channel, iy, ix))]);
              }
            }
          }
          if (bias) acc += bias->data[static_cast<size_t>(f)];
          a.out.data[static_cast<size_t>(out.at(n, f, oy, ox))] = static_cast<float>(acc);
        }
      }
    }
  }
  return applyFusedEpilogue(a, error);
}

}  // namespace reference
}  // namespace nncc
