/* The generic model runtime linked into every compiled model (see
 * nncc_model.h and docs/runtime.md): instances, the buffer layout passed to
 * the Halide pipeline, a per-instance thread pool behind halide_do_par_for,
 * Halide's error hook, and safetensors weights files.
 *
 * C99 plus POSIX (pthreads, mkstemp, sysconf). No mutable globals: every piece
 * of state lives in an instance. Nothing here prints or aborts. */
#define _POSIX_C_SOURCE 200809L
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

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
#define NNCC_MAX_HEADER (100u * 1024u * 1024u)
#define NNCC_ERR_SIZE 1024

/* ------------------------------------------------------------------------ */
/* The instance                                                              */

typedef struct nncc_pool {
  pthread_mutex_t mu;
  pthread_cond_t work_cv;   /* workers wait here for a new job (or shutdown) */
  pthread_cond_t done_cv;   /* the caller waits here for the workers to finish */
  pthread_t *threads;
  int num_workers;          /* threads running */
  int shutdown;
  unsigned long generation; /* bumped per job */
  unsigned long spawn_generation; /* the generation when the workers were started */
  int busy;                 /* workers still inside the current job */
  /* the current job */
  void *user_context;
  halide_task_t task;
  uint8_t *closure;
  int next;                 /* next task index, taken with __atomic_fetch_add */
  int end;
  int result;               /* first non-zero task result, set with CAS */
} nncc_pool;

struct nncc_instance {
  uint32_t magic;
  void *user_context;               /* == this instance; args[0] points here */
  const nncc_model_desc *d;
  float *params;                    /* num_param_floats, instance-owned */
  int64_t *param_offset;            /* float offset of each parameter */
  halide_buffer_t *param_bufs;      /* num_params */
  halide_buffer_t *io_bufs;         /* num_inputs then num_outputs */
  halide_dimension_t *dims;         /* 4 per parameter, then 5 per input/output */
  void **args;                      /* 1 + inputs + params + outputs */
  int threads;                      /* requested thread count (>= 1) */
  int pool_claimed;                 /* 1 while a parallel loop owns the pool */
  int pool_ready;                   /* pool mutex/conds initialized */
  nncc_pool pool;
  pthread_mutex_t err_mu;           /* halide_error may be called from workers */
  char err[NNCC_ERR_SIZE];
  /* Scratch blocks handed to the pipeline through halide_malloc, kept and reused. */
  pthread_mutex_t mem_mu;
  struct nncc_block *blocks;
  int num_blocks, cap_blocks;
};

/* One scratch block: Halide's intermediate buffers come from these. */
typedef struct nncc_block {
  void *ptr;
  size_t size;
  int in_use;
} nncc_block;

static const char kNullMessage[] = "out of memory or null instance";

static void set_error(const nncc_instance *cm, const char *fmt, ...) {
  nncc_instance *m = (nncc_instance *)cm; /* instances are always allocated mutable */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->err, sizeof m->err, fmt, ap);
  va_end(ap);
}

static void clear_error(const nncc_instance *cm) {
  ((nncc_instance *)cm)->err[0] = '\0';
}

static int is_instance(const void *p) {
  return p != NULL && ((const nncc_instance *)p)->magic == NNCC_MAGIC;
}

static const char *model_name(const nncc_instance *m) {
  return m->d->name ? m->d->name : "model";
}

/* Fills dims for a dense row-major tensor: Halide's dim[0] is the last
 * (innermost) row-major dim. Returns the number of elements. */
static int64_t fill_dims(halide_dimension_t *dims, int32_t rank, const int64_t *shape) {
  int64_t stride = 1;
  int32_t i;
  for (i = 0; i < rank; ++i) {
    halide_dimension_t *dim = &dims[i];
    memset(dim, 0, sizeof *dim);
    dim->min = 0;
    dim->extent = (int32_t)shape[rank - 1 - i];
    dim->stride = (int32_t)stride;
    stride *= shape[rank - 1 - i];
  }
  return stride;
}

static void init_buffer(halide_buffer_t *b, halide_dimension_t *dims, int32_t rank, void *host) {
  memset(b, 0, sizeof *b);
  b->device = 0;
  b->device_interface = NULL;
  b->host = (uint8_t *)host;
  b->flags = 0;
  b->type.code = halide_type_float;
  b->type.bits = 32;
  b->type.lanes = 1;
  b->dimensions = rank;
  b->dim = dims;
  b->padding = NULL;
}

static int valid_tensor(const nncc_tensor_desc *t, int max_rank) {
  int64_t n = 1;
  int32_t i;
  if (!t->name || t->rank < 0 || t->rank > max_rank)
    return 0;
  for (i = 0; i < t->rank; ++i) {
    if (t->dims[i] < 0 || t->dims[i] > INT32_MAX)
      return 0;
    n *= t->dims[i];
    if (n > INT32_MAX)
      return 0;
  }
  return n == t->size;
}

