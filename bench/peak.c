/* The machine's measured single-precision FMA peak (not a test): every thread
 * runs a loop of AVX-512 FMAs on 16 independent zmm accumulators (more than
 * FMA latency x ports, so the loop is throughput-bound), best of several
 * short timed rounds (the best round is the one the other processes of a
 * busy machine left alone); prints GFLOP/s (2 flops per lane per FMA) of all
 * threads together.
 *   cc -O2 -mavx512f -pthread bench/peak.c -o peak && ./peak THREADS   */
#define _POSIX_C_SOURCE 200112L
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ACC 16
static long iters = 1000000; /* per round: 16 FMAs x 16 lanes x 2 flops each, ~2 ms */

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static pthread_barrier_t start;

struct job { float sink; double t0, t1; };

static void *work(void *arg) {
  struct job *j = arg;
  pthread_barrier_wait(&start);
  j->t0 = now();
  __m512 a[ACC];
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < ACC; ++i) a[i] = _mm512_set1_ps((float)i);
  for (long n = 0; n < iters; ++n) {
#define F(i) a[i] = _mm512_fmadd_ps(a[i], m, c);
    F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7) F(8) F(9) F(10) F(11) F(12) F(13) F(14) F(15)
#undef F
  }
  __m512 s = a[0];
  for (int i = 1; i < ACC; ++i) s = _mm512_add_ps(s, a[i]);
  j->t1 = now();
  j->sink = _mm512_reduce_add_ps(s); /* keeps the loop alive */
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  int rounds = argc > 2 ? atoi(argv[2]) : 300;
  if (threads < 1 || threads > 256) return 1;
  pthread_t tid[256];
  static struct job job[256];
  double best = 0;
  for (int r = 0; r < rounds; ++r) {
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; ++t) pthread_create(&tid[t], NULL, work, &job[t]);
    pthread_barrier_wait(&start);
    for (int t = 0; t < threads; ++t) pthread_join(tid[t], NULL);
    double s = job[0].t0, f = job[0].t1; /* first start to last end */
    for (int t = 1; t < threads; ++t) {
      if (job[t].t0 < s) s = job[t].t0;
      if (job[t].t1 > f) f = job[t].t1;
    }
    double e = f - s;
    pthread_barrier_destroy(&start);
    double gflops = 2.0 * 16 * ACC * (double)iters * threads / e * 1e-9;
    if (gflops > best) best = gflops;
  }
  printf("%.1f\n", best);
  return job[0].sink == 12345.f; /* uses the results */
}
