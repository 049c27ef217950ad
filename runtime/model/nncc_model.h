/* The contract between the code nncc generates for one model and the generic
 * model runtime (ModelRuntime.c) linked into the same object.
 *
 * nncc emits, per model: one Halide kernel per distinct op ("<NAME>_k<i>",
 * called through its "_argv" form), a constant nncc_model_desc describing the
 * model, its memory plan and the programs (lists of kernel calls), and the
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

/* C linkage for C++ users; a generated model.cpp defines NNCC_MODEL_CXX_LINKAGE
 * to keep the runtime inside its anonymous namespace, internal. */
#if defined(__cplusplus) && !defined(NNCC_MODEL_CXX_LINKAGE)
extern "C" {
#endif

/* A tensor of the model's interface: an input, an output or a parameter. */
typedef struct nncc_tensor_desc {
  const char *name;   /* "image", "probs", or a parameter's "conv1.weight" */
  int32_t rank;       /* inputs/outputs: the per-sample rank (1 or 3); params: the full rank (0..4) */
  int64_t dims[4];    /* row-major dims, per sample for inputs/outputs */
  int64_t size;       /* number of floats (per sample for inputs/outputs) */
} nncc_tensor_desc;

/* Halide's "_argv" form of a kernel: args[0] points at the user_context (a
 * void *), then one halide_buffer_t * per argument (the op's inputs, its
 * parameters, then its output). Returns 0 or a Halide error code. */
typedef int (*nncc_kernel_fn)(void **args);

/* Where a kernel argument's buffer lives. */
enum {
  NNCC_REF_INPUT = 0,   /* the caller's input `index` */
  NNCC_REF_OUTPUT = 1,  /* the caller's output `index` */
  NNCC_REF_PARAM = 2,   /* the instance's parameter `index` */
  NNCC_REF_ARENA = 3,   /* the instance's arena, at float `offset` */
  NNCC_REF_TARGET = 4,  /* the caller's training target `index` (int32 labels when is_int) */
  NNCC_REF_GRAD = 5,    /* the instance's gradients, at float `offset` */
  NNCC_REF_STATE = 6,   /* the instance's optimizer state, at float `offset` */
  NNCC_REF_SCALARS = 7, /* the instance's scalar area, at float `offset` (a buffer) */
  NNCC_REF_SCALAR = 8,  /* a float scalar argument: scalars[offset] (no buffer) */
  NNCC_REF_PACKED = 9   /* the instance's packed weights, at float `offset` (written by the prepack program) */
};

/* One buffer argument of a step: where it lives and its dense row-major
 * shape. A batched buffer has `rank` per-sample dims and the batch outermost
 * (its extent is the call's batch); a parameter is not batched. */
typedef struct nncc_buffer_ref {
  int32_t kind;      /* NNCC_REF_* */
  int32_t index;     /* input, output or parameter index */
  int64_t offset;    /* NNCC_REF_ARENA: the offset in floats */
  int32_t rank;      /* 0..4 */
  int32_t batched;   /* 1: a batch dimension follows */
  int64_t dims[4];   /* row-major */
  int32_t is_int;    /* 1: int32 elements (class labels), 0: float32 */
  int32_t channels_last; /* 1: a [C, H, W] value stored as [H, W, C] (rank 3 only) */
  int32_t border;        /* channels-last arena values: stored [H + 2b, W + 2b, C] with a zero border of b */
  int32_t interior;      /* with a border: the producer's view, its H x W interior; the runtime zeroes
                            the border before the step runs. Else the readers' view, border included. */
} nncc_buffer_ref;

/* One call of a program: kernel `kernel` on refs[first_ref .. first_ref +
 * num_refs), or, with kernel -1, a copy of refs[first_ref] into
 * refs[first_ref + 1] (same size). */
typedef struct nncc_step {
  int32_t kernel;
  int32_t first_ref;
  int32_t num_refs;
  /* The step's work per sample (about its FLOPs), or -1 when unknown: below
   * NNCC_PARALLEL_MIN_WORK in all, the kernel runs on the calling thread
   * alone (waking the pool would cost more than it saves). */
  int64_t work;
  /* What the step computes, for the profile (NNCC_PROFILE, docs/runtime.md):
   * the op's name ("layer1_0_conv1"), "copy:<value>", "pack:<op>",
   * "train:<op>", "grad:<op or parameter>", "update:<parameter>". */
  const char *name;
} nncc_step;

typedef struct nncc_program {
  int32_t num_steps;
  const nncc_step *steps;
} nncc_program;

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
  int32_t num_kernels;
  const nncc_kernel_fn *kernels;    /* the distinct kernels of the model */
  int32_t num_refs;
  const nncc_buffer_ref *refs;      /* every step's buffer arguments */
  int64_t arena_floats;             /* the memory plan's arena, at max_batch */
  nncc_program forward;             /* inference: one step per op, then output copies */
  /* Training (all zero when the model has no training section). The scalar
   * area holds slots 16 floats apart: 0 the learning rate, 1 and 2 Adam's
   * bias corrections, 3 to 5 dropout's seed and step, then the costs and
   * correct counts the kernels write. */
  int32_t has_training;
  int32_t num_targets;
  const nncc_tensor_desc *targets;  /* per-sample shapes, [1] for class labels */
  const int32_t *target_classes;    /* per target: the class count of int32 labels, 0 for float targets */
  int64_t num_grad_floats;          /* NAME_NUM_PARAMS */
  const int64_t *grad_offset;       /* per parameter: its gradient's offset, -1 when not trainable */
  int32_t num_states;               /* optimizer state arrays, num_grad_floats each */
  int32_t num_scalars;              /* slots in the scalar area */
  int32_t num_costs;
  const int32_t *cost_slots;        /* summed into the reported loss */
  int32_t num_corrects;
  const int32_t *correct_slots;     /* summed into evaluate's correct count */
  double adam_beta1, adam_beta2;    /* for the bias corrections; 0 when not Adam */
  int32_t schedule;                 /* NNCC_SCHEDULE_* */
  double schedule_args[2];          /* step: step_size, gamma; exponential: gamma; cosine: total_steps, min_lr */
  double learning_rate;             /* the initial (base) learning rate */
  int64_t train_arena_floats;       /* the arena of a training step */
  nncc_program train;               /* forward (training mode), losses, regularization, backward: compute_gradients */
  nncc_program evaluate;            /* forward (inference mode), losses, regularization */
  nncc_program update;              /* the optimizer step: apply_gradients */
  nncc_program train_step;          /* train with the weights' updates fused into their gradient kernels,
                                     * then the other updates: train_step (with the update's scalars set) */
  uint64_t seed;                    /* the default seed of dropout's masks (the model's seed) */
  const char *const *state_names;   /* num_states names, as torch.optim's state ("exp_avg", ...) */
  /* Prepacked weights: a forward kernel may take a weight repacked into the
   * layout its loops read (NNCC_REF_PACKED) rather than the parameter. The
   * prepack program writes every packed copy from the parameters; the
   * runtime runs it before a program that reads them whenever the weights
   * changed since (create, load_weights, apply_gradients, train_step). */
  int64_t packed_floats;            /* the packed area's size */
  nncc_program prepack;             /* one pack kernel call per prepacked weight: [PARAM, PACKED] */
} nncc_model_desc;