static int valid_desc(const nncc_model_desc *d) {
  int64_t total = 0;
  int32_t i;
  if (!d || !d->forward || d->max_batch < 1 || d->num_inputs < 0 || d->num_outputs < 0 ||
      d->num_params < 0)
    return 0;
  if ((d->num_inputs && !d->inputs) || (d->num_outputs && !d->outputs) ||
      (d->num_params && !d->params) || (d->num_param_floats && !d->initial_values))
    return 0;
  for (i = 0; i < d->num_inputs; ++i)
    if (!valid_tensor(&d->inputs[i], 4))
      return 0;
  for (i = 0; i < d->num_outputs; ++i)
    if (!valid_tensor(&d->outputs[i], 4))
      return 0;
  for (i = 0; i < d->num_params; ++i) {
    if (!valid_tensor(&d->params[i], 4))
      return 0;
    total += d->params[i].size;
  }
  return total == d->num_param_floats;
}

nncc_instance *nncc_rt_create(const nncc_model_desc *d) {
  nncc_instance *m;
  int32_t i, nio;
  size_t ndims;
  long cpus;
  if (!valid_desc(d))
    return NULL;
  m = (nncc_instance *)calloc(1, sizeof *m);
  if (!m)
    return NULL;
  nio = d->num_inputs + d->num_outputs;
  ndims = 4 * (size_t)d->num_params + 5 * (size_t)nio;
  m->d = d;
  m->params = (float *)malloc(sizeof(float) * (size_t)(d->num_param_floats ? d->num_param_floats : 1));
  m->param_offset = (int64_t *)calloc((size_t)d->num_params + 1, sizeof(int64_t));
  m->param_bufs = (halide_buffer_t *)calloc((size_t)d->num_params + 1, sizeof(halide_buffer_t));
  m->io_bufs = (halide_buffer_t *)calloc((size_t)nio + 1, sizeof(halide_buffer_t));
  m->dims = (halide_dimension_t *)calloc(ndims + 1, sizeof(halide_dimension_t));
  m->args = (void **)calloc(1 + (size_t)nio + (size_t)d->num_params, sizeof(void *));
  if (!m->params || !m->param_offset || !m->param_bufs || !m->io_bufs || !m->dims || !m->args ||
      pthread_mutex_init(&m->err_mu, NULL) != 0 || pthread_mutex_init(&m->mem_mu, NULL) != 0) {
    free(m->params);
    free(m->param_offset);
    free(m->param_bufs);
    free(m->io_bufs);
    free(m->dims);
    free(m->args);
    free(m);
    return NULL;
  }
  if (d->num_param_floats)
    memcpy(m->params, d->initial_values, sizeof(float) * (size_t)d->num_param_floats);
  {
    int64_t off = 0;
    for (i = 0; i < d->num_params; ++i) {
      halide_dimension_t *dims = &m->dims[4 * (size_t)i];
      m->param_offset[i] = off;
      fill_dims(dims, d->params[i].rank, d->params[i].dims);
      init_buffer(&m->param_bufs[i], dims, d->params[i].rank, m->params + off);
      off += d->params[i].size;
    }
    m->param_offset[d->num_params] = off;
  }
  cpus = sysconf(_SC_NPROCESSORS_ONLN);
  m->threads = cpus < 1 ? 1 : (cpus > NNCC_MAX_THREADS ? NNCC_MAX_THREADS : (int)cpus);
  m->user_context = m;
  m->magic = NNCC_MAGIC;
  return m;
}

