/* Declarations that come first in a generated model.cpp (docs/codegen.md,
 * "-o model.cpp"), before Halide's C++ output and its copy of
 * HalideRuntime.h: every Halide runtime function the kernels call, declared
 * static with HalideRuntime.h's exact signature, so that the later
 * `extern` declarations keep internal linkage and two models' sources link
 * into one program. halide_error, halide_malloc, halide_free and
 * halide_do_par_for are defined by the model runtime (runtime/model/), the
 * error reporters by HalideRuntimeShim.c. Not part of model.o. */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

static void halide_error(void *user_context, const char *);
static void *halide_malloc(void *user_context, size_t x);
static void halide_free(void *user_context, void *ptr);
static int halide_do_par_for(void *user_context, int (*task)(void *user_context, int task_number, uint8_t *closure),
                             int min, int size, uint8_t *closure);

static int halide_error_bounds_inference_call_failed(void *user_context, const char *extern_stage_name, int result);
static int halide_error_extern_stage_failed(void *user_context, const char *extern_stage_name, int result);
static int halide_error_explicit_bounds_too_small(void *user_context, const char *func_name, const char *var_name,
                                                  int min_bound, int max_bound, int min_required, int max_required);
static int halide_error_bad_type(void *user_context, const char *func_name, uint32_t type_given, uint32_t correct_type);
static int halide_error_bad_dimensions(void *user_context, const char *func_name, int32_t dimensions_given,
                                       int32_t correct_dimensions);
static int halide_error_access_out_of_bounds(void *user_context, const char *func_name, int dimension, int min_touched,
                                             int max_touched, int min_valid, int max_valid);
static int halide_error_buffer_allocation_too_large(void *user_context, const char *buffer_name,
                                                    uint64_t allocation_size, uint64_t max_size);
static int halide_error_buffer_extents_negative(void *user_context, const char *buffer_name, int dimension, int extent);
static int halide_error_buffer_extents_too_large(void *user_context, const char *buffer_name, int64_t actual_size,
                                                 int64_t max_size);
static int halide_error_constraints_make_required_region_smaller(void *user_context, const char *buffer_name,
                                                                 int dimension, int constrained_min,
                                                                 int constrained_extent, int required_min,
                                                                 int required_extent);
static int halide_error_constraint_violated(void *user_context, const char *var, int val, const char *constrained_var,
                                            int constrained_val);
static int halide_error_param_too_small_i64(void *user_context, const char *param_name, int64_t val, int64_t min_val);
static int halide_error_param_too_small_u64(void *user_context, const char *param_name, uint64_t val, uint64_t min_val);
static int halide_error_param_too_small_f64(void *user_context, const char *param_name, double val, double min_val);
static int halide_error_param_too_large_i64(void *user_context, const char *param_name, int64_t val, int64_t max_val);
static int halide_error_param_too_large_u64(void *user_context, const char *param_name, uint64_t val, uint64_t max_val);
static int halide_error_param_too_large_f64(void *user_context, const char *param_name, double val, double max_val);
static int halide_error_out_of_memory(void *user_context);
static int halide_error_buffer_argument_is_null(void *user_context, const char *buffer_name);
static int halide_error_debug_to_file_failed(void *user_context, const char *func, const char *filename,
                                             int error_code);
static int halide_error_unaligned_host_ptr(void *user_context, const char *func_name, int alignment);
static int halide_error_host_is_null(void *user_context, const char *func_name);
static int halide_error_bad_fold(void *user_context, const char *func_name, const char *var_name,
                                 const char *loop_name);
static int halide_error_bad_extern_fold(void *user_context, const char *func_name, int dim, int min, int extent,
                                        int valid_min, int fold_factor);
static int halide_error_fold_factor_too_small(void *user_context, const char *func_name, const char *var_name,
                                              int fold_factor, const char *loop_name, int required_extent);
static int halide_error_requirement_failed(void *user_context, const char *condition, const char *message);
static int halide_error_specialize_fail(void *user_context, const char *message);
static int halide_error_no_device_interface(void *user_context);
static int halide_error_device_interface_no_device(void *user_context);
static int halide_error_host_and_device_dirty(void *user_context);
static int halide_error_buffer_is_null(void *user_context, const char *routine);
static int halide_error_device_dirty_with_no_device_support(void *user_context, const char *buffer_name);
static int halide_error_storage_bound_too_small(void *user_context, const char *func_name, const char *var_name,
                                                int provided_size, int required_size);
static int halide_error_device_crop_failed(void *user_context);

#ifdef __cplusplus
}
#endif
