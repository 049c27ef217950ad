/* Runtime tests: forward and the buffer layout, argument checks, errors,
 * the thread pool behind halide_do_par_for, instances on separate threads. */
#define _POSIX_C_SOURCE 200809L
#include "fake_model.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static void test_forward(void) {
  /* hand-computed: W = [[1,2,3],[-1,0.5,4]], b = [0.25,-2] */
  const float x1[3] = {1, 1, 1};
  const float want1[2] = {6.25f, 1.5f};
  const float x3[9] = {1, 1, 1, 0, 0, 0, 2, -1, 0.5f};
  const float want3[6] = {6.25f, 1.5f, 0.25f, -2, 1.75f, -2.5f};
  float out[8];
  int t;
  nncc_instance *m = nncc_rt_create(&kVecDesc);
  CHECK(m != NULL);
  if (!m)
    return;
  CHECK(strcmp(nncc_rt_last_error(m), "") == 0);
  for (t = 1; t <= 4; t += 3) {
    CHECK(nncc_rt_set_threads(m, t) == NNCC_OK);
    memset(out, 0, sizeof out);
    CHECK(fwd1(m, 1, x1, out) == NNCC_OK);
    CHECK(close_all(out, want1, 2));
    memset(out, 0, sizeof out);
    out[6] = 123.0f; /* beyond batch 3: untouched */
    CHECK(fwd1(m, 3, x3, out) == NNCC_OK);
    CHECK(close_all(out, want3, 6));
    CHECK(out[6] == 123.0f);
    CHECK(strcmp(nncc_rt_last_error(m), "") == 0);
  }
  nncc_rt_destroy(m);

  /* the [2, 2, 2] image model at batch 1 and the max batch 4 */
  m = nncc_rt_create(&kImgDesc);
  CHECK(m != NULL);
  if (m) {
    float x[32], want[8];
    int i;
    for (i = 0; i < 32; ++i)
      x[i] = (float)((i * 7) % 11) - 5.0f;
    reference_fc(kImgInit, kImgInit + 16, 8, 4, x, want);
    CHECK(fwd1(m, 4, x, out) == NNCC_OK);
    CHECK(close_all(out, want, 8));
    CHECK(nncc_rt_set_threads(m, 1) == NNCC_OK);
    CHECK(fwd1(m, 1, x, out) == NNCC_OK);
    CHECK(close_all(out, want, 2));
    /* by hand, sample 0: x = -5,2,-2,5,1,-3,4,0 -> -5 + 2*0 + 10 = 5; 2-2+5+1-3+4-0 + 20 = 27 */
    CHECK(fabsf(out[0] - 5.0f) < 1e-5f && fabsf(out[1] - 27.0f) < 1e-5f);
    nncc_rt_destroy(m);
  }
}

