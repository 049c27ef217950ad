/* The model runtime's thread pool: one per instance, behind the runtime's
 * own halide_do_par_for, so that NAME_set_threads limits each instance
 * separately (Halide's own pool is process-wide).
 *
 * A forward pass is a run of short parallel loops (one per kernel, some of
 * a few microseconds at batch 1), so waking a sleeping thread per loop (a
 * futex round trip, 10-50 us) would cost more than the loop. Both sides
 * therefore spin first: a worker polls for the next job, and the caller for
 * the workers' end, for NNCC_SPIN_ROUNDS pauses (about 160 us on this
 * machine's Xeon) before they fall back to the condition variables
 * (docs/runtime.md, "Threads"): longer than the serial steps between two
 * parallel loops, so that a worker is not asleep when the next loop comes.
 *
 * A loop's tasks are dealt out in contiguous blocks, one per thread, and a
 * thread that runs out steals from the back of the others' blocks
 * (run_tasks). The caller closes a job once no task is left, and waits only
 * for the workers that joined it: a worker still asleep when the job was
 * posted never holds the caller up (join_job). */
#include "ModelRuntimeInternal.h"

#ifndef NNCC_SPIN_ROUNDS
#define NNCC_SPIN_ROUNDS 16384
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


static uint64_t pack_range(uint32_t lo, uint32_t hi) { return (uint64_t)lo | ((uint64_t)hi << 32); }

/* Takes one task from the front of range r (its owner) or from its back (a
 * thief); returns the task's offset, or -1 when the range is empty. */
