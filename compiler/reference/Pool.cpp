// Reference kernels of the pooling family, as PyTorch: maxpool2d (padding
// never wins: padded positions are -inf), avgpool2d (count_include_pad counts
// the padding in the divisor but not a ceil_mode overhang beyond it; without
// it the divisor is the in-bounds elements), and the global pools.
#include "compiler/reference/Indexing.h"
#include "compiler/reference/Kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nncc {
namespace reference {
namespace {

// One pooling window along one axis: [begin, end) clipped to the input, and
// the window's extent within the padded input (PyTorch's divisor with
// count_include_pad).
struct WindowRange {
  int64_t begin, end, paddedExtent;
};

WindowRange window(int64_t o, int64_t size, int64_t stride, int64_t padBegin, int64_t padEnd, int64_t in) {
  int64_t start = o * stride - padBegin;
  int64_t stop = std::min(start + size, in + padEnd);
  WindowRange r;
  r.paddedExtent = stop - start;
  r.begin = std::max<int64_t>(start, 0);
  r.end = std::min(stop, in);
  return r;
}

// The windows of output (oy, ox) of a pool op on an input of h x w.
struct PoolGeometry {
  int64_t kh, kw, sh, sw, pt, pl, pb, pr;

  explicit PoolGeometry(const Op &op) {
    const auto &k = op.intsAttr("size");
    const auto &s = op.intsAttr("stride");
    const auto &p = op.intsAttr("padding");  // [t, l, b, r]
    kh = k[0], kw = k[1], sh = s[0], sw = s[1], pt = p[0], pl = p[1], pb = p[2], pr = p[3];
  }
  WindowRange rows(int64_t oy, int64_t h) const { return window(oy, kh, sh, pt, pb, h); }
  WindowRange cols(int64_t ox, int64_t w) const { return window(ox, kw, sw, pl, pr, w); }
};

// The maximum as PyTorch's max pools take it: a NaN in the window wins.
float maxNaN(float m, float v) { return (v > m || std::isnan(v)) ? v : m; }

bool checkPoolShapes(const KernelArgs &a, bool global, std::string &error) {
  const Shape &in = a.in().shape, &out = a.out.shape;
  bool ok = in.size() == 4 && (global ? out.size() == 2 : out.size() == 4) && out[1] == in[1];
  if (!ok) error = std::string(opName(a.op.kind)) + " shapes do not match: " + shapeStr(in) + " -> " + shapeStr(out);
  return ok;
}

}  // namespace

bool runMaxPool2D(const KernelArgs &a, std::string &error) {
  if (!checkPoolShapes(a, false, error)) return false;
  PoolGeometry p(a.op);
  Image in = Image::of(a.in()), out = Image::of(a.out);
  for (int64_t n = 0; n < out.n; ++n)
    for (int64_t c = 0; c < out.c; ++c)
      for (int64_t oy = 0; oy < out.h; ++oy)
        for (int64_t ox = 0; ox < out.w; ++ox) {
          WindowRange r = p.rows(oy, in.h), q = p.cols(ox, in.w);
          float m = -std::numeric_limits<float>::infinity();
          for (int64_t y = r.begin; y < r.end; ++y)
            for (int64_t x = q.begin; x < q.end; ++x) m = maxNaN(m, a.in().data[in.at(n, c, y, x)]);
          a.out.data[out.at(n, c, oy, ox)] = m;
        }
  return true;
}

bool runAvgPool2D(const KernelArgs &a, std::string &error) {
  if (!checkPoolShapes(a, false, error)) return false;
  PoolGeometry p(a.op);
  bool includePad = a.op.boolAttr("count_include_pad");
  Image in = Image::of(a.in()), out = Image::of(a.out);
  for (int64_t n = 0; n < out.n; ++n)
    for (int64_t c = 0; c < out.c; ++c)
      for (int64_t oy = 0; oy < out.h; ++oy)
        for (int64_t ox = 0; ox < out.w; ++ox) {
          WindowRange r = p.rows(oy, in.h), q = p.cols(ox, in.w);
          double sum = 0.0;
          for (int64_t y = r.begin; y < r.end; ++y)
            for (int64_t x = q.begin; x < q.end; ++x) sum += a.in().data[in.at(n, c, y, x)];
          int64_t divisor = includePad ? r.paddedExtent * q.paddedExtent : (r.end - r.begin) * (q.end - q.begin);
          a.out.data[out.at(n, c, oy, ox)] = static_cast<float>(divisor > 0 ? sum / double(divisor) : 0.0);
        }
  return true;
}

bool runGlobalAvgPool2D(const KernelArgs &a, std::string &error) {
  if (!checkPoolShapes(a, true, error)) return false;
  Image in = Image::of(a.in());
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t c = 0; c < in.c; ++c) {
      double sum = 0.0;
      for (int64_t y = 0; y < in.h; ++y)
        for (int64_t x = 0; x < in.w; ++x) sum += a.in().data[in.at(n, c, y, x)];
      a.out.data[n * in.c + c] = static_cast<float>(sum / double(in.h * in.w));
    }
  return true;
}

bool runGlobalMaxPool2D(const KernelArgs &a, std::string &error) {
  if (!checkPoolShapes(a, true, error)) return false;
  Image in = Image::of(a.in());
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t c = 0; c < in.c; ++c) {
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t y = 0; y < in.h; ++y)
        for (int64_t x = 0; x < in.w; ++x) m = maxNaN(m, a.in().data[in.at(n, c, y, x)]);
      a.out.data[n * in.c + c] = m;
    }
  return true;
}

}  // namespace reference
}  // namespace nncc