static void test_argument_checks(void) {
  const float x[12] = {0};
  float out[8];
  const float *in[1];
  float *outs[1];
  nncc_instance *m;
  CHECK(fwd1(NULL, 1, x, out) == NNCC_ERR_ARGUMENT);
  CHECK(strcmp(nncc_rt_last_error(NULL), "out of memory or null instance") == 0);
  CHECK(nncc_rt_set_threads(NULL, 2) == NNCC_ERR_ARGUMENT);
  CHECK(nncc_rt_load_weights(NULL, "x") == NNCC_ERR_ARGUMENT);
  CHECK(nncc_rt_save_weights(NULL, "x") == NNCC_ERR_ARGUMENT);
  nncc_rt_destroy(NULL);

  m = nncc_rt_create(&kVecDesc);
  CHECK(m != NULL);
  if (!m)
    return;
  CHECK(fwd1(m, 0, x, out) == NNCC_ERR_ARGUMENT);
  CHECK_MSG(m, "tiny_forward: batch 0 is outside 1..4");
  CHECK(fwd1(m, 5, x, out) == NNCC_ERR_ARGUMENT);
  CHECK_MSG(m, "tiny_forward: batch 5 is outside 1..4");
  CHECK(fwd1(m, -1, x, out) == NNCC_ERR_ARGUMENT);
  CHECK_MSG(m, "batch -1 is outside 1..4");
  CHECK(fwd1(m, 1, NULL, out) == NNCC_ERR_ARGUMENT);
  CHECK_MSG(m, "tiny_forward: input 'x' is null");
  CHECK(fwd1(m, 1, x, NULL) == NNCC_ERR_ARGUMENT);
  CHECK_MSG(m, "tiny_forward: output 'out' is null");
  outs[0] = out;
  CHECK(nncc_rt_forward(m, 1, NULL, outs) == NNCC_ERR_ARGUMENT);
  CHECK_MSG(m, "input array is null");
  in[0] = x;
  CHECK(nncc_rt_forward(m, 1, in, NULL) == NNCC_ERR_ARGUMENT);
  CHECK_MSG(m, "output array is null");
  CHECK(nncc_rt_set_threads(m, 0) == NNCC_ERR_ARGUMENT);
  CHECK_MSG(m, "tiny_set_threads: thread count 0 is outside 1..");
  CHECK(nncc_rt_set_threads(m, -3) == NNCC_ERR_ARGUMENT);
  CHECK_MSG(m, "thread count -3");
  CHECK(nncc_rt_load_weights(m, NULL) == NNCC_ERR_ARGUMENT);
  CHECK_MSG(m, "tiny_load_weights: the path is null");
  CHECK(nncc_rt_save_weights(m, NULL) == NNCC_ERR_ARGUMENT);
  CHECK_MSG(m, "tiny_save_weights: the path is null");
  /* a good call clears the message */
  CHECK(fwd1(m, 1, x, out) == NNCC_OK);
  CHECK(strcmp(nncc_rt_last_error(m), "") == 0);
  nncc_rt_destroy(m);

  /* an inconsistent descriptor is refused */
  {
    nncc_model_desc bad = kVecDesc;
    bad.num_param_floats = 7;
    CHECK(nncc_rt_create(&bad) == NULL);
    bad = kVecDesc;
    bad.kernels = NULL;
    CHECK(nncc_rt_create(&bad) == NULL);
    bad = kVecDesc;
    {
      static const nncc_step past_refs[] = {{0, 2, 4, -1, "past"}}; /* refs 2..5 of 4 */
      bad.forward.steps = past_refs;
      CHECK(nncc_rt_create(&bad) == NULL);
    }
    CHECK(nncc_rt_create(NULL) == NULL);
  }
}

static void test_halide_error(void) {
  const float x[3] = {1, 2, 3};
  float out[2];
  nncc_instance *m = nncc_rt_create(&kErrDesc);
  CHECK(m != NULL);
  if (!m)
    return;
  CHECK(fwd1(m, 1, x, out) == NNCC_ERR_PIPELINE);
  CHECK_MSG(m, "broken_forward: boom from the pipeline");
  CHECK(strchr(nncc_rt_last_error(m), '\n') == NULL);
  nncc_rt_destroy(m);

  m = nncc_rt_create(&kVecDesc);
  if (m) {
    halide_error(m, "stored directly");
    CHECK(strcmp(nncc_rt_last_error(m), "stored directly") == 0);
    halide_error(NULL, "dropped"); /* must not crash */
    CHECK(fwd1(m, 1, x, out) == NNCC_OK);
    CHECK(strcmp(nncc_rt_last_error(m), "") == 0);
    nncc_rt_destroy(m);
  }
}

/* --- the thread pool ---------------------------------------------------- */

typedef struct count_closure {
  int *hits;
  long long sum;
  int base;
  int fail_at;
  pthread_t caller;
  int off_caller; /* tasks that ran on another thread */
  void *uc;
  int nested_ok;
} count_closure;

static int count_task(void *uc, int i, uint8_t *closure) {
  count_closure *c = (count_closure *)closure;
  __atomic_fetch_add(&c->hits[i - c->base], 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&c->sum, (long long)i, __ATOMIC_RELAXED);
  if (!pthread_equal(pthread_self(), c->caller))
    __atomic_fetch_add(&c->off_caller, 1, __ATOMIC_RELAXED);
  if (i == c->fail_at)
    return 7;
  (void)uc;
  return 0;
}

/* A closure for count_task over `n` hits, all zero, no failing task. */
static void reset_count(count_closure *c, int *hits, size_t n, int base) {
  memset(c, 0, sizeof *c);
  memset(hits, 0, n * sizeof *hits);
  c->hits = hits;
  c->base = base;
  c->fail_at = -1;
  c->caller = pthread_self();
}

