/* The model runtime's thread pool: one per instance, behind the runtime's
 * own halide_do_par_for, so that NAME_set_threads limits each instance
 * separately (Halide's own pool is process-wide).
 *
 * A forward pass is a run of short parallel loops (one per kernel, some of
 * a few microseconds at batch 1), so waking a sleeping thread per loop (a
 * futex round trip, 10-50 us) would cost more than the loop. Both sides
 * therefore spin first: a worker polls for the next job, and the caller for
 * the workers' end, for NNCC_SPIN_ROUNDS pauses (tens of microseconds) before they
 * fall back to the condition variables (docs/runtime.md, "Threads"). */
#include "ModelRuntimeInternal.h"

#ifndef NNCC_SPIN_ROUNDS
#define NNCC_SPIN_ROUNDS 2048
#endif

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* Spins while *word == value, at most NNCC_SPIN_ROUNDS rounds. */
static void spin_while_equal(const unsigned long *word, unsigned long value, const int *shutdown) {
  int i;
  for (i = 0; i < NNCC_SPIN_ROUNDS; ++i) {
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != value || __atomic_load_n(shutdown, __ATOMIC_RELAXED))
      return;
    cpu_relax();
  }
}


static void run_tasks(nncc_pool *p) {
  for (;;) {
    int i, r;
    if (__atomic_load_n(&p->result, __ATOMIC_RELAXED) != 0)
      break; /* a task failed: hand out no more */
    i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
    if (i >= p->end)
      break;
    r = p->task(p->user_context, i, p->closure);
    if (r != 0) {
      int zero = 0;
      __atomic_compare_exchange_n(&p->result, &zero, r, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
  }
}

static void *worker_main(void *arg) {
  nncc_pool *p = (nncc_pool *)arg;
  unsigned long seen;
  pthread_mutex_lock(&p->mu);
  seen = p->spawn_generation; /* a job posted before this thread ran is still seen */
  for (;;) {
    if (p->generation == seen && !p->shutdown) {
      pthread_mutex_unlock(&p->mu);
      spin_while_equal(&p->generation, seen, &p->shutdown);
      pthread_mutex_lock(&p->mu);
    }
    while (p->generation == seen && !p->shutdown)
      pthread_cond_wait(&p->work_cv, &p->mu);
    if (p->shutdown)
      break;
    seen = p->generation;
    pthread_mutex_unlock(&p->mu);
    run_tasks(p);
    pthread_mutex_lock(&p->mu);
    if (__atomic_sub_fetch(&p->busy, 1, __ATOMIC_RELEASE) == 0)
      pthread_cond_signal(&p->done_cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

void nncc_pool_stop(nncc_instance *m) {
  nncc_pool *p = &m->pool;
  int i;
  if (!m->pool_ready)
    return;
  pthread_mutex_lock(&p->mu);
  __atomic_store_n(&p->shutdown, 1, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  for (i = 0; i < p->num_workers; ++i)
    pthread_join(p->threads[i], NULL);
  free(p->threads);
  p->threads = NULL;
  p->num_workers = 0;
  p->shutdown = 0;
}

/* Makes the pool have (wanted) workers, as far as the system allows. Called
 * with the pool claimed. Returns the number of workers running. */
static int pool_resize(nncc_instance *m, int wanted) {
  nncc_pool *p = &m->pool;
  if (!m->pool_ready) {
    if (pthread_mutex_init(&p->mu, NULL) != 0)
      return 0;
    if (pthread_cond_init(&p->work_cv, NULL) != 0) {
      pthread_mutex_destroy(&p->mu);
      return 0;
    }
    if (pthread_cond_init(&p->done_cv, NULL) != 0) {
      pthread_cond_destroy(&p->work_cv);
      pthread_mutex_destroy(&p->mu);
      return 0;
    }
    m->pool_ready = 1;
  }
  if (p->num_workers == wanted)
    return wanted;
  nncc_pool_stop(m);
  p->threads = (pthread_t *)calloc((size_t)wanted, sizeof(pthread_t));
  if (!p->threads)
    return 0;
  pthread_mutex_lock(&p->mu);
  p->spawn_generation = p->generation;
  pthread_mutex_unlock(&p->mu);
  while (p->num_workers < wanted) {
    if (pthread_create(&p->threads[p->num_workers], NULL, worker_main, p) != 0)
      break; /* run with the workers we have */
    p->num_workers++;
  }
  return p->num_workers;
}

static int run_serial(void *user_context, halide_task_t task, int min, int size, uint8_t *closure) {
  int i;
  for (i = min; i < min + size; ++i) {
    int r = task(user_context, i, closure);
    if (r != 0)
      return r;
  }
  return 0;
}

/* Replaces the Halide runtime's weak halide_do_par_for: parallel loops of the
 * pipeline run on the pool of the instance passed as user_context. */
int halide_do_par_for(void *user_context, halide_task_t task, int min, int size, uint8_t *closure) {
  nncc_instance *m = (nncc_instance *)user_context;
  nncc_pool *p;
  int unclaimed = 0, workers, result;
  if (size <= 0)
    return 0;
  if (!nncc_is_instance(m) || m->threads <= 1 || size == 1 || m->serial_kernel)
    return run_serial(user_context, task, min, size, closure);
  /* Nested loops (a task calling back in) and concurrent use find the pool
   * claimed and run serially on their own thread. */
  if (!__atomic_compare_exchange_n(&m->pool_claimed, &unclaimed, 1, 0, __ATOMIC_ACQUIRE,
                                   __ATOMIC_RELAXED))
    return run_serial(user_context, task, min, size, closure);
  workers = pool_resize(m, m->threads - 1);
  if (workers <= 0) {
    __atomic_store_n(&m->pool_claimed, 0, __ATOMIC_RELEASE);
    return run_serial(user_context, task, min, size, closure);
  }
  p = &m->pool;
  pthread_mutex_lock(&p->mu);
  p->user_context = user_context;
  p->task = task;
  p->closure = closure;
  p->next = min;
  p->end = min + size;
  p->result = 0;
  __atomic_store_n(&p->busy, p->num_workers, __ATOMIC_RELAXED);
  __atomic_store_n(&p->generation, p->generation + 1, __ATOMIC_RELEASE); /* spinning workers start */
  pthread_cond_broadcast(&p->work_cv);                                    /* sleeping ones wake */
  pthread_mutex_unlock(&p->mu);
  run_tasks(p);
  {
    int i;
    for (i = 0; i < NNCC_SPIN_ROUNDS && __atomic_load_n(&p->busy, __ATOMIC_ACQUIRE) > 0; ++i)
      cpu_relax();
  }
  pthread_mutex_lock(&p->mu);
  while (p->busy > 0)
    pthread_cond_wait(&p->done_cv, &p->mu);
  result = p->result;
  pthread_mutex_unlock(&p->mu);
  __atomic_store_n(&m->pool_claimed, 0, __ATOMIC_RELEASE);
  return result;
}

int nncc_rt_set_threads(nncc_instance *m, int n) {
  if (!m)
    return NNCC_ERR_ARGUMENT;
  nncc_clear_error(m);
  if (n < 1 || n > NNCC_MAX_THREADS) {
    nncc_set_error(m, "%s_set_threads: thread count %d is outside 1..%d", nncc_model_name(m), n,
              NNCC_MAX_THREADS);
    return NNCC_ERR_ARGUMENT;
  }
  m->threads = n; /* the pool follows at the next parallel loop */
  return NNCC_OK;
}

