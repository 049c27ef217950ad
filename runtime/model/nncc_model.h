/* The contract between the code nncc generates for one model and the generic
 * model runtime (ModelRuntime.c) linked into the same object.
 *
 * nncc emits, per model: the Halide pipeline "<NAME>_forward_impl" (and its
 * "_argv" form), a constant nncc_model_desc describing the model, and the
 * public entry points (NAME_create, NAME_forward, ...) as thin wrappers that
 * call the nncc_rt_* functions below with that descriptor. The runtime is
 * compiled to LLVM bitcode when nncc is built and linked into every model's
 * object; all nncc_rt_* symbols are then made internal, so two models linked
 * into one program never clash.
 *
 * C99, no libc beyond malloc/free/stdio/string/pthread. Includes nothing of
 * the compiler. */
#ifndef NNCC_MODEL_H
#define NNCC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A tensor of the model's interface: an input, an output or a parameter. */
typedef struct nncc_tensor_desc {
  const char *name;   /* "image", "probs", or a parameter's "conv1.weight" */
  int32_t rank;       /* inputs/outputs: the per-sample rank (1 or 3); params: the full rank (0..4) */
  int64_t dims[4];    /* row-major dims, per sample for inputs/outputs */
  int64_t size;       /* number of floats (per sample for inputs/outputs) */
} nncc_tensor_desc;

/* Halide's "_argv" form of the forward pipeline: args[0] points at the
 * user_context (a void *), then one halide_buffer_t * per input, parameter
 * and output, in that order. Returns 0 or a Halide error code. */
typedef int (*nncc_pipeline_argv_fn)(void **args);

typedef struct nncc_model_desc {
  const char *name;                 /* the symbol prefix, e.g. "lenet5" */
  int32_t max_batch;
  int32_t num_inputs, num_outputs, num_params;
  const nncc_tensor_desc *inputs;   /* num_inputs entries */
  const nncc_tensor_desc *outputs;  /* num_outputs entries */
  const nncc_tensor_desc *params;   /* num_params entries, in the header's parameter order */
  const uint8_t *trainable;         /* num_params flags: 1 trainable, 0 buffer (running statistics) */
  const float *initial_values;      /* every parameter's floats, concatenated in params order */
  int64_t num_param_floats;         /* the length of initial_values */
  nncc_pipeline_argv_fn forward;    /* the inference pipeline */
} nncc_model_desc;

/* The generic entry points; NAME_x(m, ...) calls nncc_rt_x(&NAME_desc, m, ...).
 * Every function checks its arguments and returns non-zero with a message in
 * nncc_rt_last_error instead of crashing; none prints or aborts. */
typedef struct nncc_instance nncc_instance;

nncc_instance *nncc_rt_create(const nncc_model_desc *d);
void nncc_rt_destroy(nncc_instance *m);
/* inputs: num_inputs pointers, outputs: num_outputs pointers, each to batch*size floats. */
int nncc_rt_forward(nncc_instance *m, int batch, const float *const *inputs, float *const *outputs);
int nncc_rt_set_threads(nncc_instance *m, int n);
int nncc_rt_load_weights(nncc_instance *m, const char *path);
int nncc_rt_save_weights(const nncc_instance *m, const char *path);
const char *nncc_rt_last_error(const nncc_instance *m);

/* Error codes returned by the entry points. */
enum {
  NNCC_OK = 0,
  NNCC_ERR_ARGUMENT = 1,   /* null pointer, batch outside 1..MAX_BATCH, bad thread count */
  NNCC_ERR_IO = 2,         /* a weights file could not be read or written */
  NNCC_ERR_FORMAT = 3,     /* a weights file is malformed or does not match the model */
  NNCC_ERR_MEMORY = 4,     /* out of memory */
  NNCC_ERR_PIPELINE = 5    /* the generated pipeline reported an error */
};

#ifdef __cplusplus
}
#endif

#endif
