/* Times NAME_train_step of a compiled model with one input and one
 * softmax_cross_entropy (or cross_entropy) loss on int32 class labels:
 * the median of repeated training steps on one batch at a thread count.
 *   cc -O2 -DMODEL=lenet5 -DUMODEL=LENET5 -DIN=IMAGE -DOUT=LOGITS -include lenet5.h train_step.c lenet5.o -lpthread -ldl -lm
 *   ./a.out BATCH THREADS REPEATS BUDGET_MS [DUMP_PREFIX]
 * Prints "median_ms min_ms reps cpu_per_wall". With DUMP_PREFIX it first
 * writes the initial weights (PREFIX.safetensors), the input (PREFIX.x.f32),
 * the labels (PREFIX.labels.i32), then takes two steps and writes their
 * losses (PREFIX.loss.txt) and the weights after them
 * (PREFIX.after.safetensors), which the PyTorch peer checks its own two
 * steps against. The timed steps follow (the weights keep changing; the
 * work per step does not). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_driver.h"

static int step(struct MODEL *m, int batch, const float *x, const int32_t *labels, float *loss) {
  if (FN(_train_step)(m, batch, x, labels, loss) != 0) {
    fprintf(stderr, "%s\n", FN(_last_error)(m));
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  int batch = argc > 1 ? atoi(argv[1]) : 32, threads = argc > 2 ? atoi(argv[2]) : 1;
  int reps = argc > 3 ? atoi(argv[3]) : 20;
  double budget_ms = argc > 4 ? atof(argv[4]) : 1e30;
  const char *dump = argc > 5 ? argv[5] : NULL;
  if (batch < 1 || threads < 1 || reps < 1) return 2;
  size_t nx = (size_t)batch * UPPER_MODEL_IN_SIZE;
  float *x = calloc(nx, sizeof(float));
  int32_t *labels = calloc((size_t)batch, sizeof(int32_t));
  if (!x || !labels) return 1;
  for (size_t i = 0; i < nx; ++i) x[i] = (float)((i * 7919) % 1000) / 1000.0f;
  for (int i = 0; i < batch; ++i) labels[i] = (int32_t)((i * 7) % UPPER_MODEL_OUT_SIZE);
  struct MODEL *m = FN(_create)();
  if (!m || FN(_set_threads)(m, threads) != 0) return 1;
  float loss = 0, loss2 = 0;
  char *path = NULL;
  if (dump) {
    size_t n = strlen(dump) + 32;
    path = malloc(n);
    snprintf(path, n, "%s.safetensors", dump);
    if (FN(_save_weights)(m, path) != 0) {
      fprintf(stderr, "%s\n", FN(_last_error)(m));
      return 1;
    }
    snprintf(path, n, "%s.x.f32", dump);
    if (!write_bytes(path, x, sizeof(float), nx)) return 1;
    snprintf(path, n, "%s.labels.i32", dump);
    if (!write_bytes(path, labels, sizeof(int32_t), (size_t)batch)) return 1;
  }
  double w = now();
  if (!step(m, batch, x, labels, &loss)) return 1; /* warm-up (the first of the two checked steps) */
  w = (now() - w) * 1e3;
  if (!step(m, batch, x, labels, &loss2)) return 1;
  if (dump) {
    size_t n = strlen(dump) + 32;
    snprintf(path, n, "%s.after.safetensors", dump);
    if (FN(_save_weights)(m, path) != 0) {
      fprintf(stderr, "%s\n", FN(_last_error)(m));
      return 1;
    }
    snprintf(path, n, "%s.loss.txt", dump);
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%.9g %.9g\n", loss, loss2) < 0 || fclose(f) != 0) {
      fprintf(stderr, "cannot write %s\n", path);
      return 1;
    }
    free(path);
  }
  int fit = w > 0 ? (int)(budget_ms / w) : reps, least = w > 1000 ? 3 : 5;
  if (fit < reps) reps = fit > least ? fit : least;
  double *t = calloc((size_t)reps, sizeof(double));
  if (!t) return 1;
  double c0 = cpu(), w0 = now();
  for (int r = 0; r < reps; ++r) {
    double s = now();
    if (!step(m, batch, x, labels, &loss)) return 1;
    t[r] = now() - s;
  }
  double share = (cpu() - c0) / (now() - w0);
  report_times(t, reps, share);
  FN(_destroy)(m);
  free(t);
  free(x);
  free(labels);
  return 0;
}
