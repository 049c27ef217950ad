/* Times a compiled model's training step (docs/training.md, "Measured"):
 * the object linked as a shared library and loaded with dlopen, one input,
 * one loss on int32 class labels. Per mode, the median and the minimum wall
 * time of REPEATS steps (after two warm-up steps) on one batch of random
 * data, on THREADS threads, and the process CPU time per step:
 *   train_bench LIB.so NAME INPUT_FLOATS CLASSES BATCH THREADS REPEATS
 * modes: "train_step" (the weights' updates fused into their gradient
 * kernels) and "compute+apply" (compute_gradients, then apply_gradients: the
 * gradient array and the separate update kernels). */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef int (*step_fn)(void *, int, const float *, const int32_t *, float *);

static double seconds(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void *sym(void *lib, const char *name, const char *suffix) {
  char s[256];
  void *p;
  snprintf(s, sizeof s, "%s_%s", name, suffix);
  p = dlsym(lib, s);
  if (!p) {
    fprintf(stderr, "missing %s\n", s);
    exit(1);
  }
  return p;
}

int main(int argc, char **argv) {
  void *lib, *m;
  void *(*create)(void);
  int (*set_threads)(void *, int), (*apply)(void *);
  step_fn train_step, compute;
  long in_floats, i;
  int classes, batch, threads, repeats, mode, r;
  float *x, loss;
  int32_t *labels;
  double *wall;
  if (argc != 8) {
    fprintf(stderr, "usage: %s LIB.so NAME INPUT_FLOATS CLASSES BATCH THREADS REPEATS\n", argv[0]);
    return 2;
  }
  lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  in_floats = atol(argv[3]), classes = atoi(argv[4]), batch = atoi(argv[5]), threads = atoi(argv[6]);
  repeats = atoi(argv[7]);
  create = (void *(*)(void))sym(lib, argv[2], "create");
  set_threads = (int (*)(void *, int))sym(lib, argv[2], "set_threads");
  apply = (int (*)(void *))sym(lib, argv[2], "apply_gradients");
  train_step = (step_fn)sym(lib, argv[2], "train_step");
  compute = (step_fn)sym(lib, argv[2], "compute_gradients");
  x = malloc(sizeof(float) * (size_t)(in_floats * batch));
  labels = malloc(sizeof(int32_t) * (size_t)batch);
  wall = malloc(sizeof(double) * (size_t)repeats);
  srand(1);
  for (i = 0; i < in_floats * batch; ++i) x[i] = (float)rand() / RAND_MAX - 0.5f;
  for (i = 0; i < batch; ++i) labels[i] = rand() % classes;
  for (mode = 0; mode < 2; ++mode) {
    double cpu0;
    m = create();
    set_threads(m, threads);
    cpu0 = 0;
    for (i = -2; i < repeats; ++i) {
      double t0 = seconds(CLOCK_MONOTONIC);
      if (i == 0) cpu0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
      r = mode == 0 ? train_step(m, batch, x, labels, &loss) : (compute(m, batch, x, labels, &loss) || apply(m));
      if (r) {
        fprintf(stderr, "step failed\n");
        return 1;
      }
      if (i >= 0) wall[i] = seconds(CLOCK_MONOTONIC) - t0;
    }
    qsort(wall, (size_t)repeats, sizeof(double), cmp);
    printf("%-14s batch %d threads %d: median %.2f ms, min %.2f ms, cpu %.2f ms/step (loss %.4f)\n",
           mode == 0 ? "train_step" : "compute+apply", batch, threads, wall[repeats / 2] * 1e3, wall[0] * 1e3,
           (seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu0) / repeats * 1e3, loss);
  }
  return 0;
}
