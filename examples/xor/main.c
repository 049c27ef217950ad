/* Prints XOR's truth table as computed by the compiled 2-2-1 network of
 * examples/xor.json, whose weights (examples/xor.safetensors) were embedded
 * in the object by `nncc --weights`. With a safetensors file as argument, it
 * loads those weights first (xor_mlp_load_weights), at run time. */
#include "xor_mlp.h"

#include <stdio.h>

int main(int argc, char **argv) {
  xor_mlp *m = xor_mlp_create();
  if (!m) {
    fprintf(stderr, "xor_mlp_create failed\n");
    return 1;
  }
  if (argc > 1 && xor_mlp_load_weights(m, argv[1]) != 0) {
    fprintf(stderr, "%s\n", xor_mlp_last_error(m));
    xor_mlp_destroy(m);
    return 1;
  }
  const float rows[4 * XOR_MLP_X_SIZE] = {0, 0, 0, 1, 1, 0, 1, 1};
  float out[4 * XOR_MLP_OUT_SIZE];
  if (xor_mlp_forward(m, 4, rows, out) != 0) {
    fprintf(stderr, "%s\n", xor_mlp_last_error(m));
    xor_mlp_destroy(m);
    return 1;
  }
  printf("x0 x1 | out      | xor\n");
  for (int i = 0; i < 4; ++i)
    printf(" %d  %d | %.6f | %d\n", (int)rows[2 * i], (int)rows[2 * i + 1], out[i], out[i] > 0.5f);
  xor_mlp_destroy(m);
  return 0;
}
