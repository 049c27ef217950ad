/* Times NAME_forward of a compiled model with one input and one output:
 * median of repeated runs at a batch size and thread count.
 *   cc -O2 -DMODEL=lenet5 -DIN=IMAGE -DOUT=PROBS -include lenet5.h forward.c lenet5.o -lpthread -ldl -lm
 *   ./a.out BATCH THREADS REPEATS                                         */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "bench_driver.h"

static int write_f32(const char *path, const float *v, size_t n) { return write_bytes(path, v, sizeof(float), n); }

int main(int argc, char **argv) {
  int batch = argc > 1 ? atoi(argv[1]) : 1, threads = argc > 2 ? atoi(argv[2]) : 1;
  int reps = argc > 3 ? atoi(argv[3]) : 20;
  double budget_ms = argc > 4 ? atof(argv[4]) : 1e30;
  const char *dump = argc > 5 ? argv[5] : NULL;
  if (batch < 1 || threads < 1 || reps < 1) return 2;
  float *x = calloc((size_t)batch * UPPER_MODEL_IN_SIZE, sizeof(float));
  float *y = calloc((size_t)batch * UPPER_MODEL_OUT_SIZE, sizeof(float));
  for (long i = 0; i < (long)batch * UPPER_MODEL_IN_SIZE; ++i) x[i] = (float)((i * 7919) % 1000) / 1000.0f;
  struct MODEL *m = FN(_create)();
  if (!m || FN(_set_threads)(m, threads) != 0) return 1;
  double w = now();
  if (FN(_forward)(m, batch, x, y) != 0) { /* warm-up */
    fprintf(stderr, "%s\n", FN(_last_error)(m));
    return 1;
  }
  w = (now() - w) * 1e3;
  if (dump) {
    size_t n = strlen(dump) + 32;
    char *path = malloc(n);
    snprintf(path, n, "%s.x.f32", dump);
    if (!write_f32(path, x, (size_t)batch * UPPER_MODEL_IN_SIZE)) return 1;
    snprintf(path, n, "%s.y.f32", dump);
    if (!write_f32(path, y, (size_t)batch * UPPER_MODEL_OUT_SIZE)) return 1;
    snprintf(path, n, "%s.safetensors", dump);
    if (FN(_save_weights)(m, path) != 0) {
      fprintf(stderr, "%s\n", FN(_last_error)(m));
      return 1;
    }
    free(path);
  }
  int fit = w > 0 ? (int)(budget_ms / w) : reps, least = w > 1000 ? 3 : 5;
  if (fit < reps) reps = fit > least ? fit : least;
  double *t = calloc((size_t)reps, sizeof(double));
  double c0 = cpu(), w0 = now();
  for (int r = 0; r < reps; ++r) {
    double s = now();
    FN(_forward)(m, batch, x, y);
    t[r] = now() - s;
  }
  double share = (cpu() - c0) / (now() - w0);
  report_times(t, reps, share);
  FN(_destroy)(m);
  return 0;
}
