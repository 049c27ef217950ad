/* What Halide's C++ backend output calls beyond the model runtime, for a
 * generated model.cpp (which has no Halide runtime): the error reporters,
 * each formatting its message as Halide's runtime (src/runtime/errors.cpp)
 * does and passing it to halide_error (the model runtime's: into the
 * instance), returning the same halide_error_code_t. Declared static first
 * by HalideRuntimeShim.h; placed after Halide's output (it uses its
 * halide_error_code_t). Not part of model.o, which links Halide's own
 * runtime. Valid C99 and C++. */
#include <stdarg.h>
#include <stdio.h>

static int nncc_shim_report(void *user_context, int code, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  halide_error(user_context, msg);
  return code;
}

int halide_error_bounds_inference_call_failed(void *uc, const char *extern_stage_name, int result) {
  return nncc_shim_report(uc, result, "Bounds inference call to external stage %s returned non-zero value: %d",
                          extern_stage_name, result);
}
int halide_error_extern_stage_failed(void *uc, const char *extern_stage_name, int result) {
  return nncc_shim_report(uc, result, "Call to external stage %s returned non-zero value: %d", extern_stage_name,
                          result);
}
int halide_error_explicit_bounds_too_small(void *uc, const char *func_name, const char *var_name, int min_bound,
                                           int max_bound, int min_required, int max_required) {
  return nncc_shim_report(uc, halide_error_code_explicit_bounds_too_small,
                          "Bounds given for %s in %s (from %d to %d) do not cover required region (from %d to %d)",
                          var_name, func_name, min_bound, max_bound, min_required, max_required);
}
int halide_error_bad_type(void *uc, const char *func_name, uint32_t type_given, uint32_t correct_type) {
  return nncc_shim_report(uc, halide_error_code_bad_type, "%s has type code %u but type code %u was expected",
                          func_name, (unsigned)type_given, (unsigned)correct_type);
}
int halide_error_bad_dimensions(void *uc, const char *func_name, int32_t dimensions_given, int32_t correct_dimensions) {
  return nncc_shim_report(uc, halide_error_code_bad_dimensions, "%s requires a buffer of exactly %d dimensions, but the buffer passed in has %d dimensions",
                          func_name, (int)correct_dimensions, (int)dimensions_given);
}
int halide_error_access_out_of_bounds(void *uc, const char *func_name, int dimension, int min_touched, int max_touched,
                                      int min_valid, int max_valid) {
  if (min_touched < min_valid)
    return nncc_shim_report(uc, halide_error_code_access_out_of_bounds,
                            "%s is accessed at %d, which is before the min (%d) in dimension %d", func_name,
                            min_touched, min_valid, dimension);
  return nncc_shim_report(uc, halide_error_code_access_out_of_bounds,
                          "%s is accessed at %d, which is beyond the max (%d) in dimension %d", func_name,
                          max_touched, max_valid, dimension);
}
int halide_error_buffer_allocation_too_large(void *uc, const char *buffer_name, uint64_t allocation_size,
                                             uint64_t max_size) {
  return nncc_shim_report(uc, halide_error_code_buffer_allocation_too_large,
                          "Total allocation for buffer %s is %llu, which exceeds the maximum size of %llu",
                          buffer_name, (unsigned long long)allocation_size, (unsigned long long)max_size);
}
int halide_error_buffer_extents_too_large(void *uc, const char *buffer_name, int64_t actual_size, int64_t max_size) {
  return nncc_shim_report(uc, halide_error_code_buffer_extents_too_large,
                          "Product of extents for buffer %s is %lld, which exceeds the maximum size of %lld",
                          buffer_name, (long long)actual_size, (long long)max_size);
}
int halide_error_constraints_make_required_region_smaller(void *uc, const char *buffer_name, int dimension,
                                                          int constrained_min, int constrained_extent,
                                                          int required_min, int required_extent) {
  return nncc_shim_report(uc, halide_error_code_constraints_make_required_region_smaller,
                          "Applying the constraints on %s to the required region made it smaller in dimension %d",
                          buffer_name, dimension);
  (void)constrained_min, (void)constrained_extent, (void)required_min, (void)required_extent;
}
int halide_error_constraint_violated(void *uc, const char *var, int val, const char *constrained_var,
                                     int constrained_val) {
  return nncc_shim_report(uc, halide_error_code_constraint_violated, "Constraint violated: %s (%d) == %s (%d)", var,
                          val, constrained_var, constrained_val);
}
int halide_error_param_too_small_i64(void *uc, const char *param_name, int64_t val, int64_t min_val) {
  return nncc_shim_report(uc, halide_error_code_param_too_small, "Parameter %s is %lld but must be at least %lld",
                          param_name, (long long)val, (long long)min_val);
}
int halide_error_param_too_large_i64(void *uc, const char *param_name, int64_t val, int64_t max_val) {
  return nncc_shim_report(uc, halide_error_code_param_too_large, "Parameter %s is %lld but must be at most %lld",
                          param_name, (long long)val, (long long)max_val);
}
int halide_error_param_too_small_u64(void *uc, const char *param_name, uint64_t val, uint64_t min_val) {
  return nncc_shim_report(uc, halide_error_code_param_too_small, "Parameter %s is %llu but must be at least %llu",
                          param_name, (unsigned long long)val, (unsigned long long)min_val);
}
int halide_error_param_too_large_u64(void *uc, const char *param_name, uint64_t val, uint64_t max_val) {
  return nncc_shim_report(uc, halide_error_code_param_too_large, "Parameter %s is %llu but must be at most %llu",
                          param_name, (unsigned long long)val, (unsigned long long)max_val);
}
int halide_error_param_too_small_f64(void *uc, const char *param_name, double val, double min_val) {
  return nncc_shim_report(uc, halide_error_code_param_too_small, "Parameter %s is %g but must be at least %g",
                          param_name, val, min_val);
}
int halide_error_param_too_large_f64(void *uc, const char *param_name, double val, double max_val) {
  return nncc_shim_report(uc, halide_error_code_param_too_large, "Parameter %s is %g but must be at most %g",
                          param_name, val, max_val);
}
int halide_error_debug_to_file_failed(void *uc, const char *func, const char *filename, int error_code) {
  return nncc_shim_report(uc, halide_error_code_debug_to_file_failed,
                          "Failed to dump function %s to file %s with error %d", func, filename, error_code);
}
int halide_error_unaligned_host_ptr(void *uc, const char *func_name, int alignment) {
  return nncc_shim_report(uc, halide_error_code_unaligned_host_ptr, "The host pointer of %s is not aligned to a %d bytes boundary",
                          func_name, alignment);
}
int halide_error_buffer_argument_is_null(void *uc, const char *buffer_name) {
  return nncc_shim_report(uc, halide_error_code_buffer_argument_is_null, "Buffer argument %s is NULL", buffer_name);
}
int halide_error_host_is_null(void *uc, const char *func) {
  return nncc_shim_report(uc, halide_error_code_host_is_null, "The host pointer of %s is null, but the pipeline will access it on the host", func);
}
int halide_error_buffer_extents_negative(void *uc, const char *buffer_name, int dimension, int extent) {
  return nncc_shim_report(uc, halide_error_code_buffer_extents_negative,
                          "The extents for buffer %s dimension %d is negative (%d)", buffer_name, dimension, extent);
}
int halide_error_out_of_memory(void *uc) {
  return nncc_shim_report(uc, halide_error_code_out_of_memory, "Out of memory (halide_malloc returned NULL)");
}
int halide_error_bad_extern_fold(void *uc, const char *func_name, int dim, int min, int extent, int valid_min,
                                 int fold_factor) {
  return nncc_shim_report(uc, halide_error_code_bad_extern_fold, "Cannot fold dimension %d of %s", dim, func_name);
  (void)min, (void)extent, (void)valid_min, (void)fold_factor;
}
int halide_error_fold_factor_too_small(void *uc, const char *func_name, const char *var_name, int fold_factor,
                                       const char *loop_name, int required_extent) {
  return nncc_shim_report(uc, halide_error_code_fold_factor_too_small,
                          "The fold factor (%d) of dimension %s of %s is too small to store the required region accessed by loop %s (%d)",
                          fold_factor, var_name, func_name, loop_name, required_extent);
}
int halide_error_requirement_failed(void *uc, const char *condition, const char *message) {
  return nncc_shim_report(uc, halide_error_code_requirement_failed, "Requirement Failed: (%s) %s", condition, message);
}
int halide_error_specialize_fail(void *uc, const char *message) {
  return nncc_shim_report(uc, halide_error_code_specialize_fail, "A schedule specialized with specialize_fail() was chosen: %s", message);
}
int halide_error_storage_bound_too_small(void *uc, const char *func_name, const char *var_name, int provided_size,
                                         int required_size) {
  return nncc_shim_report(uc, halide_error_code_storage_bound_too_small,
                          "The explicit allocation bound (%d) of dimension %s of %s is too small to store the required region (%d)",
                          provided_size, var_name, func_name, required_size);
}
int halide_error_device_dirty_with_no_device_support(void *uc, const char *buffer_name) {
  return nncc_shim_report(uc, halide_error_code_device_dirty_with_no_device_support,
                          "The buffer %s is dirty on device, but this pipeline was compiled with no support for device to host copies",
                          buffer_name);
}
int halide_error_no_device_interface(void *uc) {
  return nncc_shim_report(uc, halide_error_code_no_device_interface, "Buffer has a non-zero device but no device interface");
}
int halide_error_device_interface_no_device(void *uc) {
  return nncc_shim_report(uc, halide_error_code_device_interface_no_device, "Buffer has a device interface but no device");
}
int halide_error_host_and_device_dirty(void *uc) {
  return nncc_shim_report(uc, halide_error_code_host_and_device_dirty, "The host and device are both dirty");
}
int halide_error_buffer_is_null(void *uc, const char *routine) {
  return nncc_shim_report(uc, halide_error_code_buffer_is_null, "Buffer pointer passed to %s is null", routine);
}
int halide_error_device_crop_failed(void *uc) {
  return nncc_shim_report(uc, halide_error_code_device_crop_failed, "Buffer could not be cropped (runtime error or unimplemented device option)");
}
int halide_error_bad_fold(void *uc, const char *func_name, const char *var_name, const char *loop_name) {
  return nncc_shim_report(uc, halide_error_code_bad_fold,
                          "The folded storage dimension %s of %s was accessed out of order by loop %s", var_name,
                          func_name, loop_name);
}