/* ------------------------------------------------------------------------ */
/* The thread pool                                                           */

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
    while (p->generation == seen && !p->shutdown)
      pthread_cond_wait(&p->work_cv, &p->mu);
    if (p->shutdown)
      break;
    seen = p->generation;
    pthread_mutex_unlock(&p->mu);
    run_tasks(p);
    pthread_mutex_lock(&p->mu);
    if (--p->busy == 0)
      pthread_cond_signal(&p->done_cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void pool_stop(nncc_instance *m) {
  nncc_pool *p = &m->pool;
  int i;
  if (!m->pool_ready)
    return;
  pthread_mutex_lock(&p->mu);
  p->shutdown = 1;
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
  pool_stop(m);
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
  if (!is_instance(m) || m->threads <= 1 || size == 1)
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
  p->busy = p->num_workers;
  p->generation++;
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  run_tasks(p);
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
  clear_error(m);
  if (n < 1 || n > NNCC_MAX_THREADS) {
    set_error(m, "%s_set_threads: thread count %d is outside 1..%d", model_name(m), n,
              NNCC_MAX_THREADS);
    return NNCC_ERR_ARGUMENT;
  }
  m->threads = n; /* the pool follows at the next parallel loop */
  return NNCC_OK;
}

void nncc_rt_destroy(nncc_instance *m) {
  if (!m)
    return;
  pool_stop(m);
  if (m->pool_ready) {
    pthread_cond_destroy(&m->pool.done_cv);
    pthread_cond_destroy(&m->pool.work_cv);
    pthread_mutex_destroy(&m->pool.mu);
  }
  pthread_mutex_destroy(&m->err_mu);
  for (int b = 0; b < m->num_blocks; ++b)
    free(m->blocks[b].ptr);
  free(m->blocks);
  pthread_mutex_destroy(&m->mem_mu);
  m->magic = 0;
  free(m->params);
  free(m->param_offset);
  free(m->param_bufs);
  free(m->io_bufs);
  free(m->dims);
  free(m->args);
  free(m);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/* Replaces the Halide runtime's error handler: the message goes to the
 * instance (the first one of a call wins), never to stderr. */
void halide_error(void *user_context, const char *msg) {
  nncc_instance *m = (nncc_instance *)user_context;
  size_t n;
  if (!is_instance(m) || !msg)
    return;
  pthread_mutex_lock(&m->err_mu);
  if (m->err[0] == '\0') {
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
      --n;
    if (n >= sizeof m->err)
      n = sizeof m->err - 1;
    memcpy(m->err, msg, n);
    m->err[n] = '\0';
  }
  pthread_mutex_unlock(&m->err_mu);
}

const char *nncc_rt_last_error(const nncc_instance *m) {
  return m ? m->err : kNullMessage;
}

/* ------------------------------------------------------------------------ */
/* Forward                                                                   */

int nncc_rt_forward(nncc_instance *m, int batch, const float *const *inputs, float *const *outputs) {
  const nncc_model_desc *d;
  int32_t i, nin, nout;
  size_t a = 0;
  int r;
  if (!m)
    return NNCC_ERR_ARGUMENT;
  d = m->d;
  clear_error(m);
  nin = d->num_inputs;
  nout = d->num_outputs;
  if (batch < 1 || batch > d->max_batch) {
    set_error(m, "%s_forward: batch %d is outside 1..%d", model_name(m), batch, d->max_batch);
    return NNCC_ERR_ARGUMENT;
  }
  if ((nin && !inputs) || (nout && !outputs)) {
    set_error(m, "%s_forward: the %s array is null", model_name(m), (nin && !inputs) ? "input" : "output");
    return NNCC_ERR_ARGUMENT;
  }
  for (i = 0; i < nin; ++i)
    if (!inputs[i]) {
      set_error(m, "%s_forward: input '%s' is null", model_name(m), d->inputs[i].name);
      return NNCC_ERR_ARGUMENT;
    }
  for (i = 0; i < nout; ++i)
    if (!outputs[i]) {
      set_error(m, "%s_forward: output '%s' is null", model_name(m), d->outputs[i].name);
      return NNCC_ERR_ARGUMENT;
    }
  for (i = 0; i < nin + nout; ++i) {
    const nncc_tensor_desc *t = i < nin ? &d->inputs[i] : &d->outputs[i - nin];
    halide_dimension_t *dims = &m->dims[4 * (size_t)d->num_params + 5 * (size_t)i];
    halide_dimension_t *nd = &dims[t->rank];
    void *host = i < nin ? (void *)inputs[i] : (void *)outputs[i - nin];
    int64_t per_sample = fill_dims(dims, t->rank, t->dims);
    memset(nd, 0, sizeof *nd);
    nd->min = 0;
    nd->extent = batch;
    nd->stride = (int32_t)per_sample;
    init_buffer(&m->io_bufs[i], dims, t->rank + 1, host);
  }
  m->args[a++] = &m->user_context;
  for (i = 0; i < nin; ++i)
    m->args[a++] = &m->io_bufs[i];
  for (i = 0; i < d->num_params; ++i)
    m->args[a++] = &m->param_bufs[i];
  for (i = 0; i < nout; ++i)
    m->args[a++] = &m->io_bufs[nin + i];
  r = d->forward(m->args);
  if (r != 0) {
    char msg[NNCC_ERR_SIZE];
    if (m->err[0]) {
      memcpy(msg, m->err, sizeof msg);
      set_error(m, "%s_forward: %s", model_name(m), msg);
    } else {
      set_error(m, "%s_forward: the pipeline failed with error code %d", model_name(m), r);
    }
    return NNCC_ERR_PIPELINE;
  }
  return NNCC_OK;
}

/* ------------------------------------------------------------------------ */
/* Weights: safetensors                                                      */

/* The number of tokens of the value starting at tokens[i], itself included. */
static int token_span(const jsmntok_t *t, int i, int count) {
  int n = 1, j, k = i + 1;
  if (i >= count)
    return 1;
  if (t[i].type == JSMN_OBJECT) {
    for (j = 0; j < t[i].size; ++j) {
      int s = 1 + token_span(t, k + 1, count); /* key + value */
      k += s;
      n += s;
    }
  } else if (t[i].type == JSMN_ARRAY) {
    for (j = 0; j < t[i].size; ++j) {
      int s = token_span(t, k, count);
      k += s;
      n += s;
    }
  }
  return n;
}

static int tok_eq(const char *js, const jsmntok_t *t, const char *s) {
  size_t n = strlen(s);
  return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n &&
         memcmp(js + t->start, s, n) == 0;
}

/* A non-negative decimal integer (no sign, fraction or exponent). */
static int tok_uint(const char *js, const jsmntok_t *t, uint64_t *out) {
  uint64_t v = 0;
  int i;
  if (t->type != JSMN_PRIMITIVE || t->end <= t->start)
    return 0;
  for (i = t->start; i < t->end; ++i) {
    unsigned c = (unsigned char)js[i] - '0';
    if (c > 9 || v > (UINT64_MAX - c) / 10)
      return 0;
    v = v * 10 + c;
  }
  *out = v;
  return 1;
}

static int hex4(const char *s, unsigned *out) {
  unsigned v = 0;
  int i;
  for (i = 0; i < 4; ++i) {
    char c = s[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return 0;
  }
  *out = v;
  return 1;
}

/* Decodes a JSON string token's escapes into out (NUL-terminated, at most
 * cap-1 bytes). Returns 0 on a bad escape or overflow. */
static int tok_string(const char *js, const jsmntok_t *t, char *out, size_t cap) {
  const char *s = js + t->start, *e = js + t->end;
  size_t n = 0;
  while (s < e) {
    unsigned cp;
    char buf[4];
    size_t k, len;
    if (*s != '\\') {
      cp = 0;
      buf[0] = *s++;
      len = 1;
    } else {
      if (++s >= e) return 0;
      switch (*s++) {
      case '"': cp = '"'; break;
      case '\\': cp = '\\'; break;
      case '/': cp = '/'; break;
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u':
        if (e - s < 4 || !hex4(s, &cp)) return 0;
        s += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {
          unsigned lo;
          if (e - s < 6 || s[0] != '\\' || s[1] != 'u' || !hex4(s + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
            return 0;
          s += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return 0;
        }
        break;
      default: return 0;
      }
      if (cp < 0x80) { buf[0] = (char)cp; len = 1; }
      else if (cp < 0x800) { buf[0] = (char)(0xC0 | (cp >> 6)); buf[1] = (char)(0x80 | (cp & 0x3F)); len = 2; }
      else if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12)); buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F)); len = 3;
      } else {
        buf[0] = (char)(0xF0 | (cp >> 18)); buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); buf[3] = (char)(0x80 | (cp & 0x3F)); len = 4;
      }
    }
    if (n + len >= cap) return 0;
    for (k = 0; k < len; ++k) out[n++] = buf[k];
  }
  out[n] = '\0';
  return 1;
}

