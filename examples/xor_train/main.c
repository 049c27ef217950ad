/* Trains XOR from scratch with a compiled model's generated training entry
 * points (no framework, no interpreter), then prints the learned truth table.
 * Built twice by the Makefile: MODEL=xor_mlp (../xor.json, 2-2-1 with
 * sigmoids) learns it; MODEL=single_layer (single_layer.json, one sigmoid
 * unit) cannot, as Minsky and Papert showed: no line separates XOR's classes.
 *
 *   xor_train [STEPS]     (default 2000 full-batch steps)
 * Exit status 0 when all four rows are right, 3 otherwise. */
#include <stdio.h>
#include <stdlib.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define STR2(a) #a
#define STR(a) STR2(a)
#define FN(suffix) CAT(MODEL, suffix)
#include STR(MODEL.h)

int main(int argc, char **argv) {
  static const float x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
  static const float t[4] = {0, 1, 1, 0};
  float y[4], loss = 0;
  int32_t correct = 0;
  int steps = argc > 1 ? atoi(argv[1]) : 2000, i;
  MODEL *m = FN(_create)();
  if (!m) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  for (i = 0; i < steps; ++i) {
    if (FN(_train_step)(m, 4, x, t, &loss) != 0) {
      fprintf(stderr, "train_step: %s\n", FN(_last_error)(m));
      return 1;
    }
    if (i % 500 == 0)
      printf("step %d loss %.6f\n", i, loss);
  }
  if (FN(_evaluate)(m, 4, x, t, &loss, &correct) != 0 || FN(_forward)(m, 4, x, y) != 0) {
    fprintf(stderr, "%s\n", FN(_last_error)(m));
    return 1;
  }
  printf("%s after %d steps: loss %.6f, %d/4 correct\n", STR(MODEL), steps, loss, (int)correct);
  for (i = 0; i < 4; ++i)
    printf("%g xor %g -> %.4f (%d)\n", x[2 * i], x[2 * i + 1], y[i], y[i] > 0.5f);
  FN(_destroy)(m);
  return correct == 4 ? 0 : 3;
}
