/* Counts the heap allocations a compiled model makes (every malloc, calloc,
 * realloc and posix_memalign of model.o, redirected here with the linker's
 * --wrap): some on the first forward call, none on later calls at the same
 * or a smaller batch. */
#include "lenet5.h"

#include <stdio.h>
#include <stdlib.h>

static long count;
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_malloc(size_t n) { ++count; return __real_malloc(n); }
void *__wrap_calloc(size_t k, size_t n) { ++count; return __real_calloc(k, n); }
void *__wrap_realloc(void *p, size_t n) { ++count; return __real_realloc(p, n); }
int __wrap_posix_memalign(void **p, size_t a, size_t n) { ++count; return __real_posix_memalign(p, a, n); }

int main(void) {
  static float x[8 * LENET5_IMAGE_SIZE], y[8 * LENET5_PROBS_SIZE];
  lenet5 *m = lenet5_create();
  if (!m || lenet5_set_threads(m, 2) != 0) return 1;
  count = 0;
  if (lenet5_forward(m, 8, x, y) != 0) return 1;
  printf("first call: %s\n", count > 0 ? "allocates" : "allocates nothing");
  count = 0;
  for (int i = 0; i < 5; ++i)
    if (lenet5_forward(m, i % 2 ? 8 : 3, x, y) != 0) return 1;
  printf("later calls: %ld allocations\n", count);
  lenet5_destroy(m);
  return 0;
}
