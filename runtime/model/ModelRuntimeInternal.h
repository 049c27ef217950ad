/* The model runtime's internals shared by its files (ModelRuntime.c,
 * ThreadPool.c, WeightsFile.c, ScratchMemory.c, Profile.c): the instance, its thread
 * pool and scratch blocks, and the error helpers. Not part of any API: in a
 * compiled model every one of these symbols is internal. */
#ifndef NNCC_MODEL_INTERNAL_H
#define NNCC_MODEL_INTERNAL_H

#define _POSIX_C_SOURCE 200809L

#include <HalideRuntime.h>

#include "nncc_model.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define NNCC_MAGIC 0x6e6e6363u /* "nncc": tells an instance from a foreign user_context */
#define NNCC_MAX_THREADS 1024
/* Steps with less work (FLOPs, nncc_step.work x batch) run on one thread:
 * about 20 us on one core: below it two threads lose more to the hand-off
 * and the shared caches than they gain (measured on LeNet-5 and the MLP;
 * 2^24 with the pool that handed tasks out one by one and waited for every
 * worker). */
#define NNCC_PARALLEL_MIN_WORK ((int64_t)1 << 22)
/* ... unless the step reads at least this many bytes of parameters: a
 * layer whose weights do not fit one core's L2 (VGG's 4096 -> 256 dense,
 * ResNet-18's classifier at batch 1) streams them from memory, and two
 * cores each streaming half are faster than one streaming all. */
#define NNCC_PARALLEL_MIN_PARAM_BYTES ((int64_t)2 << 20)
/* ... or at least this many, with at most NNCC_PARALLEL_MAX_INTENSITY FLOPs
 * per parameter byte: a dense layer at a small batch (the MLP's 784 -> 256,
 * 0.8 MB, at batch 1) is bound by reading its weight, from L2 or further,
 * and each core reading its own half (the pool deals each the same block
 * of tasks every call) halves that. */
#define NNCC_PARALLEL_MIN_STREAM_BYTES ((int64_t)512 << 10)
#define NNCC_PARALLEL_MAX_INTENSITY 4
/* Each parameter's offset in the instance's parameter block is a multiple of
 * this many floats (128 bytes, the block itself so aligned). */
#define NNCC_PARAM_ALIGN_FLOATS 32
#define NNCC_MAX_HEADER (100u * 1024u * 1024u)
#define NNCC_ERR_SIZE 1024

/* ------------------------------------------------------------------------ */
/* The instance                                                              */

/* nncc_pool.state: the caller closes a job when no task is left; a worker
 * joins only an open job of the generation it saw, so the caller waits for
 * the workers inside the job, never for one still asleep. */
#define NNCC_JOB_CLOSED ((uint64_t)1 << 31)
#define NNCC_JOB_ACTIVE ((uint64_t)NNCC_JOB_CLOSED - 1)

/* One thread's share of a parallel loop's tasks, [lo, hi) relative to the
 * loop's min, packed into one word (lo in the low half) so that the owner
 * (taking from lo) and a thief (taking from hi) agree with one CAS; 64 bytes
 * apart so that each stays in its owner's cache. */
typedef struct nncc_range {
  uint64_t bounds;
  char pad_[56];
} nncc_range;

/* A worker's start argument. */
typedef struct nncc_worker {
  struct nncc_pool *pool;
  int slot; /* its range: 1 + its index (the caller's is 0) */
} nncc_worker;

typedef struct nncc_pool {
  pthread_mutex_t mu;
  pthread_cond_t work_cv;   /* sleeping workers wait here for a new job (or shutdown) */
  pthread_cond_t done_cv;   /* a sleeping caller waits here for the workers to finish */
  pthread_t *threads;
  nncc_worker *workers;     /* num_workers start arguments */
  nncc_range *ranges;       /* num_workers + 1, 64-byte aligned */
  int num_workers;          /* threads running */
  int shutdown;
  int sleepers;             /* workers blocked (or about to block) on work_cv */
  int caller_sleeping;      /* 1 while the caller blocks (or is about to) on done_cv */
  unsigned long generation; /* bumped per job, after the job's fields are written */
  unsigned long spawn_generation; /* the generation when the workers were started */
  /* the current job: written by the caller before the generation moves,
   * read by the workers after */
  void *user_context;
  halide_task_t task;
  uint8_t *closure;
  int min;
  int sharing;              /* caller + workers sharing the job: ranges[0 .. sharing) */
  /* written while the job runs, each 64 bytes from the others (a cache line
   * of its own; plain padding: this file is compiled as C99 and C++) */
  char pad0_[64];
  uint64_t state;           /* the job's generation (high 32 bits), NNCC_JOB_CLOSED, and
                               the number of workers inside it (low bits) */
  char pad1_[64];
  int result;               /* first non-zero task result, set with CAS */
  char pad2_[64];
} nncc_pool;

