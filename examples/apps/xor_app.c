/* A C program that links the compiled XOR network (nncc ../xor.json -o
 * xor.o), loads trained weights from a safetensors file and prints the truth
 * table it computes.
 *
 *   nncc examples/xor.json -o xor.o
 *   cc examples/apps/xor_app.c xor.o -I. -lpthread -ldl -lm -o xor_app
 *   ./xor_app examples/xor.safetensors                                   */
#include "xor.h"

#include <stdio.h>

int main(int argc, char **argv) {
  const char *weights = argc > 1 ? argv[1] : "examples/xor.safetensors";
  xor_mlp *m = xor_mlp_create();
  if (!m) {
    fprintf(stderr, "xor_mlp_create failed\n");
    return 1;
  }
  if (xor_mlp_load_weights(m, weights) != 0) {
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
  printf(" x0 x1 | out      | xor\n");
  for (int i = 0; i < 4; ++i)
    printf("  %g  %g | %.6f | %d\n", rows[2 * i], rows[2 * i + 1], out[i], out[i] > 0.5f);
  xor_mlp_destroy(m);
  return 0;
}
