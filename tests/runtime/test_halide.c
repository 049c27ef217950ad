/* The runtime with a real Halide pipeline (built by halide_pipe_gen.cpp) and
 * the Halide runtime linked in: the layout contract, halide_do_par_for and
 * halide_error replacing Halide's weak definitions, per-instance threads. */
#define _POSIX_C_SOURCE 200809L
#include "fake_model.h"

#include "halide_fc.h"

static const nncc_tensor_desc kBadInputs[] = {{"x", 1, {4, 0, 0, 0}, 4}};
/* The step's refs as the fake model's, but x with 4 floats per sample. */
static const nncc_buffer_ref kBadRefs[] = {{NNCC_REF_INPUT, 0, 0, 1, 1, {4, 0, 0, 0}, 0, 0, 0, 0},
                                           {NNCC_REF_PARAM, 0, 0, 2, 0, {2, 3, 0, 0}, 0, 0, 0, 0},
                                           {NNCC_REF_PARAM, 1, 0, 1, 0, {2, 0, 0, 0}, 0, 0, 0, 0},
                                           {NNCC_REF_OUTPUT, 0, 0, 1, 1, {2, 0, 0, 0}, 0, 0, 0, 0}};
static const nncc_kernel_fn kHalideKernels[] = {halide_fc_argv};

/* threads of this process: the main one plus pool workers */
static int busy_workers(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  int n = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %d", &n) == 1)
      break;
  if (f)
    fclose(f);
  return n;
}

int main(void) {
  nncc_model_desc desc = kVecDesc, bad = kVecDesc;
  float x[64 * 3], out[64 * 2], want[64 * 2];
  nncc_instance *m;
  int t, i;
  desc.name = "hl";
  desc.max_batch = 64;
  desc.kernels = kHalideKernels;
  bad = desc;
  bad.name = "hlbad";
  bad.inputs = kBadInputs;
  bad.refs = kBadRefs;
  for (i = 0; i < 64 * 3; ++i)
    x[i] = (float)(i % 7) - 3.0f;
  m = nncc_rt_create(&desc);
  CHECK(m != NULL);
  if (!m)
    return finish("test_halide");
  for (t = 1; t <= 8; t *= 2) {
    int batch;
    CHECK(nncc_rt_set_threads(m, t) == NNCC_OK);
    for (batch = 1; batch <= 64; batch += 21) {
      memset(out, 0, sizeof out);
      reference_fc(kVecInit, kVecInit + 6, 3, batch, x, want);
      CHECK(fwd1(m, batch, x, out) == NNCC_OK);
      CHECK(strcmp(nncc_rt_last_error(m), "") == 0);
      CHECK(close_all(out, want, 2 * batch));
    }
    if (t == 1)
      CHECK(busy_workers() == 1); /* no pool for one thread */
    else
      CHECK(busy_workers() == t); /* t-1 workers + this thread */
  }
  nncc_rt_destroy(m);
  CHECK(busy_workers() == 1); /* destroy joined the workers */

  /* a descriptor that breaks the pipeline's constraints: Halide's message ends
   * up in the instance, nothing printed */
  m = nncc_rt_create(&bad);
  CHECK(m != NULL);
  if (m) {
    CHECK(fwd1(m, 2, x, out) == NNCC_ERR_PIPELINE);
    CHECK_MSG(m, "hlbad_forward: Constraint violated: x.extent.0 (4) == 3");
    nncc_rt_destroy(m);
  }
  return finish("test_halide");
}
