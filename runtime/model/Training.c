/* The model runtime's training entry points (see nncc_model.h):
 * compute_gradients runs the train program (forward, losses, regularization,
 * backward into the gradient array), apply_gradients the update program with
 * the learning rate of the schedule and Adam's bias corrections for this
 * step; a training step sets those scalars first and runs the train_step
 * program (the weights' updates fused into their gradient kernels, the other
 * parameters' updates after); evaluate runs the train program's prefix up to
 * the costs. Labels are checked against
 * their class count before any kernel runs. */
#include "ModelRuntimeInternal.h"

#include <math.h>

#define NNCC_PI 3.14159265358979323846

static int check_training(nncc_instance *m, const char *what) {
  if (!m->d->has_training) {
    nncc_set_error(m, "%s_%s: the model was compiled without training", nncc_model_name(m), what);
    return NNCC_ERR_ARGUMENT;
  }
  return NNCC_OK;
}

/* Arguments of the calls that run the train program. */
static int check_batch_args(nncc_instance *m, const char *what, int batch, const float *const *inputs,
                            const void *const *targets) {
  const nncc_model_desc *d = m->d;
  int32_t i, n;
  if (batch < 1 || batch > d->max_batch) {
    nncc_set_error(m, "%s_%s: batch %d is outside 1..%d", nncc_model_name(m), what, batch, d->max_batch);
    return NNCC_ERR_ARGUMENT;
  }
  for (i = 0; i < d->num_inputs; ++i)
    if (!inputs || !inputs[i]) {
      nncc_set_error(m, "%s_%s: input '%s' is null", nncc_model_name(m), what, d->inputs[i].name);
      return NNCC_ERR_ARGUMENT;
    }
  for (i = 0; i < d->num_targets; ++i) {
    if (!targets || !targets[i]) {
      nncc_set_error(m, "%s_%s: target '%s' is null", nncc_model_name(m), what, d->targets[i].name);
      return NNCC_ERR_ARGUMENT;
    }
    if (d->target_classes[i] > 0) {
      const int32_t *labels = (const int32_t *)targets[i];
      for (n = 0; n < batch; ++n)
        if (labels[n] < 0 || labels[n] >= d->target_classes[i]) {
          nncc_set_error(m, "%s_%s: label %d of sample %d is outside 0..%d", nncc_model_name(m), what, (int)labels[n],
                         (int)n, (int)d->target_classes[i] - 1);
          return NNCC_ERR_ARGUMENT;
        }
    }
  }
  return NNCC_OK;
}

static float slot(const nncc_instance *m, int32_t k) {
  return m->scalars[(size_t)k * NNCC_SCALAR_STRIDE];
}

static float total_cost(const nncc_instance *m) {
  double c = 0;
  int32_t i;
  for (i = 0; i < m->d->num_costs; ++i)
    c += slot(m, m->d->cost_slots[i]);
  return (float)c;
}

static void set_bits(nncc_instance *m, int32_t k, uint32_t bits) {
  memcpy(&m->scalars[(size_t)k * NNCC_SCALAR_STRIDE], &bits, sizeof bits);
}

/* Runs the train or evaluate program, with dropout's seed and step set. */
static int run_train(nncc_instance *m, const char *what, const nncc_program *p, int batch, const float *const *inputs,
                     const void *const *targets) {
  int r;
  if ((r = check_training(m, what)) != NNCC_OK || (r = check_batch_args(m, what, batch, inputs, targets)) != NNCC_OK)
    return r;
  set_bits(m, NNCC_SLOT_SEED_LO, (uint32_t)m->seed);
  set_bits(m, NNCC_SLOT_SEED_HI, (uint32_t)(m->seed >> 32));
  set_bits(m, NNCC_SLOT_STEP, (uint32_t)m->step);
  r = nncc_prepack(m); /* the forward steps read the packed weights */
  if (r == 0)
    r = nncc_run_program(m, p, p->num_steps, batch, inputs, NULL, targets);
  return r ? nncc_pipeline_error(m, what, r) : NNCC_OK;
}

int nncc_rt_compute_gradients(nncc_instance *m, int batch, const float *const *inputs, const void *const *targets,
                              float *loss) {
  int r;
  if (!m)
    return NNCC_ERR_ARGUMENT;
  nncc_clear_error(m);
  if ((r = run_train(m, "compute_gradients", &m->d->train, batch, inputs, targets)) != NNCC_OK)
    return r;
  if (loss)
    *loss = total_cost(m);
  return NNCC_OK;
}

