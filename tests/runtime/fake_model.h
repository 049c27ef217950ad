/* A hand-made model descriptor for the runtime tests: out = W x + b with
 * "fc.weight" [2, K] and "fc.bias" [2], where x is an input of per-sample
 * shape [3] (K = 3) or [2, 2, 2] (K = 8). The fake pipeline checks the buffer
 * layout contract of nncc_model.h and fails loudly if it is broken. */
#ifndef NNCC_TEST_FAKE_MODEL_H
#define NNCC_TEST_FAKE_MODEL_H

#include <HalideRuntime.h>

#include "runtime/model/nncc_model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int g_passed, g_failed;

#define CHECK(cond)                                                                    \
  do {                                                                                 \
    if (cond) {                                                                        \
      ++g_passed;                                                                      \
    } else {                                                                           \
      ++g_failed;                                                                      \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);        \
    }                                                                                  \
  } while (0)

#define CHECK_MSG(m, needle)                                                           \
  do {                                                                                 \
    const char *msg_ = nncc_rt_last_error(m);                                          \
    if (msg_ && strstr(msg_, needle)) {                                                \
      ++g_passed;                                                                      \
    } else {                                                                           \
      ++g_failed;                                                                      \
      fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__,     \
              msg_ ? msg_ : "(null)", needle);                                         \
    }                                                                                  \
  } while (0)

static int finish(const char *prog) {
  printf("%s: %d passed, %d failed\n", prog, g_passed, g_failed);
  return g_failed ? 1 : 0;
}

/* Checks one Halide dimension; prints and returns 0 when it is wrong. */
static int dim_ok(const halide_buffer_t *b, int i, int extent, int stride, const char *what) {
  if (b->dim[i].min != 0 || b->dim[i].extent != extent || b->dim[i].stride != stride) {
    fprintf(stderr, "LAYOUT ERROR: %s dim %d is (min %d, extent %d, stride %d), want (0, %d, %d)\n",
            what, i, b->dim[i].min, b->dim[i].extent, b->dim[i].stride, extent, stride);
    return 0;
  }
  return 1;
}

static int buf_ok(const halide_buffer_t *b, int rank, const char *what) {
  if (!b || !b->host || b->dimensions != rank || b->type.code != halide_type_float ||
      b->type.bits != 32 || b->type.lanes != 1 || b->device != 0) {
    fprintf(stderr, "LAYOUT ERROR: %s: bad buffer header (rank %d, want %d)\n", what,
            b ? b->dimensions : -1, rank);
    return 0;
  }
  return 1;
}

typedef struct fc_closure {
  const float *x, *w, *bias;
  float *out;
  int k;
} fc_closure;

static int fc_task(void *uc, int n, uint8_t *closure) {
  const fc_closure *c = (const fc_closure *)closure;
  int o, i;
  (void)uc;
  for (o = 0; o < 2; ++o) {
    float acc = c->bias[o];
    for (i = 0; i < c->k; ++i)
      acc += c->w[o * c->k + i] * c->x[n * c->k + i];
    c->out[n * 2 + o] = acc;
  }
  return 0;
}

/* args: &user_context, x, fc.weight, fc.bias, out. per-sample x rank 1 or 3. */
static int fake_forward_common(void **args, int x_rank) {
  void *uc = *(void **)args[0];
  const halide_buffer_t *x = (const halide_buffer_t *)args[1];
  const halide_buffer_t *w = (const halide_buffer_t *)args[2];
  const halide_buffer_t *b = (const halide_buffer_t *)args[3];
  const halide_buffer_t *out = (const halide_buffer_t *)args[4];
  int k = x_rank == 1 ? 3 : 8, batch, ok = 1;
  fc_closure c;
  if (!buf_ok(x, x_rank + 1, "x") || !buf_ok(w, 2, "fc.weight") || !buf_ok(b, 1, "fc.bias") ||
      !buf_ok(out, 2, "out")) {
    halide_error(uc, "fake pipeline: bad buffer");
    return -1;
  }
  batch = x->dim[x_rank].extent;
  if (x_rank == 1) {
    ok &= dim_ok(x, 0, 3, 1, "x");
  } else {
    ok &= dim_ok(x, 0, 2, 1, "x (W)");
    ok &= dim_ok(x, 1, 2, 2, "x (H)");
    ok &= dim_ok(x, 2, 2, 4, "x (C)");
  }
  ok &= dim_ok(x, x_rank, batch, k, "x (N)");
  ok &= dim_ok(w, 0, k, 1, "fc.weight");
  ok &= dim_ok(w, 1, 2, k, "fc.weight");
  ok &= dim_ok(b, 0, 2, 1, "fc.bias");
  ok &= dim_ok(out, 0, 2, 1, "out");
  ok &= dim_ok(out, 1, batch, 2, "out (N)");
  /* Every parameter starts on a 128-byte boundary (the bias follows a
   * weight of 6 or 16 floats in the descriptor's initial values). */
  if ((uintptr_t)w->host % 128 != 0 || (uintptr_t)b->host % 128 != 0) {
    fprintf(stderr, "LAYOUT ERROR: a parameter is not 128-byte aligned (%p, %p)\n", w->host, b->host);
    ok = 0;
  }
  if (!ok) {
    halide_error(uc, "fake pipeline: layout contract broken");
    return -1;
  }
  c.x = (const float *)x->host;
  c.w = (const float *)w->host;
  c.bias = (const float *)b->host;
  c.out = (float *)out->host;
  c.k = k;
  return halide_do_par_for(uc, fc_task, 0, batch, (uint8_t *)&c);
}