static int inner_task(void *uc, int i, uint8_t *closure) {
  (void)uc;
  (void)i;
  __atomic_fetch_add((int *)closure, 1, __ATOMIC_RELAXED);
  return 0;
}

static int nesting_task(void *uc, int i, uint8_t *closure) {
  count_closure *c = (count_closure *)closure;
  int inner = 0;
  (void)i;
  if (halide_do_par_for(uc, inner_task, 0, 10, (uint8_t *)&inner) == 0 && inner == 10)
    __atomic_fetch_add(&c->nested_ok, 1, __ATOMIC_RELAXED);
  return 0;
}

static void test_par_for(void) {
  enum { N = 2000 };
  static int hits[N];
  nncc_instance *m = nncc_rt_create(&kVecDesc);
  int t, i;
  CHECK(m != NULL);
  if (!m)
    return;
  for (t = 1; t <= 4; t += 3) {
    int rep;
    CHECK(nncc_rt_set_threads(m, t) == NNCC_OK);
    for (rep = 0; rep < 20; ++rep) {
      count_closure c;
      int once = 1;
      reset_count(&c, hits, N, 5);
      CHECK(halide_do_par_for(m, count_task, 5, N, (uint8_t *)&c) == 0);
      for (i = 0; i < N; ++i)
        once &= hits[i] == 1;
      CHECK(once);
      CHECK(c.sum == (long long)N * (N - 1) / 2 + 5LL * N);
      if (t == 1)
        CHECK(c.off_caller == 0);
    }
    /* a failing task: its code comes back */
    {
      count_closure c;
      memset(&c, 0, sizeof c);
      memset(hits, 0, sizeof hits);
      c.hits = hits;
      c.fail_at = 700;
      c.caller = pthread_self();
      CHECK(halide_do_par_for(m, count_task, 0, N, (uint8_t *)&c) == 7);
    }
    /* nested loops run serially, no deadlock */
    {
      count_closure c;
      memset(&c, 0, sizeof c);
      CHECK(halide_do_par_for(m, nesting_task, 0, 64, (uint8_t *)&c) == 0);
      CHECK(c.nested_ok == 64);
    }
    /* size 0 does nothing */
    CHECK(halide_do_par_for(m, count_task, 0, 0, NULL) == 0);
  }
  /* shrink and grow the pool between calls */
  {
    int sizes[] = {3, 8, 2, 1, 5};
    for (t = 0; t < 5; ++t) {
      count_closure c;
      int once = 1;
      reset_count(&c, hits, N, 0);
      CHECK(nncc_rt_set_threads(m, sizes[t]) == NNCC_OK);
      CHECK(halide_do_par_for(m, count_task, 0, N, (uint8_t *)&c) == 0);
      for (i = 0; i < N; ++i)
        once &= hits[i] == 1;
      CHECK(once);
    }
  }
  /* a null user_context runs serially on the caller */
  {
    count_closure c;
    reset_count(&c, hits, N, 0);
    CHECK(halide_do_par_for(NULL, count_task, 0, 100, (uint8_t *)&c) == 0);
    CHECK(c.off_caller == 0 && c.sum == 4950);
  }
  nncc_rt_destroy(m);
}

/* The pool deals each thread a contiguous block of the tasks: with two
 * threads the caller starts at the loop's first task and goes up, the
 * worker starts at the middle; once a block is empty its thread steals from
 * the back of the other's. Every task runs once. */
enum { kBlockTasks = 16 };
typedef struct block_closure {
  pthread_t caller;
  int order[kBlockTasks]; /* the tasks in the order each thread ran them */
  int by_caller[kBlockTasks];
  int caller_runs, worker_runs, first_worker_task;
  int hits[kBlockTasks];
} block_closure;