static void format_shape(char *buf, size_t cap, int rank, const uint64_t *shape) {
  size_t n = 0;
  int i;
  n += (size_t)snprintf(buf, cap, "[");
  for (i = 0; i < rank && n < cap; ++i)
    n += (size_t)snprintf(buf + n, cap - n, "%s%llu", i ? ", " : "", (unsigned long long)shape[i]);
  if (n < cap)
    snprintf(buf + n, cap - n, "]");
}

typedef struct found_tensor {
  int param;            /* index into the descriptor's params */
  uint64_t begin, end;  /* data_offsets */
  char name[256];
} found_tensor;

static int cmp_found(const void *a, const void *b) {
  const found_tensor *x = (const found_tensor *)a, *y = (const found_tensor *)b;
  return x->begin < y->begin ? -1 : (x->begin > y->begin ? 1 : 0);
}

#define MAX_NAME 256

/* Validates the parsed header against the model; fills found[param] for every
 * parameter. Returns 0 or NNCC_ERR_FORMAT with the message set. */
static int check_header(nncc_instance *m, const char *fn, const char *js, const jsmntok_t *t,
                        int count, uint64_t data_len, found_tensor *found, uint8_t *seen) {
  const nncc_model_desc *d = m->d;
  int i, k = 1, ntensors = 0;
  char name[MAX_NAME];
  if (count < 1 || t[0].type != JSMN_OBJECT) {
    set_error(m, "%s: the header is not a JSON object", fn);
    return NNCC_ERR_FORMAT;
  }
  for (i = 0; i < t[0].size; ++i) {
    const jsmntok_t *key = &t[k], *val = &t[k + 1];
    int vspan = token_span(t, k + 1, count);
    int p, j, f, have_dtype = 0, have_shape = 0, have_offsets = 0, rank = 0;
    uint64_t shape[8], begin = 0, end = 0;
    if (key->type != JSMN_STRING || !tok_string(js, key, name, sizeof name)) {
      set_error(m, "%s: a tensor name in the header is not a valid string (or is too long)", fn);
      return NNCC_ERR_FORMAT;
    }
    if (strcmp(name, "__metadata__") == 0) {
      if (val->type != JSMN_OBJECT) {
        set_error(m, "%s: __metadata__ is not an object", fn);
        return NNCC_ERR_FORMAT;
      }
      k += 1 + vspan;
      continue;
    }
    for (p = 0; p < d->num_params; ++p)
      if (strcmp(d->params[p].name, name) == 0)
        break;
    if (p == d->num_params) {
      set_error(m, "%s: %s: not a parameter of this model", fn, name);
      return NNCC_ERR_FORMAT;
    }
    if (seen[p]) {
      set_error(m, "%s: %s: appears twice in the header", fn, name);
      return NNCC_ERR_FORMAT;
    }
    if (val->type != JSMN_OBJECT) {
      set_error(m, "%s: %s: the entry is not an object", fn, name);
      return NNCC_ERR_FORMAT;
    }
    f = k + 2;
    for (j = 0; j < val->size; ++j) {
      const jsmntok_t *fk = &t[f], *fv = &t[f + 1];
      int fspan = token_span(t, f + 1, count);
      if (tok_eq(js, fk, "dtype")) {
        if (fv->type != JSMN_STRING || !tok_eq(js, fv, "F32")) {
          set_error(m, "%s: %s: dtype %.*s is not F32 (the only dtype supported)", fn, name,
                    fv->end - fv->start > 32 ? 32 : fv->end - fv->start, js + fv->start);
          return NNCC_ERR_FORMAT;
        }
        have_dtype = 1;
      } else if (tok_eq(js, fk, "shape")) {
        int s;
        if (fv->type != JSMN_ARRAY || fv->size > 8) {
          set_error(m, "%s: %s: shape is not an array of at most 8 integers", fn, name);
          return NNCC_ERR_FORMAT;
        }
        rank = fv->size;
        for (s = 0; s < rank; ++s)
          if (!tok_uint(js, &t[f + 2 + s], &shape[s]) || shape[s] > INT32_MAX) {
            set_error(m, "%s: %s: shape is not an array of non-negative integers", fn, name);
            return NNCC_ERR_FORMAT;
          }
        have_shape = 1;
      } else if (tok_eq(js, fk, "data_offsets")) {
        if (fv->type != JSMN_ARRAY || fv->size != 2 || !tok_uint(js, &t[f + 2], &begin) ||
            !tok_uint(js, &t[f + 3], &end)) {
          set_error(m, "%s: %s: data_offsets is not an array of two non-negative integers", fn, name);
          return NNCC_ERR_FORMAT;
        }
        have_offsets = 1;
      } else {
        set_error(m, "%s: %s: unknown field %.*s", fn, name,
                  fk->end - fk->start > 32 ? 32 : fk->end - fk->start, js + fk->start);
        return NNCC_ERR_FORMAT;
      }
      f += 1 + fspan;
    }
    if (!have_dtype || !have_shape || !have_offsets) {
      set_error(m, "%s: %s: missing %s", fn, name,
                !have_dtype ? "dtype" : (!have_shape ? "shape" : "data_offsets"));
      return NNCC_ERR_FORMAT;
    }
    {
      const nncc_tensor_desc *pd = &d->params[p];
      int same = rank == pd->rank;
      for (j = 0; same && j < rank; ++j)
        same = shape[j] == (uint64_t)pd->dims[j];
      if (!same) {
        char got[160], want[160];
        uint64_t w[4];
        for (j = 0; j < pd->rank; ++j)
          w[j] = (uint64_t)pd->dims[j];
        format_shape(got, sizeof got, rank, shape);
        format_shape(want, sizeof want, pd->rank, w);
        set_error(m, "%s: %s: shape %s does not match %s", fn, name, got, want);
        return NNCC_ERR_FORMAT;
      }
      if (begin > end || end > data_len) {
        set_error(m, "%s: %s: data_offsets [%llu, %llu] are outside the data (%llu bytes)", fn, name,
                  (unsigned long long)begin, (unsigned long long)end, (unsigned long long)data_len);
        return NNCC_ERR_FORMAT;
      }
      if (end - begin != 4 * (uint64_t)pd->size) {
        set_error(m, "%s: %s: data_offsets [%llu, %llu] hold %llu bytes, the shape needs %llu", fn,
                  name, (unsigned long long)begin, (unsigned long long)end,
                  (unsigned long long)(end - begin), (unsigned long long)(4 * (uint64_t)pd->size));
        return NNCC_ERR_FORMAT;
      }
    }
    seen[p] = 1;
    found[ntensors].param = p;
    found[ntensors].begin = begin;
    found[ntensors].end = end;
    memcpy(found[ntensors].name, name, sizeof found[ntensors].name);
    ++ntensors;
    k += 1 + vspan;
  }
  for (i = 0; i < d->num_params; ++i)
    if (!seen[i]) {
      set_error(m, "%s: %s: missing from the file", fn, d->params[i].name);
      return NNCC_ERR_FORMAT;
    }
  /* As safetensors requires: the tensors tile the data, no overlap, no gap. */
  qsort(found, (size_t)ntensors, sizeof *found, cmp_found);
  {
    uint64_t pos = 0;
    for (i = 0; i < ntensors; ++i) {
      if (found[i].begin != pos) {
        set_error(m, "%s: %s: data_offsets [%llu, %llu] %s the previous tensor's data (ending at %llu)",
                  fn, found[i].name, (unsigned long long)found[i].begin,
                  (unsigned long long)found[i].end,
                  found[i].begin < pos ? "overlap" : "leave a gap after", (unsigned long long)pos);
        return NNCC_ERR_FORMAT;
      }
      pos = found[i].end;
    }
    if (pos != data_len) {
      set_error(m, "%s: the data section has %llu bytes, the tensors cover %llu", fn,
                (unsigned long long)data_len, (unsigned long long)pos);
      return NNCC_ERR_FORMAT;
    }
  }
  return NNCC_OK;
}