static int fake_forward_vec(void **args) { return fake_forward_common(args, 1); }
static int fake_forward_img(void **args) { return fake_forward_common(args, 3); }

static int fake_forward_error(void **args) {
  halide_error(*(void **)args[0], "boom from the pipeline\n");
  return -7;
}

static const nncc_tensor_desc kVecInputs[] = {{"x", 1, {3, 0, 0, 0}, 3}};
static const nncc_tensor_desc kImgInputs[] = {{"image", 3, {2, 2, 2, 0}, 8}};
static const nncc_tensor_desc kOutputs[] = {{"out", 1, {2, 0, 0, 0}, 2}};
static const nncc_tensor_desc kVecParams[] = {{"fc.weight", 2, {2, 3, 0, 0}, 6},
                                              {"fc.bias", 1, {2, 0, 0, 0}, 2}};
static const nncc_tensor_desc kImgParams[] = {{"fc.weight", 2, {2, 8, 0, 0}, 16},
                                              {"fc.bias", 1, {2, 0, 0, 0}, 2}};
static const uint8_t kTrainable[] = {1, 1};
/* W = [[1, 2, 3], [-1, 0.5, 4]], b = [0.25, -2] */
static const float kVecInit[] = {1, 2, 3, -1, 0.5f, 4, 0.25f, -2};
static const float kImgInit[] = {1, 0, 0, 0, 0, 0, 0, 2,  0, 1, 1, 1, 1, 1, 1, -1, 10, 20};

/* One step: the fake kernel on (x, fc.weight, fc.bias, out). */
static const nncc_buffer_ref kVecRefs[] = {{NNCC_REF_INPUT, 0, 0, 1, 1, {3, 0, 0, 0}, 0, 0, 0, 0},
                                           {NNCC_REF_PARAM, 0, 0, 2, 0, {2, 3, 0, 0}, 0, 0, 0, 0},
                                           {NNCC_REF_PARAM, 1, 0, 1, 0, {2, 0, 0, 0}, 0, 0, 0, 0},
                                           {NNCC_REF_OUTPUT, 0, 0, 1, 1, {2, 0, 0, 0}, 0, 0, 0, 0}};
static const nncc_buffer_ref kImgRefs[] = {{NNCC_REF_INPUT, 0, 0, 3, 1, {2, 2, 2, 0}, 0, 0, 0, 0},
                                           {NNCC_REF_PARAM, 0, 0, 2, 0, {2, 8, 0, 0}, 0, 0, 0, 0},
                                           {NNCC_REF_PARAM, 1, 0, 1, 0, {2, 0, 0, 0}, 0, 0, 0, 0},
                                           {NNCC_REF_OUTPUT, 0, 0, 1, 1, {2, 0, 0, 0}, 0, 0, 0, 0}};
static const nncc_step kOneStep[] = {{0, 0, 4, -1, "fake"}};
static const nncc_kernel_fn kVecKernels[] = {fake_forward_vec};
static const nncc_kernel_fn kImgKernels[] = {fake_forward_img};
static const nncc_kernel_fn kErrKernels[] = {fake_forward_error};

#define FAKE_DESC(nm, ins, ps, init, nfloats, ks, rs)                                                           \
  {.name = nm, .max_batch = 4, .num_inputs = 1, .num_outputs = 1, .num_params = 2, .inputs = ins,              \
   .outputs = kOutputs, .params = ps, .trainable = kTrainable, .initial_values = init,                           \
   .num_param_floats = nfloats, .num_kernels = 1, .kernels = ks, .num_refs = 4, .refs = rs,                     \
   .forward = {1, kOneStep}}
static const nncc_model_desc kVecDesc = FAKE_DESC("tiny", kVecInputs, kVecParams, kVecInit, 8, kVecKernels, kVecRefs);
static const nncc_model_desc kImgDesc = FAKE_DESC("img", kImgInputs, kImgParams, kImgInit, 18, kImgKernels, kImgRefs);
static const nncc_model_desc kErrDesc = FAKE_DESC("broken", kVecInputs, kVecParams, kVecInit, 8, kErrKernels, kVecRefs);

/* out = W x + b on the host, for expected values. */
static void reference_fc(const float *w, const float *b, int k, int batch, const float *x, float *out) {
  int n, o, i;
  for (n = 0; n < batch; ++n)
    for (o = 0; o < 2; ++o) {
      float acc = b[o];
      for (i = 0; i < k; ++i)
        acc += w[o * k + i] * x[n * k + i];
      out[n * 2 + o] = acc;
    }
}

static int close_all(const float *a, const float *b, int n) {
  int i;
  for (i = 0; i < n; ++i)
    if (fabsf(a[i] - b[i]) > 1e-5f * (1.0f + fabsf(b[i])))
      return 0;
  return 1;
}

/* forward through the vector model with one input and one output */
static int fwd1(nncc_instance *m, int batch, const float *x, float *out) {
  const float *in[1];
  float *outs[1];
  in[0] = x;
  outs[0] = out;
  return nncc_rt_forward(m, batch, in, outs);
}

#endif