static int block_task(void *uc, int i, uint8_t *closure) {
  block_closure *c = (block_closure *)closure;
  struct timespec pause = {0, 200000}; /* 0.2 ms: the worker joins long before the end */
  (void)uc;
  __atomic_fetch_add(&c->hits[i - 100], 1, __ATOMIC_RELAXED);
  if (pthread_equal(pthread_self(), c->caller)) {
    c->order[c->caller_runs++] = i - 100;
  } else if (__atomic_fetch_add(&c->worker_runs, 1, __ATOMIC_RELAXED) == 0) {
    c->first_worker_task = i - 100;
  }
  nanosleep(&pause, NULL);
  return 0;
}

static void test_blocks_and_stealing(void) {
  nncc_instance *m = nncc_rt_create(&kVecDesc);
  block_closure c;
  int i, once = 1, ascending = 1;
  CHECK(m != NULL);
  if (!m)
    return;
  CHECK(nncc_rt_set_threads(m, 2) == NNCC_OK);
  /* (again, a few times, should a loaded machine keep the worker off the
   * CPU for the whole loop) */
  for (i = 0; i < 5; ++i) {
    memset(&c, 0, sizeof c);
    c.caller = pthread_self();
    c.first_worker_task = -1;
    CHECK(halide_do_par_for(m, block_task, 100, kBlockTasks, (uint8_t *)&c) == 0);
    if (c.worker_runs > 0)
      break;
  }
  for (i = 0; i < kBlockTasks; ++i)
    once &= c.hits[i] == 1;
  CHECK(once);
  CHECK(c.worker_runs > 0);
  CHECK(c.first_worker_task == kBlockTasks / 2);
  /* the caller's own block first, in order, from the loop's start */
  for (i = 0; i < c.caller_runs && i < kBlockTasks / 2; ++i)
    ascending &= c.order[i] == i;
  CHECK(c.caller_runs > 0 && ascending);
  nncc_rt_destroy(m);
}

/* Loops posted while the worker may be asleep, waking, or still spinning
 * out of the last one: every task runs exactly once whichever way it joins
 * (or does not). */
static void test_loops_with_gaps(void) {
  enum { N = 64 };
  static int hits[N];
  nncc_instance *m = nncc_rt_create(&kVecDesc);
  int rep, i;
  CHECK(m != NULL);
  if (!m)
    return;
  CHECK(nncc_rt_set_threads(m, 3) == NNCC_OK);
  for (rep = 0; rep < 60; ++rep) {
    count_closure c;
    static const long gaps_ns[6] = {0, 20000, 100000, 300000, 1000000, 2000000}; /* around the spin window */
    struct timespec gap = {0, gaps_ns[rep % 6]};
    int once = 1;
    reset_count(&c, hits, N, 0);
    nanosleep(&gap, NULL);
    CHECK(halide_do_par_for(m, count_task, 0, 1 + rep % N, (uint8_t *)&c) == 0);
    for (i = 0; i < 1 + rep % N; ++i)
      once &= hits[i] == 1;
    for (; i < N; ++i)
      once &= hits[i] == 0;
    CHECK(once);
  }
  nncc_rt_destroy(m);
}

/* --- two instances on two threads ---------------------------------------- */

typedef struct thread_arg {
  const nncc_model_desc *desc;
  int threads;
  float scale; /* the instance's W and b are scaled by this via its own weights */
  int failures;
} thread_arg;

static void *instance_thread(void *p) {
  thread_arg *a = (thread_arg *)p;
  nncc_instance *m = nncc_rt_create(a->desc);
  float x[12], out[8], want[8];
  int it, i;
  if (!m) {
    a->failures = 1;
    return NULL;
  }
  if (nncc_rt_set_threads(m, a->threads) != NNCC_OK)
    a->failures++;
  for (it = 0; it < 300; ++it) {
    int batch = 1 + it % 4;
    for (i = 0; i < 12; ++i)
      x[i] = (float)((it + i * 3) % 9) * a->scale;
    reference_fc(kVecInit, kVecInit + 6, 3, batch, x, want);
    if (fwd1(m, batch, x, out) != NNCC_OK || !close_all(out, want, 2 * batch))
      a->failures++;
  }
  nncc_rt_destroy(m);
  return NULL;
}

static void test_two_threads(void) {
  pthread_t th[2];
  thread_arg args[2] = {{&kVecDesc, 3, 1.0f, 0}, {&kVecDesc, 2, -0.5f, 0}};
  int i;
  for (i = 0; i < 2; ++i)
    CHECK(pthread_create(&th[i], NULL, instance_thread, &args[i]) == 0);
  for (i = 0; i < 2; ++i) {
    pthread_join(th[i], NULL);
    CHECK(args[i].failures == 0);
  }
}

