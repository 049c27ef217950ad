/* Links the compiled lenet5.o: runs a batch of deterministic inputs (the LCG
 * of tests/lit/passes/Inputs/write_npy.py) and prints the outputs as
 * nncc-run --print does; then checks that bad arguments return errors. */
#include "lenet5.h"

#include <stdio.h>
#include <stdlib.h>

static void fill(float *x, long n, unsigned long long state) {
  for (long i = 0; i < n; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)(((double)(state >> 40) / (double)(1 << 24)) * 2.0 - 1.0);
  }
}

int main(int argc, char **argv) {
  int batch = argc > 1 ? atoi(argv[1]) : 1;
  unsigned long long seed = argc > 2 ? strtoull(argv[2], 0, 10) : 1;
  float *x = malloc(sizeof(float) * batch * LENET5_IMAGE_SIZE);
  float *y = malloc(sizeof(float) * batch * LENET5_PROBS_SIZE);
  fill(x, (long)batch * LENET5_IMAGE_SIZE, seed);
  lenet5 *m = lenet5_create();
  if (!m) return 1;
  if (lenet5_forward(m, batch, x, y) != 0) {
    fprintf(stderr, "forward failed: %s\n", lenet5_last_error(m));
    return 1;
  }
  printf("probs: [%d, %d]\n", batch, LENET5_PROBS_SIZE);
  for (int n = 0; n < batch; ++n) {
    for (int k = 0; k < LENET5_PROBS_SIZE; ++k) printf(k ? " %.6g" : "%.6g", y[n * LENET5_PROBS_SIZE + k]);
    printf("\n");
  }
  /* Argument checks: errors, not crashes. */
  fprintf(stderr, "batch 0: %d %s\n", lenet5_forward(m, 0, x, y) != 0, lenet5_last_error(m));
  fprintf(stderr, "batch max+1: %d %s\n", lenet5_forward(m, LENET5_MAX_BATCH + 1, x, y) != 0, lenet5_last_error(m));
  fprintf(stderr, "null input: %d %s\n", lenet5_forward(m, 1, NULL, y) != 0, lenet5_last_error(m));
  fprintf(stderr, "null instance: %d\n", lenet5_forward(NULL, 1, x, y) != 0);
  lenet5_destroy(m);
  free(x);
  free(y);
  return 0;
}