int nncc_rt_evaluate(nncc_instance *m, int batch, const float *const *inputs, const void *const *targets, float *loss,
                     int32_t *correct) {
  int r;
  int32_t i;
  double c = 0;
  if (!m)
    return NNCC_ERR_ARGUMENT;
  nncc_clear_error(m);
  if ((r = run_train(m, "evaluate", &m->d->evaluate, batch, inputs, targets)) != NNCC_OK)
    return r;
  for (i = 0; i < m->d->num_corrects; ++i)
    c += slot(m, m->d->correct_slots[i]);
  if (loss)
    *loss = total_cost(m);
  if (correct)
    *correct = (int32_t)c;
  return NNCC_OK;
}

/* The learning rate of the schedule after `t` steps. */
static double scheduled_lr(const nncc_model_desc *d, double base, int64_t t) {
  switch (d->schedule) {
  case NNCC_SCHEDULE_STEP:
    return base * pow(d->schedule_args[1], floor((double)t / d->schedule_args[0]));
  case NNCC_SCHEDULE_EXPONENTIAL:
    return base * pow(d->schedule_args[0], (double)t);
  case NNCC_SCHEDULE_COSINE: {
    double total = d->schedule_args[0], min_lr = d->schedule_args[1];
    if ((double)t >= total)
      return min_lr;
    return min_lr + (base - min_lr) * (1.0 + cos(NNCC_PI * (double)t / total)) / 2.0;
  }
  default:
    return base;
  }
}

/* The update kernels' scalars for the next optimizer step. */
static void set_update_scalars(nncc_instance *m) {
  const nncc_model_desc *d = m->d;
  m->scalars[NNCC_SLOT_LR * NNCC_SCALAR_STRIDE] = (float)scheduled_lr(d, m->learning_rate, m->step);
  m->scalars[NNCC_SLOT_BC1 * NNCC_SCALAR_STRIDE] = d->adam_beta1 > 0 ? (float)(1.0 - pow(d->adam_beta1, (double)(m->step + 1))) : 1.0f;
  m->scalars[NNCC_SLOT_BC2 * NNCC_SCALAR_STRIDE] = d->adam_beta2 > 0 ? (float)(1.0 - pow(d->adam_beta2, (double)(m->step + 1))) : 1.0f;
}

int nncc_rt_apply_gradients(nncc_instance *m) {
  const nncc_model_desc *d;
  int r;
  if (!m)
    return NNCC_ERR_ARGUMENT;
  nncc_clear_error(m);
  if ((r = check_training(m, "apply_gradients")) != NNCC_OK)
    return r;
  d = m->d;
  set_update_scalars(m);
  r = nncc_run_program(m, &d->update, d->update.num_steps, 1, NULL, NULL, NULL);
  m->packed_dirty = 1; /* even a failed update may have written some weights */
  if (r)
    return nncc_pipeline_error(m, "apply_gradients", r);
  m->step++;
  return NNCC_OK;
}

int nncc_rt_train_step(nncc_instance *m, int batch, const float *const *inputs, const void *const *targets, float *loss) {
  int r;
  float cost;
  if (!m)
    return NNCC_ERR_ARGUMENT;
  nncc_clear_error(m);
  if (check_training(m, "train_step") == NNCC_OK && m->d->train_step.num_steps > 0) {
    set_update_scalars(m);
    /* The fused updates write the weights after every forward step has read
     * the packed copies: repack before the next program. */
    r = run_train(m, "train_step", &m->d->train_step, batch, inputs, targets);
    m->packed_dirty = 1;
    if (r != NNCC_OK)
      return r;
    cost = total_cost(m);
    m->step++;
  } else {
    if ((r = run_train(m, "train_step", &m->d->train, batch, inputs, targets)) != NNCC_OK)
      return r;
    cost = total_cost(m);
    if ((r = nncc_rt_apply_gradients(m)) != NNCC_OK)
      return r;
  }
  if (loss)
    *loss = cost;
  return NNCC_OK;
}

float *nncc_rt_gradients(nncc_instance *m) {
  if (!m || !m->d->has_training)
    return NULL;
  return m->grads;
}

int nncc_rt_set_learning_rate(nncc_instance *m, float lr) {
  int r;
  if (!m)
    return NNCC_ERR_ARGUMENT;
  nncc_clear_error(m);
  if ((r = check_training(m, "set_learning_rate")) != NNCC_OK)
    return r;
  if (!(lr > 0.0f) || isinf(lr)) {
    nncc_set_error(m, "%s_set_learning_rate: the learning rate must be positive and finite, got %g", nncc_model_name(m),
                   (double)lr);
    return NNCC_ERR_ARGUMENT;
  }
  m->learning_rate = lr;
  return NNCC_OK;
}

int nncc_rt_set_seed(nncc_instance *m, uint64_t seed) {
  int r;
  if (!m)
    return NNCC_ERR_ARGUMENT;
  nncc_clear_error(m);
  if ((r = check_training(m, "set_seed")) != NNCC_OK)
    return r;
  m->seed = seed;
  return NNCC_OK;
}