struct nncc_instance {
  uint32_t magic;
  void *user_context;               /* == this instance; args[0] points here */
  const nncc_model_desc *d;
  float *params;                    /* num_param_floats, instance-owned */
  int64_t *param_offset;            /* float offset of each parameter */
  float *arena;                     /* the memory plan's arena (the larger of arena_floats and train_arena_floats) */
  float *grads;                     /* num_grad_floats (training) */
  float *states;                    /* num_states * num_grad_floats (training) */
  float *scalars;                   /* num_scalars slots, NNCC_SCALAR_STRIDE floats apart */
  float *packed;                    /* packed_floats: the prepacked weights */
  int packed_dirty;                 /* 1: the parameters changed since the prepack program last ran */
  int64_t step;                     /* optimizer steps taken */
  double learning_rate;             /* the base learning rate the schedule scales */
  uint64_t seed;
  halide_buffer_t *ref_bufs;        /* one per descriptor ref, set up at create */
  halide_dimension_t *ref_dims;     /* 5 per ref */
  void **args;                      /* 1 + the most refs of any step */
  int threads;                      /* requested thread count (>= 1) */
  int serial_kernel;                /* 1 while a kernel too small to share runs (nncc_step.work) */
  int pool_claimed;                 /* 1 while a parallel loop owns the pool */
  int pool_ready;                   /* pool mutex/conds initialized */
  nncc_pool pool;
  pthread_mutex_t err_mu;           /* halide_error may be called from workers */
  char err[NNCC_ERR_SIZE];
  /* Scratch blocks handed to the pipeline through halide_malloc, kept and reused. */
  pthread_mutex_t mem_mu;
  struct nncc_block *blocks;
  int num_blocks, cap_blocks;
  struct nncc_profile *profile;     /* per-step times (Profile.c), NULL unless NNCC_PROFILE was set at create */
};

/* One scratch block: Halide's intermediate buffers come from these. */
typedef struct nncc_block {
  void *ptr;
  size_t size;
  int in_use;
} nncc_block;

/* At least `size` bytes (one if 0) for free(): 128-byte aligned, and from
 * 2 MB on 2 MB aligned and advised as huge pages (ScratchMemory.c). NULL
 * when out of memory. */
void *nncc_alloc(size_t size);

/* Errors: the message of the last failed call, kept in the instance. */
void nncc_set_error(const nncc_instance *m, const char *fmt, ...);
void nncc_clear_error(const nncc_instance *m);
/* Whether p is an instance (tells it from a foreign user_context). */
int nncc_is_instance(const void *p);
const char *nncc_model_name(const nncc_instance *m);
/* Runs a program at `batch` on the caller's buffers (ModelRuntime.c); returns
 * 0 or the first failing kernel's Halide error code. */
int nncc_run_program(nncc_instance *m, const nncc_program *p, int32_t num_steps, int batch,
                     const float *const *inputs, float *const *outputs, const void *const *targets);
/* Runs the prepack program when the weights changed since it last ran
 * (packed_dirty); every entry point that runs the forward kernels calls it
 * first. Returns 0 or the failing kernel's Halide error code. */
int nncc_prepack(nncc_instance *m);
/* Turns a kernel failure into the instance's error: "<NAME>_<what>: <Halide's message>". */
int nncc_pipeline_error(nncc_instance *m, const char *what, int code);
/* Stops and joins the instance's worker threads (ThreadPool.c). */
void nncc_pool_stop(nncc_instance *m);

/* The per-step profile (Profile.c): init at create (reads NNCC_PROFILE),
 * a step's wall time in ms of `program` (nncc_profile_program; -1 for a
 * program of no profile slot), and at destroy the JSON file. */
#define NNCC_PROFILE_PROGRAMS 6
void nncc_profile_init(nncc_instance *m);
int nncc_profile_program(const nncc_instance *m, const nncc_program *p);
double nncc_profile_now_ms(void);
void nncc_profile_step(nncc_instance *m, int program, int32_t step, int batch, double ms);
void nncc_profile_finish(nncc_instance *m);

#endif
