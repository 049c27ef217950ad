/* The generic model runtime linked into every compiled model (see
 * nncc_model.h and docs/runtime.md): instances, errors, and the buffer layout
 * passed to the Halide pipeline by forward. The thread pool, weights files and
 * scratch memory are in ThreadPool.c, WeightsFile.c and ScratchMemory.c.
 *
 * C99 plus POSIX (pthreads, mkstemp, sysconf). No mutable globals: every piece
 * of state lives in an instance. Nothing here prints or aborts. */
#include "ModelRuntimeInternal.h"

static const char kNullMessage[] = "out of memory or null instance";

void nncc_set_error(const nncc_instance *cm, const char *fmt, ...) {
  nncc_instance *m = (nncc_instance *)cm; /* instances are always allocated mutable */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->err, sizeof m->err, fmt, ap);
  va_end(ap);
}

void nncc_clear_error(const nncc_instance *cm) {
  ((nncc_instance *)cm)->err[0] = '\0';
}

int nncc_is_instance(const void *p) {
  return p != NULL && ((const nncc_instance *)p)->magic == NNCC_MAGIC;
}

const char *nncc_model_name(const nncc_instance *m) {
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

/* Frees an instance's memory (its scratch blocks and pool are released by
 * nncc_rt_destroy before). */
static void free_instance(nncc_instance *m) {
  free(m->params);
  free(m->param_offset);
  free(m->param_bufs);
  free(m->io_bufs);
  free(m->dims);
  free(m->args);
  free(m);
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
    free_instance(m);
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

void nncc_rt_destroy(nncc_instance *m) {
  if (!m)
    return;
  nncc_pool_stop(m);
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
  free_instance(m);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */

/* Replaces the Halide runtime's error handler: the message goes to the
 * instance (the first one of a call wins), never to stderr. */
void halide_error(void *user_context, const char *msg) {
  nncc_instance *m = (nncc_instance *)user_context;
  size_t n;
  if (!nncc_is_instance(m) || !msg)
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
  nncc_clear_error(m);
  nin = d->num_inputs;
  nout = d->num_outputs;
  if (batch < 1 || batch > d->max_batch) {
    nncc_set_error(m, "%s_forward: batch %d is outside 1..%d", nncc_model_name(m), batch, d->max_batch);
    return NNCC_ERR_ARGUMENT;
  }
  if ((nin && !inputs) || (nout && !outputs)) {
    nncc_set_error(m, "%s_forward: the %s array is null", nncc_model_name(m), (nin && !inputs) ? "input" : "output");
    return NNCC_ERR_ARGUMENT;
  }
  for (i = 0; i < nin; ++i)
    if (!inputs[i]) {
      nncc_set_error(m, "%s_forward: input '%s' is null", nncc_model_name(m), d->inputs[i].name);
      return NNCC_ERR_ARGUMENT;
    }
  for (i = 0; i < nout; ++i)
    if (!outputs[i]) {
      nncc_set_error(m, "%s_forward: output '%s' is null", nncc_model_name(m), d->outputs[i].name);
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
      nncc_set_error(m, "%s_forward: %s", nncc_model_name(m), msg);
    } else {
      nncc_set_error(m, "%s_forward: the pipeline failed with error code %d", nncc_model_name(m), r);
    }
    return NNCC_ERR_PIPELINE;
  }
  return NNCC_OK;
}