enum { NNCC_SCHEDULE_CONSTANT = 0, NNCC_SCHEDULE_STEP = 1, NNCC_SCHEDULE_EXPONENTIAL = 2, NNCC_SCHEDULE_COSINE = 3 };
enum {
  NNCC_SCALAR_STRIDE = 16,
  NNCC_SLOT_LR = 0,      /* float */
  NNCC_SLOT_BC1 = 1,     /* float */
  NNCC_SLOT_BC2 = 2,     /* float */
  NNCC_SLOT_SEED_LO = 3, /* uint32 bits */
  NNCC_SLOT_SEED_HI = 4, /* uint32 bits */
  NNCC_SLOT_STEP = 5     /* uint32 bits */
};

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
/* Training (descriptors with has_training): targets holds num_targets pointers. */
int nncc_rt_train_step(nncc_instance *m, int batch, const float *const *inputs, const void *const *targets, float *loss);
int nncc_rt_evaluate(nncc_instance *m, int batch, const float *const *inputs, const void *const *targets, float *loss,
                     int32_t *correct);
int nncc_rt_compute_gradients(nncc_instance *m, int batch, const float *const *inputs, const void *const *targets,
                              float *loss);
float *nncc_rt_gradients(nncc_instance *m);
int nncc_rt_apply_gradients(nncc_instance *m);
int nncc_rt_set_learning_rate(nncc_instance *m, float lr);
int nncc_rt_set_seed(nncc_instance *m, uint64_t seed);

/* Error codes returned by the entry points. */
enum {
  NNCC_OK = 0,
  NNCC_ERR_ARGUMENT = 1,   /* null pointer, batch outside 1..MAX_BATCH, bad thread count */
  NNCC_ERR_IO = 2,         /* a weights file could not be read or written */
  NNCC_ERR_FORMAT = 3,     /* a weights file is malformed or does not match the model */
  NNCC_ERR_MEMORY = 4,     /* out of memory */
  NNCC_ERR_PIPELINE = 5    /* the generated pipeline reported an error */
};

#if defined(__cplusplus) && !defined(NNCC_MODEL_CXX_LINKAGE)
}
#endif

#endif
