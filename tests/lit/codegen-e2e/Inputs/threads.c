/* Four lenet5 instances run at once in four pthreads on different inputs;
 * each result must equal (bit for bit) one instance's single-threaded
 * result on the same input. Prints "ok". */
#include "lenet5.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 5
#define RUNS 4

static void fill(float *x, long n, unsigned long long state) {
  for (long i = 0; i < n; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)(((double)(state >> 40) / (double)(1 << 24)) * 2.0 - 1.0);
  }
}

typedef struct { lenet5 *m; float *x, *y; int status; } job;

static void *work(void *p) {
  job *j = p;
  for (int r = 0; r < RUNS && j->status == 0; ++r) j->status = lenet5_forward(j->m, BATCH, j->x, j->y);
  return NULL;
}

int main(void) {
  job jobs[4];
  pthread_t tid[4];
  float *want[4];
  lenet5 *ref = lenet5_create();
  if (!ref || lenet5_set_threads(ref, 1) != 0) return 1;
  for (int i = 0; i < 4; ++i) {
    jobs[i].x = malloc(sizeof(float) * BATCH * LENET5_IMAGE_SIZE);
    jobs[i].y = calloc(BATCH * LENET5_PROBS_SIZE, sizeof(float));
    want[i] = malloc(sizeof(float) * BATCH * LENET5_PROBS_SIZE);
    fill(jobs[i].x, (long)BATCH * LENET5_IMAGE_SIZE, 100 + i);
    if (lenet5_forward(ref, BATCH, jobs[i].x, want[i]) != 0) return 1;
    jobs[i].m = lenet5_create();
    jobs[i].status = 0;
    if (!jobs[i].m) return 1;
  }
  for (int i = 0; i < 4; ++i) pthread_create(&tid[i], NULL, work, &jobs[i]);
  for (int i = 0; i < 4; ++i) pthread_join(tid[i], NULL);
  int bad = 0;
  for (int i = 0; i < 4; ++i) {
    if (jobs[i].status != 0) { printf("instance %d: %s\n", i, lenet5_last_error(jobs[i].m)); bad = 1; }
    else if (memcmp(jobs[i].y, want[i], sizeof(float) * BATCH * LENET5_PROBS_SIZE) != 0) {
      printf("instance %d: result differs\n", i); bad = 1;
    }
    lenet5_destroy(jobs[i].m);
    free(jobs[i].x);  /* freed: LeakSanitizer checks this program in the sanitizer build */
    free(jobs[i].y);
    free(want[i]);
  }
  lenet5_destroy(ref);
  if (!bad) printf("ok\n");
  return bad;
}
