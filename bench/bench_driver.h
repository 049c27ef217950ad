/* What the bench's C drivers (forward.c, train_step.c) share: the model's
 * entry points by name from -DMODEL/-DUMODEL/-DIN/-DOUT, wall and process
 * CPU clocks, a comparison for qsort, and writing a raw array to a file. */
#ifndef NNCC_BENCH_DRIVER_H
#define NNCC_BENCH_DRIVER_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(suffix) CAT(MODEL, suffix)
#define UPPER_MODEL_IN_SIZE CAT(CAT(CAT(UMODEL, _), IN), _SIZE)
#define UPPER_MODEL_OUT_SIZE CAT(CAT(CAT(UMODEL, _), OUT), _SIZE)

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Prints "median_ms min_ms reps cpu_per_wall" of `reps` timings (seconds,
 * sorted here), the line bench.py reads. */
static void report_times(double *t, int reps, double cpu_per_wall) {
  qsort(t, (size_t)reps, sizeof(double), cmp);
  printf("%.4f %.4f %d %.3f\n", (reps % 2 ? t[reps / 2] : (t[reps / 2 - 1] + t[reps / 2]) / 2) * 1e3, t[0] * 1e3,
         reps, cpu_per_wall);
}

static int write_bytes(const char *path, const void *v, size_t size, size_t n) {
  FILE *f = fopen(path, "wb");
  int ok = f && fwrite(v, size, n, f) == n;
  if (f && fclose(f) != 0) ok = 0;
  if (!ok) fprintf(stderr, "cannot write %s\n", path);
  return ok;
}

#endif
