// Builds a real Halide pipeline for test_halide.c: out(o, n) = b(o) + sum_k W(k, o) x(k, n)
// (row-major out[N, 2] = x[N, 3] W^T + b), parallel over the batch, with a user
// context, compiled as a static library with the Halide runtime.
// Usage: nncc-test-halide-gen OUTDIR
#include "Halide.h"

#include <string>

using namespace Halide;

int main(int argc, char **argv) {
  if (argc != 2)
    return 1;
  ImageParam x(Float(32), 2, "x"), w(Float(32), 2, "fc_weight"), b(Float(32), 1, "fc_bias");
  Var o("o"), n("n");
  RDom k(0, 3);
  Func out("out");
  out(o, n) = b(o) + sum(w(k, o) * x(k, n));
  out.bound(o, 0, 2).parallel(n);
  x.dim(0).set_bounds(0, 3);
  w.dim(0).set_bounds(0, 3);
  w.dim(1).set_bounds(0, 2);
  b.dim(0).set_bounds(0, 2);
  Target t = get_host_target().with_feature(Target::UserContext);
  out.compile_to_static_library(std::string(argv[1]) + "/halide_fc", {x, w, b}, "halide_fc", t);
  return 0;
}