static int take_task(nncc_range *r, int from_back) {
  uint64_t v = __atomic_load_n(&r->bounds, __ATOMIC_RELAXED);
  for (;;) {
    uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);
    uint64_t next;
    if (lo >= hi)
      return -1;
    next = from_back ? pack_range(lo, hi - 1) : pack_range(lo + 1, hi);
    if (__atomic_compare_exchange_n(&r->bounds, &v, next, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return (int)(from_back ? hi - 1 : lo);
  }
}

static int run_task(nncc_pool *p, int offset) {
  int r = p->task(p->user_context, p->min + offset, p->closure);
  if (r != 0) {
    int zero = 0;
    __atomic_compare_exchange_n(&p->result, &zero, r, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  }
  return r;
}

/* Runs the tasks of range `self` in order, then steals from the back of
 * the others' until every range is empty. Each thread starts on its own
 * contiguous block of the loop (block `self` of `sharing`), so from one
 * call to the next a core meets the same tasks, and the weights (or the
 * samples) those read, in its own cache: a dense layer's 0.8 MB weight at
 * batch 1 split over two cores' L2; the taking is an uncontended CAS on a
 * line the owner holds. Stealing keeps the threads' ends together when a
 * core is slower or shared. */
static void run_tasks(nncc_pool *p, int self) {
  int t, i;
  for (t = 0; t < p->sharing; ++t) { /* t = 0: its own range, from the front */
    nncc_range *r = &p->ranges[(self + t) % p->sharing];
    while (__atomic_load_n(&p->result, __ATOMIC_RELAXED) == 0 && (i = take_task(r, t > 0)) >= 0)
      if (run_task(p, i) != 0)
        return;
  }
}

/* Joins job `gen` if it is still open: returns 1 when counted in. */
static int join_job(nncc_pool *p, unsigned long gen) {
  uint64_t v = __atomic_load_n(&p->state, __ATOMIC_ACQUIRE);
  for (;;) {
    if ((uint32_t)(v >> 32) != (uint32_t)gen || (v & NNCC_JOB_CLOSED))
      return 0;
    if (__atomic_compare_exchange_n(&p->state, &v, v + 1, 1, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
      return 1;
  }
}

/* A worker: spins on the generation, then sleeps on work_cv; joins each job
 * it sees that is still open, runs tasks, and counts itself out. The
 * hand-offs take no lock while both sides spin: a sleeper announces itself
 * (sleepers, caller_sleeping) under the mutex and re-checks before waiting,
 * and the other side, after its own sequentially consistent store, takes
 * the mutex to signal only when it reads such an announcement; one of the
 * two always sees the other's store. */
static void *worker_main(void *arg) {
  nncc_pool *p = ((nncc_worker *)arg)->pool;
  const int slot = ((nncc_worker *)arg)->slot;
  unsigned long seen;
  pthread_mutex_lock(&p->mu);
  seen = p->spawn_generation; /* a job posted before this thread ran is still seen */
  pthread_mutex_unlock(&p->mu);
  for (;;) {
    uint64_t left;
    spin_while_equal(&p->generation, seen, &p->shutdown);
    if (__atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) == seen && !__atomic_load_n(&p->shutdown, __ATOMIC_ACQUIRE)) {
      pthread_mutex_lock(&p->mu);
      __atomic_store_n(&p->sleepers, p->sleepers + 1, __ATOMIC_SEQ_CST);
      while (__atomic_load_n(&p->generation, __ATOMIC_SEQ_CST) == seen && !p->shutdown)
        pthread_cond_wait(&p->work_cv, &p->mu);
      __atomic_store_n(&p->sleepers, p->sleepers - 1, __ATOMIC_RELAXED);
      pthread_mutex_unlock(&p->mu);
    }
    if (__atomic_load_n(&p->shutdown, __ATOMIC_ACQUIRE))
      break;
    seen = __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE);
    if (!join_job(p, seen))
      continue; /* the caller finished it alone */
    run_tasks(p, slot);
    left = __atomic_sub_fetch(&p->state, 1, __ATOMIC_SEQ_CST);
    if ((left & NNCC_JOB_ACTIVE) == 0 && (left & NNCC_JOB_CLOSED) &&
        __atomic_load_n(&p->caller_sleeping, __ATOMIC_SEQ_CST)) {
      pthread_mutex_lock(&p->mu);
      pthread_cond_signal(&p->done_cv);
      pthread_mutex_unlock(&p->mu);
    }
  }
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
  free(p->workers);
  free(p->ranges);
  p->threads = NULL;
  p->workers = NULL;
  p->ranges = NULL;
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
  p->workers = (nncc_worker *)calloc((size_t)wanted, sizeof(nncc_worker));
  if (posix_memalign((void **)&p->ranges, 64, sizeof(nncc_range) * ((size_t)wanted + 1)) != 0)
    p->ranges = NULL;
  if (!p->threads || !p->workers || !p->ranges) {
    nncc_pool_stop(m); /* frees what was allocated */
    return 0;
  }
  pthread_mutex_lock(&p->mu);
  p->spawn_generation = p->generation;
  pthread_mutex_unlock(&p->mu);
  while (p->num_workers < wanted) {
    p->workers[p->num_workers].pool = p;
    p->workers[p->num_workers].slot = p->num_workers + 1;
    if (pthread_create(&p->threads[p->num_workers], NULL, worker_main, &p->workers[p->num_workers]) != 0)
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
  int unclaimed = 0, workers, result, i;
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
  p->user_context = user_context;
  p->task = task;
  p->closure = closure;
  p->min = min;
  p->sharing = workers + 1;
  for (i = 0; i < p->sharing; ++i)
    __atomic_store_n(&p->ranges[i].bounds,
                     pack_range((uint32_t)((int64_t)size * i / p->sharing), (uint32_t)((int64_t)size * (i + 1) / p->sharing)),
                     __ATOMIC_RELAXED);
  __atomic_store_n(&p->result, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&p->state, (uint64_t)(uint32_t)(p->generation + 1) << 32, __ATOMIC_RELEASE);
  __atomic_store_n(&p->generation, p->generation + 1, __ATOMIC_SEQ_CST); /* spinning workers start */
  if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST) > 0) {               /* sleeping ones wake */
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
  }
  run_tasks(p, 0);
  /* No task is left: close the job and wait for the workers inside it. */
  if (__atomic_fetch_or(&p->state, NNCC_JOB_CLOSED, __ATOMIC_SEQ_CST) & NNCC_JOB_ACTIVE) {
    for (i = 0; i < NNCC_SPIN_ROUNDS && (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) & NNCC_JOB_ACTIVE); ++i)
      cpu_relax();
    if (__atomic_load_n(&p->state, __ATOMIC_ACQUIRE) & NNCC_JOB_ACTIVE) {
      pthread_mutex_lock(&p->mu);
      __atomic_store_n(&p->caller_sleeping, 1, __ATOMIC_SEQ_CST);
      while (__atomic_load_n(&p->state, __ATOMIC_SEQ_CST) & NNCC_JOB_ACTIVE)
        pthread_cond_wait(&p->done_cv, &p->mu);
      __atomic_store_n(&p->caller_sleeping, 0, __ATOMIC_RELAXED);
      pthread_mutex_unlock(&p->mu);
    }
  }
  result = __atomic_load_n(&p->result, __ATOMIC_ACQUIRE);
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