/* A channels-last ref gets the strides (C, C*W, 1) for (x, y, c); a step
 * whose work x batch is under NNCC_PARALLEL_MIN_WORK runs its parallel loops
 * on the calling thread alone, whatever set_threads says, unless it reads
 * NNCC_PARALLEL_MIN_PARAM_BYTES of parameters (then its loops are shared). */
static pthread_t g_cl_caller;
static int g_cl_off_caller, g_cl_layout_ok, g_cl_calls;

static int cl_task(void *uc, int n, uint8_t *closure) {
  struct timespec pause = {0, 100000}; /* 0.1 ms: long enough for the workers to take some */
  (void)uc, (void)n, (void)closure;
  nanosleep(&pause, NULL);
  if (!pthread_equal(pthread_self(), g_cl_caller))
    __atomic_add_fetch(&g_cl_off_caller, 1, __ATOMIC_RELAXED);
  return 0;
}

static int fake_channels_last(void **args) {
  void *uc = *(void **)args[0];
  const halide_buffer_t *x = (const halide_buffer_t *)args[1];
  int batch = x->dim[3].extent, ok = x->dimensions == 4;
  ok &= dim_ok(x, 0, 2, 2, "x channels-last (W)");
  ok &= dim_ok(x, 1, 2, 4, "x channels-last (H)");
  ok &= dim_ok(x, 2, 2, 1, "x channels-last (C)");
  ok &= dim_ok(x, 3, batch, 8, "x channels-last (N)");
  g_cl_layout_ok &= ok;
  ++g_cl_calls;
  return halide_do_par_for(uc, cl_task, 0, 64, NULL);
}