int nncc_rt_load_weights(nncc_instance *m, const char *path) {
  const nncc_model_desc *d;
  char fn[128];
  FILE *f = NULL;
  unsigned char *buf = NULL, lenb[8];
  jsmntok_t *tokens = NULL;
  found_tensor *found = NULL;
  uint8_t *seen = NULL;
  uint64_t hlen = 0, data_len;
  long fsize;
  int rc = NNCC_OK, count, i;
  jsmn_parser parser;
  if (!m)
    return NNCC_ERR_ARGUMENT;
  d = m->d;
  clear_error(m);
  snprintf(fn, sizeof fn, "%s_load_weights", model_name(m));
  if (!path) {
    set_error(m, "%s: the path is null", fn);
    return NNCC_ERR_ARGUMENT;
  }
  f = fopen(path, "rb");
  if (!f) {
    set_error(m, "%s: cannot open %s: %s", fn, path, strerror(errno));
    return NNCC_ERR_IO;
  }
  if (fseek(f, 0, SEEK_END) != 0 || (fsize = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    set_error(m, "%s: cannot read %s: %s", fn, path, strerror(errno));
    fclose(f);
    return NNCC_ERR_IO;
  }
  if (fsize < 8 || fread(lenb, 1, 8, f) != 8) {
    set_error(m, "%s: %s is too short for a safetensors file (%ld bytes)", fn, path, fsize);
    fclose(f);
    return NNCC_ERR_FORMAT;
  }
  for (i = 7; i >= 0; --i)
    hlen = (hlen << 8) | lenb[i];
  if (hlen > NNCC_MAX_HEADER || hlen > (uint64_t)fsize - 8) {
    set_error(m, "%s: %s: the header length %llu is beyond the file (%ld bytes) or over 100 MB", fn,
              path, (unsigned long long)hlen, fsize);
    fclose(f);
    return NNCC_ERR_FORMAT;
  }
  buf = (unsigned char *)malloc((size_t)fsize - 8 + 1);
  if (!buf) {
    set_error(m, "%s: out of memory reading %s", fn, path);
    fclose(f);
    return NNCC_ERR_MEMORY;
  }
  if (fread(buf, 1, (size_t)fsize - 8, f) != (size_t)fsize - 8) {
    set_error(m, "%s: cannot read %s", fn, path);
    free(buf);
    fclose(f);
    return NNCC_ERR_IO;
  }
  fclose(f);
  data_len = (uint64_t)fsize - 8 - hlen;
  {
    const char *js = (const char *)buf;
    size_t jlen = (size_t)hlen;
    while (jlen > 0 && (js[jlen - 1] == ' ' || js[jlen - 1] == '\n' || js[jlen - 1] == '\t' ||
                        js[jlen - 1] == '\r'))
      --jlen;
    if (memchr(js, '\0', jlen)) {
      set_error(m, "%s: %s: the header contains a NUL byte", fn, path);
      rc = NNCC_ERR_FORMAT;
      goto done;
    }
    jsmn_init(&parser);
    count = jsmn_parse(&parser, js, jlen, NULL, 0);
    if (count < 1) {
      set_error(m, "%s: %s: the header is not valid JSON", fn, path);
      rc = NNCC_ERR_FORMAT;
      goto done;
    }
    tokens = (jsmntok_t *)malloc(sizeof(jsmntok_t) * (size_t)count);
    found = (found_tensor *)calloc((size_t)d->num_params + 1, sizeof(found_tensor));
    seen = (uint8_t *)calloc((size_t)d->num_params + 1, 1);
    if (!tokens || !found || !seen) {
      set_error(m, "%s: out of memory reading %s", fn, path);
      rc = NNCC_ERR_MEMORY;
      goto done;
    }
    jsmn_init(&parser);
    if (jsmn_parse(&parser, js, jlen, tokens, (unsigned)count) != count || tokens[0].end != (int)jlen ||
        tokens[0].start != 0 || token_span(tokens, 0, count) != count) {
      set_error(m, "%s: %s: the header is not valid JSON", fn, path);
      rc = NNCC_ERR_FORMAT;
      goto done;
    }
    rc = check_header(m, fn, js, tokens, count, data_len, found, seen);
    if (rc != NNCC_OK)
      goto done;
    /* Everything checked: replace all parameters at once. */
    for (i = 0; i < d->num_params; ++i) {
      const found_tensor *ft = &found[i];
      memcpy(m->params + m->param_offset[ft->param], buf + hlen + ft->begin,
             (size_t)(ft->end - ft->begin));
    }
  }
done:
  free(tokens);
  free(found);
  free(seen);
  free(buf);
  return rc;
}

/* Appends to a growable string; returns 0 when out of memory. */
typedef struct strbuf {
  char *p;
  size_t len, cap;
} strbuf;

static int sb_put(strbuf *s, const char *fmt, ...) {
  va_list ap;
  int n;
  for (;;) {
    va_start(ap, fmt);
    n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
      return 0;
    if (s->p && (size_t)n < s->cap - s->len) {
      s->len += (size_t)n;
      return 1;
    }
    {
      size_t cap = (s->cap ? s->cap * 2 : 1024) + (size_t)n;
      char *q = (char *)realloc(s->p, cap);
      if (!q)
        return 0;
      s->p = q;
      s->cap = cap;
    }
  }
}

static int sb_json_string(strbuf *s, const char *str) {
  const unsigned char *c;
  if (!sb_put(s, "\""))
    return 0;
  for (c = (const unsigned char *)str; *c; ++c) {
    int ok;
    if (*c == '"' || *c == '\\')
      ok = sb_put(s, "\\%c", *c);
    else if (*c < 0x20 || *c == 0x7f)
      ok = sb_put(s, "\\u%04x", *c);
    else
      ok = sb_put(s, "%c", *c);
    if (!ok)
      return 0;
  }
  return sb_put(s, "\"");
}

static int cmp_names_with(const nncc_model_desc *d, int a, int b) {
  return strcmp(d->params[a].name, d->params[b].name);
}

/* Insertion sort of parameter indices by name (qsort has no context argument
 * in C99, and a global would break thread safety). */
static void sort_by_name(const nncc_model_desc *d, int *order, int n) {
  int i, j;
  for (i = 0; i < n; ++i)
    order[i] = i;
  for (i = 1; i < n; ++i) {
    int v = order[i];
    for (j = i; j > 0 && cmp_names_with(d, order[j - 1], v) > 0; --j)
      order[j] = order[j - 1];
    order[j] = v;
  }
}

int nncc_rt_save_weights(const nncc_instance *m, const char *path) {
  const nncc_model_desc *d;
  char fn[128];
  strbuf hdr = {NULL, 0, 0};
  int *order = NULL;
  char *tmp = NULL;
  FILE *f = NULL;
  int fd = -1, i, j, rc = NNCC_OK;
  uint64_t off = 0, hlen;
  unsigned char lenb[8];
  if (!m)
    return NNCC_ERR_ARGUMENT;
  d = m->d;
  clear_error(m);
  snprintf(fn, sizeof fn, "%s_save_weights", model_name(m));
  if (!path) {
    set_error(m, "%s: the path is null", fn);
    return NNCC_ERR_ARGUMENT;
  }
  order = (int *)malloc(sizeof(int) * ((size_t)d->num_params + 1));
  tmp = (char *)malloc(strlen(path) + 16);
  if (!order || !tmp)
    goto oom;
  sort_by_name(d, order, d->num_params);
  if (!sb_put(&hdr, "{"))
    goto oom;
  for (i = 0; i < d->num_params; ++i) {
    const nncc_tensor_desc *t = &d->params[order[i]];
    uint64_t bytes = 4 * (uint64_t)t->size;
    if (!sb_put(&hdr, i ? "," : "") || !sb_json_string(&hdr, t->name) ||
        !sb_put(&hdr, ":{\"dtype\":\"F32\",\"shape\":["))
      goto oom;
    for (j = 0; j < t->rank; ++j)
      if (!sb_put(&hdr, "%s%lld", j ? "," : "", (long long)t->dims[j]))
        goto oom;
    if (!sb_put(&hdr, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                (unsigned long long)(off + bytes)))
      goto oom;
    off += bytes;
  }
  if (!sb_put(&hdr, "}"))
    goto oom;
  while (hdr.len % 8 != 0)
    if (!sb_put(&hdr, " "))
      goto oom;
  hlen = hdr.len;
  for (i = 0; i < 8; ++i)
    lenb[i] = (unsigned char)(hlen >> (8 * i));

  snprintf(tmp, strlen(path) + 16, "%s.tmp.XXXXXX", path);
  fd = mkstemp(tmp);
  if (fd < 0) {
    set_error(m, "%s: cannot create a temporary file beside %s: %s", fn, path, strerror(errno));
    rc = NNCC_ERR_IO;
    goto out;
  }
  (void)fchmod(fd, 0644);
  f = fdopen(fd, "wb");
  if (!f) {
    set_error(m, "%s: cannot write %s: %s", fn, tmp, strerror(errno));
    close(fd);
    unlink(tmp);
    rc = NNCC_ERR_IO;
    goto out;
  }
  {
    int ok = fwrite(lenb, 1, 8, f) == 8 && fwrite(hdr.p, 1, hdr.len, f) == hdr.len;
    for (i = 0; ok && i < d->num_params; ++i) {
      int p = order[i];
      size_t n = (size_t)d->params[p].size;
      ok = fwrite(m->params + m->param_offset[p], sizeof(float), n, f) == n;
    }
    if (ok)
      ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
      ok = 0;
    if (!ok) {
      set_error(m, "%s: cannot write %s: %s", fn, tmp, strerror(errno));
      unlink(tmp);
      rc = NNCC_ERR_IO;
      goto out;
    }
  }
  if (rename(tmp, path) != 0) {
    set_error(m, "%s: cannot rename %s to %s: %s", fn, tmp, path, strerror(errno));
    unlink(tmp);
    rc = NNCC_ERR_IO;
  }
  goto out;
oom:
  set_error(m, "%s: out of memory", fn);
  rc = NNCC_ERR_MEMORY;
out:
  free(hdr.p);
  free(order);
  free(tmp);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Scratch memory                                                            */

/* Halide asks for every intermediate buffer through halide_malloc and gives
 * it back through halide_free (as soon as its last reader has run). An
 * instance keeps the blocks and hands the smallest free one that fits to the
 * next request, so once a batch size has been run, later calls at that size
 * or smaller allocate nothing. Requests without an instance (never made by
 * nncc's pipelines) get plain aligned memory. */
enum { NNCC_ALIGNMENT = 128 };

void *halide_malloc(void *user_context, size_t size) {
  nncc_instance *m = (nncc_instance *)user_context;
  void *p = NULL;
  int i, best = -1;
  if (!is_instance(m)) {
    return posix_memalign(&p, NNCC_ALIGNMENT, size ? size : 1) == 0 ? p : NULL;
  }
  pthread_mutex_lock(&m->mem_mu);
  for (i = 0; i < m->num_blocks; ++i) {
    nncc_block *b = &m->blocks[i];
    if (!b->in_use && b->size >= size && (best < 0 || b->size < m->blocks[best].size))
      best = i;
  }
  if (best < 0) {
    if (m->num_blocks == m->cap_blocks) {
      int cap = m->cap_blocks ? 2 * m->cap_blocks : 16;
      nncc_block *grown = (nncc_block *)realloc(m->blocks, sizeof(nncc_block) * (size_t)cap);
      if (!grown) {
        pthread_mutex_unlock(&m->mem_mu);
        return NULL;
      }
      m->blocks = grown;
      m->cap_blocks = cap;
    }
    if (posix_memalign(&p, NNCC_ALIGNMENT, size ? size : 1) != 0) {
      pthread_mutex_unlock(&m->mem_mu);
      return NULL;
    }
    best = m->num_blocks++;
    m->blocks[best].ptr = p;
    m->blocks[best].size = size;
  }
  m->blocks[best].in_use = 1;
  p = m->blocks[best].ptr;
  pthread_mutex_unlock(&m->mem_mu);
  return p;
}

void halide_free(void *user_context, void *ptr) {
  nncc_instance *m = (nncc_instance *)user_context;
  int i;
  if (!ptr)
    return;
  if (is_instance(m)) {
    pthread_mutex_lock(&m->mem_mu);
    for (i = 0; i < m->num_blocks; ++i) {
      if (m->blocks[i].ptr == ptr) {
        m->blocks[i].in_use = 0;
        pthread_mutex_unlock(&m->mem_mu);
        return;
      }
    }
    pthread_mutex_unlock(&m->mem_mu);
  }
  free(ptr);
}
