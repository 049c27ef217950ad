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

/* The same for a [C, H, W] tensor stored channels-last ([H, W, C]): Halide's
 * dims stay (x, y, c), with the strides (C, C*W, 1). With a zero border of
 * b pixels the storage is [H + 2b, W + 2b, C]: the readers' view covers it
 * all (x and y from -b), the producer's (`interior`) the H x W inside.
 * Returns the floats of one sample's storage. */
static int64_t fill_dims_channels_last(halide_dimension_t *dims, const int64_t *shape, int32_t b, int32_t interior) {
  int64_t c = shape[0], h = shape[1], w = shape[2], w2 = w + 2 * b, h2 = h + 2 * b;
  memset(dims, 0, 3 * sizeof *dims);
  dims[0].min = interior ? 0 : -b;
  dims[0].extent = (int32_t)(interior ? w : w2);
  dims[0].stride = (int32_t)c;
  dims[1].min = interior ? 0 : -b;
  dims[1].extent = (int32_t)(interior ? h : h2);
  dims[1].stride = (int32_t)(c * w2);
  dims[2].extent = (int32_t)c;
  dims[2].stride = 1;
  return c * h2 * w2;
}

/* The floats of one sample of a ref's storage (its zero border included). */
static int64_t ref_sample_floats(const nncc_buffer_ref *r) {
  int64_t n = 1;
  int32_t i;
  if (r->border > 0)
    return r->dims[0] * (r->dims[1] + 2 * (int64_t)r->border) * (r->dims[2] + 2 * (int64_t)r->border);
  for (i = 0; i < r->rank; ++i)
    n *= r->dims[i];
  return n;
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

static int64_t arena_floats(const nncc_model_desc *d) {
  return d->arena_floats > d->train_arena_floats ? d->arena_floats : d->train_arena_floats;
}

/* A ref inside what it points at: its input/output/parameter exists with
 * the same size, or its arena slice lies inside the arena at max_batch. */
static int valid_ref(const nncc_model_desc *d, const nncc_buffer_ref *r) {
  int64_t n = 1;
  int32_t i;
  if (r->rank < 0 || r->rank > 4 || (r->batched != 0 && r->batched != 1))
    return 0;
  for (i = 0; i < r->rank; ++i) {
    if (r->dims[i] < 0 || r->dims[i] > INT32_MAX)
      return 0;
    n *= r->dims[i];
    if (n > INT32_MAX)
      return 0;
  }
  if (r->border != 0 || r->interior != 0) {
    /* Only channels-last arena values have a border, of a few pixels. */
    if (r->kind != NNCC_REF_ARENA || !r->channels_last || r->rank != 3 || r->border < 0 || r->border > 64 ||
        (r->interior != 0 && r->interior != 1))
      return 0;
    n = ref_sample_floats(r);
    if (n > INT32_MAX)
      return 0;
  }
  switch (r->kind) {
  case NNCC_REF_INPUT:
    return r->batched && r->index >= 0 && r->index < d->num_inputs && d->inputs[r->index].size == n;
  case NNCC_REF_OUTPUT:
    return r->batched && r->index >= 0 && r->index < d->num_outputs && d->outputs[r->index].size == n;
  case NNCC_REF_PARAM:
    return !r->batched && r->index >= 0 && r->index < d->num_params && d->params[r->index].size == n;
  case NNCC_REF_ARENA:
    return r->offset >= 0 && r->offset + n * (r->batched ? d->max_batch : 1) <= arena_floats(d);
  case NNCC_REF_TARGET:
    return r->batched && r->index >= 0 && r->index < d->num_targets && d->targets[r->index].size == n;
  case NNCC_REF_GRAD:
    return !r->batched && r->offset >= 0 && r->offset + n <= d->num_grad_floats;
  case NNCC_REF_STATE:
    return !r->batched && r->offset >= 0 && r->offset + n <= (int64_t)d->num_states * d->num_grad_floats;
  case NNCC_REF_SCALARS:
  case NNCC_REF_SCALAR:
    return !r->batched && r->offset >= 0 && r->offset + n <= (int64_t)d->num_scalars * NNCC_SCALAR_STRIDE;
  case NNCC_REF_PACKED:
    return !r->batched && r->offset >= 0 && r->offset + n <= d->packed_floats;
  default:
    return 0;
  }
}

static int valid_program(const nncc_model_desc *d, const nncc_program *p) {
  int32_t i;
  if (p->num_steps < 0 || (p->num_steps && !p->steps))
    return 0;
  for (i = 0; i < p->num_steps; ++i) {
    const nncc_step *s = &p->steps[i];
    if (s->kernel < -1 || s->kernel >= d->num_kernels || s->first_ref < 0 || s->num_refs < 0 ||
        s->first_ref > d->num_refs - s->num_refs || (s->kernel == -1 && s->num_refs != 2) ||
        (s->kernel >= 0 && !d->kernels[s->kernel]))
      return 0;
  }
  return 1;
}

static int valid_desc(const nncc_model_desc *d) {
  int64_t total = 0;
  int32_t i;
  if (!d || d->max_batch < 1 || d->num_inputs < 0 || d->num_outputs < 0 ||
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
  if (total != d->num_param_floats || d->num_kernels < 0 || d->num_refs < 0 || d->arena_floats < 0 ||
      d->packed_floats < 0 || (d->num_kernels && !d->kernels) || (d->num_refs && !d->refs) ||
      !valid_program(d, &d->prepack))
    return 0;
  for (i = 0; i < d->num_refs; ++i)
    if (!valid_ref(d, &d->refs[i]))
      return 0;
  if (d->has_training) {
    if (d->num_targets < 0 || (d->num_targets && (!d->targets || !d->target_classes)) || d->num_grad_floats < 0 ||
        (d->num_params && !d->grad_offset) || d->num_states < 0 || d->num_scalars < 3 || d->num_costs < 0 ||
        d->num_corrects < 0 || (d->num_costs && !d->cost_slots) || (d->num_corrects && !d->correct_slots) ||
        d->num_scalars < 6 || !valid_program(d, &d->evaluate) || !valid_program(d, &d->train) ||
        !valid_program(d, &d->update))
      return 0;
    for (i = 0; i < d->num_costs; ++i)
      if (d->cost_slots[i] < 0 || d->cost_slots[i] >= d->num_scalars)
        return 0;
    for (i = 0; i < d->num_corrects; ++i)
      if (d->correct_slots[i] < 0 || d->correct_slots[i] >= d->num_scalars)
        return 0;
  }
  return valid_program(d, &d->forward);
}

/* The number of floats a ref covers at batch `batch`. */
static int64_t ref_floats(const nncc_buffer_ref *r, int batch) {
  int64_t n = ref_sample_floats(r);
  return r->batched ? n * batch : n;
}

/* Zeroes the border of the producer's view `r` (its buffer `b`) for `batch`
 * samples: the arena slice held other values before. Per sample, the
 * border is h + 1 runs of memory: the rows above and the first row's left
 * pixels, then a row's right pixels with the next row's left ones, and the
 * last row's right pixels with the rows below. */
static void zero_border(const nncc_buffer_ref *r, const halide_buffer_t *b, int batch) {
  int64_t c = r->dims[0], h = r->dims[1], w = r->dims[2], bd = r->border, w2 = w + 2 * bd;
  int64_t per = ref_sample_floats(r), y;
  int n;
  for (n = 0; n < batch; ++n) {
    /* The sample's storage starts b rows and b pixels before the interior. */
    float *s = (float *)b->host + n * per - (bd * w2 + bd) * c;
    memset(s, 0, sizeof(float) * (size_t)((bd * w2 + bd) * c));
    for (y = bd; y < bd + h - 1; ++y)
      memset(s + (y * w2 + bd + w) * c, 0, sizeof(float) * (size_t)(2 * bd * c));
    memset(s + ((bd + h - 1) * w2 + bd + w) * c, 0, sizeof(float) * (size_t)((bd * w2 + bd) * c));
  }
}

/* The bytes of parameters (raw or prepacked) step `s` reads. */
static int64_t step_param_bytes(const nncc_model_desc *d, const nncc_step *s) {
  int64_t bytes = 0;
  int32_t j;
  for (j = 0; j < s->num_refs; ++j) {
    const nncc_buffer_ref *r = &d->refs[s->first_ref + j];
    if (r->kind == NNCC_REF_PARAM || r->kind == NNCC_REF_PACKED)
      bytes += (int64_t)sizeof(float) * ref_floats(r, 1);
  }
  return bytes;
}

/* Whether a step of `work` FLOPs (at this batch) reading `param_bytes` of
 * parameters shares its parallel loops (ModelRuntimeInternal.h). */
static int parallel_step(int64_t work, int64_t param_bytes) {
  return work >= NNCC_PARALLEL_MIN_WORK || param_bytes >= NNCC_PARALLEL_MIN_PARAM_BYTES ||
         (param_bytes >= NNCC_PARALLEL_MIN_STREAM_BYTES && work <= NNCC_PARALLEL_MAX_INTENSITY * param_bytes);
}

/* Zeroed, 128-byte aligned floats (at least one; nncc_alloc: huge pages
 * from 2 MB on). */
static float *aligned_floats(int64_t n) {
  size_t bytes = sizeof(float) * (size_t)(n > 0 ? n : 1);
  void *p = nncc_alloc(bytes);
  if (p)
    memset(p, 0, bytes);
  return (float *)p;
}

/* Frees an instance's memory (its scratch blocks and pool are released by
 * nncc_rt_destroy before). */
static void free_instance(nncc_instance *m) {
  free(m->params);
  free(m->param_offset);
  free(m->arena);
  free(m->grads);
  free(m->states);
  free(m->scalars);
  free(m->packed);
  free(m->ref_bufs);
  free(m->ref_dims);
  free(m->args);
  free(m);
}

nncc_instance *nncc_rt_create(const nncc_model_desc *d) {
  nncc_instance *m;
  int32_t i, max_refs = 0;
  long cpus;
  if (!valid_desc(d))
    return NULL;
  m = (nncc_instance *)calloc(1, sizeof *m);
  if (!m)
    return NULL;
  max_refs = d->num_refs; /* a step's refs are a slice of them */
  m->d = d;
  m->param_offset = (int64_t *)calloc((size_t)d->num_params + 1, sizeof(int64_t));
  if (m->param_offset) {
    /* Each parameter from a 128-byte boundary: the kernels' vector loads of
     * a weight then never straddle two cache lines (a GEMV at batch 1 on a
     * malloc'd, 16-byte aligned block ran at half speed). */
    int64_t off = 0;
    for (i = 0; i < d->num_params; ++i) {
      m->param_offset[i] = off;
      off += (d->params[i].size + NNCC_PARAM_ALIGN_FLOATS - 1) / NNCC_PARAM_ALIGN_FLOATS * NNCC_PARAM_ALIGN_FLOATS;
    }
    m->param_offset[d->num_params] = off;
    m->params = aligned_floats(off);
  }
  m->ref_bufs = (halide_buffer_t *)calloc((size_t)d->num_refs + 1, sizeof(halide_buffer_t));
  m->ref_dims = (halide_dimension_t *)calloc(5 * (size_t)d->num_refs + 1, sizeof(halide_dimension_t));
  m->args = (void **)calloc(1 + (size_t)max_refs, sizeof(void *));
  m->arena = aligned_floats(arena_floats(d));
  m->grads = aligned_floats(d->has_training ? d->num_grad_floats : 0);
  m->states = aligned_floats(d->has_training ? (int64_t)d->num_states * d->num_grad_floats : 0);
  m->scalars = aligned_floats(d->has_training ? (int64_t)d->num_scalars * NNCC_SCALAR_STRIDE : 0);
  m->packed = aligned_floats(d->packed_floats);
  if (!m->params || !m->param_offset || !m->ref_bufs || !m->ref_dims || !m->args || !m->arena || !m->grads ||
      !m->states || !m->scalars || !m->packed ||
      pthread_mutex_init(&m->err_mu, NULL) != 0 || pthread_mutex_init(&m->mem_mu, NULL) != 0) {
    free_instance(m);
    return NULL;
  }
  {
    const float *src = d->initial_values;
    for (i = 0; i < d->num_params; ++i) {
      memcpy(m->params + m->param_offset[i], src, sizeof(float) * (size_t)d->params[i].size);
      src += d->params[i].size;
    }
  }
  /* Every ref's buffer, once: the batch extent and the caller's pointers are
   * filled in per call. */
  for (i = 0; i < d->num_refs; ++i) {
    const nncc_buffer_ref *r = &d->refs[i];
    halide_dimension_t *dims = &m->ref_dims[5 * (size_t)i];
    int64_t per = r->channels_last && r->rank == 3 ? fill_dims_channels_last(dims, r->dims, r->border, r->interior)
                                                   : fill_dims(dims, r->rank, r->dims);
    void *host = NULL;
    if (r->kind == NNCC_REF_PARAM)
      host = m->params + m->param_offset[r->index];
    else if (r->kind == NNCC_REF_ARENA)
      host = m->arena + r->offset + (r->interior ? (r->border * (r->dims[2] + 2 * r->border) + r->border) * r->dims[0] : 0);
    else if (r->kind == NNCC_REF_GRAD)
      host = m->grads + r->offset;
    else if (r->kind == NNCC_REF_STATE)
      host = m->states + r->offset;
    else if (r->kind == NNCC_REF_SCALARS || r->kind == NNCC_REF_SCALAR)
      host = m->scalars + r->offset;
    else if (r->kind == NNCC_REF_PACKED)
      host = m->packed + r->offset;
    if (r->batched) {
      memset(&dims[r->rank], 0, sizeof dims[r->rank]);
      dims[r->rank].extent = 1;
      dims[r->rank].stride = (int32_t)per;
    }
    init_buffer(&m->ref_bufs[i], dims, r->rank + r->batched, host);
    if (r->is_int)
      m->ref_bufs[i].type.code = halide_type_int;
  }
  m->learning_rate = d->learning_rate;
  m->seed = d->seed;
  m->packed_dirty = 1;
  cpus = sysconf(_SC_NPROCESSORS_ONLN);
  m->threads = cpus < 1 ? 1 : (cpus > NNCC_MAX_THREADS ? NNCC_MAX_THREADS : (int)cpus);
  m->user_context = m;
  m->magic = NNCC_MAGIC;
  nncc_profile_init(m);
  return m;
}

void nncc_rt_destroy(nncc_instance *m) {
  if (!m)
    return;
  nncc_profile_finish(m);
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

/* One step at `batch` (the buffers already set up): an output copy, or the
 * kernel on the step's arguments. 0 or the kernel's Halide error code. */
static int run_step(nncc_instance *m, const nncc_step *s, int batch) {
  const nncc_model_desc *d = m->d;
  int32_t j;
  int r;
  if (s->kernel < 0) {
    const nncc_buffer_ref *from = &d->refs[s->first_ref];
    memmove(m->ref_bufs[s->first_ref + 1].host, m->ref_bufs[s->first_ref].host,
            sizeof(float) * (size_t)ref_floats(from, batch));
    return 0;
  }
  m->args[0] = &m->user_context;
  for (j = 0; j < s->num_refs; ++j) {
    const nncc_buffer_ref *ref = &d->refs[s->first_ref + j];
    if (ref->interior)
      zero_border(ref, &m->ref_bufs[s->first_ref + j], batch);
    m->args[1 + j] = ref->kind == NNCC_REF_SCALAR ? (void *)(m->scalars + ref->offset) : (void *)&m->ref_bufs[s->first_ref + j];
  }
  m->serial_kernel = s->work >= 0 && !parallel_step(s->work * (int64_t)batch, step_param_bytes(d, s));
  r = d->kernels[s->kernel](m->args);
  m->serial_kernel = 0;
  return r;
}

int nncc_run_program(nncc_instance *m, const nncc_program *p, int32_t num_steps, int batch,
                     const float *const *inputs, float *const *outputs, const void *const *targets) {
  const nncc_model_desc *d = m->d;
  const int profiled = m->profile ? nncc_profile_program(m, p) : -1;
  int32_t i;
  for (i = 0; i < d->num_refs; ++i) {
    const nncc_buffer_ref *r = &d->refs[i];
    halide_buffer_t *b = &m->ref_bufs[i];
    if (r->batched)
      b->dim[r->rank].extent = batch;
    if (r->kind == NNCC_REF_INPUT)
      b->host = inputs ? (uint8_t *)inputs[r->index] : NULL;
    else if (r->kind == NNCC_REF_OUTPUT)
      b->host = outputs ? (uint8_t *)outputs[r->index] : NULL;
    else if (r->kind == NNCC_REF_TARGET)
      b->host = targets ? (uint8_t *)targets[r->index] : NULL;
  }
  for (i = 0; i < num_steps; ++i) {
    const double t0 = profiled >= 0 ? nncc_profile_now_ms() : 0;
    const int r = run_step(m, &p->steps[i], batch);
    if (profiled >= 0)
      nncc_profile_step(m, profiled, i, batch, nncc_profile_now_ms() - t0);
    if (r != 0)
      return r;
  }
  return 0;
}

int nncc_prepack(nncc_instance *m) {
  int r;
  if (!m->packed_dirty)
    return 0;
  r = nncc_run_program(m, &m->d->prepack, m->d->prepack.num_steps, 1, NULL, NULL, NULL);
  if (r == 0)
    m->packed_dirty = 0;
  return r;
}

int nncc_pipeline_error(nncc_instance *m, const char *what, int code) {
  char msg[NNCC_ERR_SIZE];
  if (m->err[0]) {
    memcpy(msg, m->err, sizeof msg);
    nncc_set_error(m, "%s_%s: %s", nncc_model_name(m), what, msg);
  } else {
    nncc_set_error(m, "%s_%s: the pipeline failed with error code %d", nncc_model_name(m), what, code);
  }
  return NNCC_ERR_PIPELINE;
}

int nncc_rt_forward(nncc_instance *m, int batch, const float *const *inputs, float *const *outputs) {
  const nncc_model_desc *d;
  int32_t i, nin, nout;
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
  r = nncc_prepack(m);
  if (r == 0)
    r = nncc_run_program(m, &d->forward, d->forward.num_steps, batch, inputs, outputs, NULL);
  if (r != 0)
    return nncc_pipeline_error(m, "forward", r);
  return NNCC_OK;
}