static void test_channels_last_and_small_steps(void) {
  static const nncc_buffer_ref refs[] = {{NNCC_REF_INPUT, 0, 0, 3, 1, {2, 2, 2, 0}, 0, 1, 0, 0},
                                         {NNCC_REF_PARAM, 0, 0, 2, 0, {2, 8, 0, 0}, 0, 0, 0, 0},
                                         {NNCC_REF_PARAM, 1, 0, 1, 0, {2, 0, 0, 0}, 0, 0, 0, 0},
                                         {NNCC_REF_OUTPUT, 0, 0, 1, 1, {2, 0, 0, 0}, 0, 0, 0, 0}};
  static const nncc_step small_step[] = {{0, 0, 4, 1000, "small"}};
  static const nncc_kernel_fn kernels[] = {fake_channels_last};
  static const nncc_model_desc base = FAKE_DESC("cl", kImgInputs, kImgParams, kImgInit, 18, kernels, refs);
  nncc_model_desc d = base;
  float x[4 * 8] = {0}, out[4 * 2];
  const float *in[1] = {x};
  float *outs[1] = {out};
  nncc_instance *m;
  d.forward.steps = small_step;
  m = nncc_rt_create(&d);
  CHECK(m != NULL);
  if (!m)
    return;
  CHECK(nncc_rt_set_threads(m, 4) == NNCC_OK);
  g_cl_caller = pthread_self();
  g_cl_off_caller = 0, g_cl_layout_ok = 1, g_cl_calls = 0;
  CHECK(nncc_rt_forward(m, 4, in, outs) == NNCC_OK); /* 1000 x 4 flops: serial */
  CHECK(g_cl_calls == 1);
  CHECK(g_cl_layout_ok);
  CHECK(g_cl_off_caller == 0);
  nncc_rt_destroy(m);

  /* The same step with its bias ref replaced by 2 MB of prepacked weights. */
  {
    static const nncc_buffer_ref big_refs[] = {{NNCC_REF_INPUT, 0, 0, 3, 1, {2, 2, 2, 0}, 0, 1, 0, 0},
                                               {NNCC_REF_PARAM, 0, 0, 2, 0, {2, 8, 0, 0}, 0, 0, 0, 0},
                                               {NNCC_REF_PACKED, 0, 0, 1, 0, {512 * 1024, 0, 0, 0}, 0, 0, 0, 0},
                                               {NNCC_REF_OUTPUT, 0, 0, 1, 1, {2, 0, 0, 0}, 0, 0, 0, 0}};
    nncc_model_desc big = base;
    big.forward.steps = small_step;
    big.refs = big_refs;
    big.packed_floats = 512 * 1024;
    m = nncc_rt_create(&big);
    CHECK(m != NULL);
    if (!m)
      return;
    CHECK(nncc_rt_set_threads(m, 4) == NNCC_OK);
    g_cl_off_caller = 0, g_cl_layout_ok = 1, g_cl_calls = 0;
    CHECK(nncc_rt_forward(m, 4, in, outs) == NNCC_OK); /* 1000 x 4 flops, 2 MB of weights: shared */
    CHECK(g_cl_calls == 1);
    CHECK(g_cl_off_caller > 0);
    nncc_rt_destroy(m);
  }

  /* 512 KB of weights: shared while the step does at most
   * NNCC_PARALLEL_MAX_INTENSITY FLOPs per weight byte (a dense layer at a
   * small batch), serial above (but under NNCC_PARALLEL_MIN_WORK). */
  {
    static const nncc_buffer_ref mid_refs[] = {{NNCC_REF_INPUT, 0, 0, 3, 1, {2, 2, 2, 0}, 0, 1, 0, 0},
                                               {NNCC_REF_PARAM, 0, 0, 2, 0, {2, 8, 0, 0}, 0, 0, 0, 0},
                                               {NNCC_REF_PACKED, 0, 0, 1, 0, {128 * 1024, 0, 0, 0}, 0, 0, 0, 0},
                                               {NNCC_REF_OUTPUT, 0, 0, 1, 1, {2, 0, 0, 0}, 0, 0, 0, 0}};
    /* 4 samples x 500000 FLOPs = 2 MFLOP <= 4 x 512 KB; x 600000: above */
    static const nncc_step light_step[] = {{0, 0, 4, 500000, "light"}}, heavy_step[] = {{0, 0, 4, 600000, "heavy"}};
    const nncc_step *steps[2] = {light_step, heavy_step};
    int k;
    for (k = 0; k < 2; ++k) {
      nncc_model_desc mid = base;
      mid.forward.steps = steps[k];
      mid.refs = mid_refs;
      mid.packed_floats = 128 * 1024;
      m = nncc_rt_create(&mid);
      CHECK(m != NULL);
      if (!m)
        return;
      CHECK(nncc_rt_set_threads(m, 2) == NNCC_OK);
      g_cl_off_caller = 0, g_cl_layout_ok = 1, g_cl_calls = 0;
      CHECK(nncc_rt_forward(m, 4, in, outs) == NNCC_OK);
      CHECK(g_cl_calls == 1);
      CHECK(k == 0 ? g_cl_off_caller > 0 : g_cl_off_caller == 0);
      nncc_rt_destroy(m);
    }
  }
}

/* nncc_alloc (ScratchMemory.c, internal to a compiled model, visible here):
 * 128-byte aligned below 2 MB, 2 MB aligned (huge pages where THP allows)
 * from 2 MB on; every byte asked for writable. */
void *nncc_alloc(size_t size);
static void test_alloc(void) {
  const size_t sizes[] = {0, 100, ((size_t)2 << 20) - 1, (size_t)2 << 20, ((size_t)5 << 20) + 3};
  size_t i;
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
    unsigned char *p = (unsigned char *)nncc_alloc(sizes[i]);
    const size_t align = sizes[i] >= ((size_t)2 << 20) ? ((size_t)2 << 20) : 128;
    CHECK(p != NULL);
    if (!p)
      continue;
    CHECK((size_t)p % align == 0);
    p[0] = 1;
    if (sizes[i])
      memset(p, 7, sizes[i]);
    CHECK(sizes[i] == 0 || (p[0] == 7 && p[sizes[i] - 1] == 7));
    free(p);
  }
}

int main(void) {
  test_alloc();
  test_forward();
  test_argument_checks();
  test_halide_error();
  test_par_for();
  test_blocks_and_stealing();
  test_loops_with_gaps();
  test_two_threads();
  test_channels_last_and_small_steps();
  return finish("test_runtime");
}
