/* Bad arguments to a model built from lenet5.cpp return errors with messages,
 * as they do for lenet5.o; weights files round-trip. */
#include "lenet5.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : ".";
  char path[4096];
  lenet5 *m = lenet5_create();
  float *x = calloc(LENET5_IMAGE_SIZE, sizeof(float)), *y = calloc(LENET5_PROBS_SIZE, sizeof(float));
  if (!m || !x || !y) return 1;
  printf("set_threads 0: %d %s\n", lenet5_set_threads(m, 0) != 0, lenet5_last_error(m));
  printf("load missing: %d %s\n", lenet5_load_weights(m, "/nonexistent/w.safetensors") != 0, lenet5_last_error(m));
  snprintf(path, sizeof path, "%s/garbage.safetensors", dir);
  FILE *f = fopen(path, "wb");
  fputs("this is not a safetensors file", f);
  fclose(f);
  printf("load garbage: %d %s\n", lenet5_load_weights(m, path) != 0, lenet5_last_error(m));
  printf("null path: %d %s\n", lenet5_load_weights(m, NULL) != 0, lenet5_last_error(m));
  printf("null output: %d %s\n", lenet5_forward(m, 1, x, NULL) != 0, lenet5_last_error(m));
  printf("null instance: %d '%s'\n", lenet5_forward(NULL, 1, x, y) != 0, lenet5_last_error(NULL));
  snprintf(path, sizeof path, "%s/w.safetensors", dir);
  int saved = lenet5_save_weights(m, path), loaded = lenet5_load_weights(m, path), fwd = lenet5_forward(m, 1, x, y);
  printf("round trip: %d %d %d '%s'\n", saved, loaded, fwd, lenet5_last_error(m));
  lenet5_destroy(m);
  lenet5_destroy(NULL);
  free(x);
  free(y);
  return 0;
}
