/* The per-step profile of an instance (docs/runtime.md, "Profiling"): when
 * NNCC_PROFILE names a file at NAME_create, every step of every program the
 * instance runs is timed (wall clock around the kernel call, all threads
 * inside it), and NAME_destroy writes the sums there as JSON, the way
 * ONNX Runtime's and PyTorch's profilers report per-node times. Off, it
 * costs one branch per step. */
#include "ModelRuntimeInternal.h"

#include <time.h>

typedef struct nncc_step_stats {
  int64_t calls, samples;  /* samples: the batch sizes summed */
  double total_ms, min_ms, max_ms;
} nncc_step_stats;

struct nncc_profile {
  char *path;
  int64_t runs[NNCC_PROFILE_PROGRAMS];
  nncc_step_stats *steps[NNCC_PROFILE_PROGRAMS];
};

static const char *const program_names[NNCC_PROFILE_PROGRAMS] = {"forward", "train", "evaluate",
                                                                   "update", "train_step", "prepack"};

static const nncc_program *program_of(const nncc_model_desc *d, int k) {
  switch (k) {
    case 0: return &d->forward;
    case 1: return &d->train;
    case 2: return &d->evaluate;
    case 3: return &d->update;
    case 4: return &d->train_step;
    default: return &d->prepack;
  }
}

double nncc_profile_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

void nncc_profile_init(nncc_instance *m) {
  const char *path = getenv("NNCC_PROFILE");
  struct nncc_profile *p;
  int k;
  if (!path || !*path)
    return;
  p = (struct nncc_profile *)calloc(1, sizeof *p);
  if (!p)
    return; /* no profile rather than no instance */
  p->path = strdup(path);
  if (!p->path) {
    free(p);
    return;
  }
  for (k = 0; k < NNCC_PROFILE_PROGRAMS; ++k)
    p->steps[k] = (nncc_step_stats *)calloc((size_t)program_of(m->d, k)->num_steps + 1, sizeof(nncc_step_stats));
  m->profile = p;
}

int nncc_profile_program(const nncc_instance *m, const nncc_program *prog) {
  int k;
  for (k = 0; k < NNCC_PROFILE_PROGRAMS; ++k)
    if (program_of(m->d, k) == prog)
      return k;
  return -1;
}

void nncc_profile_step(nncc_instance *m, int program, int32_t step, int batch, double ms) {
  nncc_step_stats *s;
  if (program < 0 || !m->profile->steps[program])
    return;
  s = &m->profile->steps[program][step];
  if (s->calls == 0 || ms < s->min_ms)
    s->min_ms = ms;
  if (ms > s->max_ms)
    s->max_ms = ms;
  s->total_ms += ms;
  s->samples += batch;
  if (step == 0)
    ++m->profile->runs[program];
  ++s->calls;
}

static void write_name(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; ++s) {
    if (*s == '"' || *s == '\\')
      fputc('\\', f);
    if ((unsigned char)*s >= 0x20)
      fputc(*s, f);
  }
  fputc('"', f);
}

/* The JSON, written beside the file and renamed over it: a reader never
 * sees half of one. */
static void write_profile(const nncc_instance *m) {
  const struct nncc_profile *p = m->profile;
  size_t n = strlen(p->path) + 16;
  char *tmp = (char *)malloc(n);
  FILE *f;
  int k, first = 1;
  if (!tmp)
    return;
  snprintf(tmp, n, "%s.tmp%ld", p->path, (long)getpid());
  f = fopen(tmp, "w");
  if (!f) {
    free(tmp);
    return;
  }
  fprintf(f, "{\"format\": \"nncc-profile-1\", \"model\": ");
  write_name(f, m->d->name);
  fprintf(f, ", \"programs\": [");
  for (k = 0; k < NNCC_PROFILE_PROGRAMS; ++k) {
    const nncc_program *prog = program_of(m->d, k);
    double total = 0;
    int32_t i;
    if (!p->runs[k])
      continue;
    for (i = 0; i < prog->num_steps; ++i)
      total += p->steps[k][i].total_ms;
    fprintf(f, "%s\n  {\"program\": \"%s\", \"runs\": %lld, \"total_ms\": %.6f, \"steps\": [", first ? "" : ",",
            program_names[k], (long long)p->runs[k], total);
    first = 0;
    for (i = 0; i < prog->num_steps; ++i) {
      const nncc_step_stats *s = &p->steps[k][i];
      fprintf(f, "%s\n    {\"step\": %d, \"name\": ", i ? "," : "", (int)i);
      write_name(f, prog->steps[i].name);
      fprintf(f,
              ", \"kernel\": %d, \"calls\": %lld, \"samples\": %lld, \"total_ms\": %.6f, \"mean_ms\": %.6f, "
              "\"min_ms\": %.6f, \"max_ms\": %.6f, \"share\": %.4f}",
              (int)prog->steps[i].kernel, (long long)s->calls, (long long)s->samples, s->total_ms,
              s->calls ? s->total_ms / (double)s->calls : 0.0, s->min_ms, s->max_ms,
              total > 0 ? s->total_ms / total : 0.0);
    }
    fprintf(f, "\n  ]}");
  }
  fprintf(f, "\n]}\n");
  if (fclose(f) != 0 || rename(tmp, p->path) != 0)
    remove(tmp);
  free(tmp);
}

void nncc_profile_finish(nncc_instance *m) {
  int k;
  if (!m->profile)
    return;
  write_profile(m);
  for (k = 0; k < NNCC_PROFILE_PROGRAMS; ++k)
    free(m->profile->steps[k]);
  free(m->profile->path);
  free(m->profile);
  m->profile = NULL;
}
