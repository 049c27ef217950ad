/* Uses the two models that the project's build compiled. */
#include "lenet5.h"
#include "xor.h"

#include <stdio.h>

int main(void) {
  xor_mlp *x = xor_mlp_create();
  const float rows[8] = {0, 0, 0, 1, 1, 0, 1, 1};
  float out[4];
  if (!x || xor_mlp_forward(x, 4, rows, out) != 0) return 1;
  for (int i = 0; i < 4; ++i) printf("xor %d\n", out[i] > 0.5f);
  lenet5 *l = lenet5_create();
  static float img[LENET5_IMAGE_SIZE];
  float probs[LENET5_PROBS_SIZE], sum = 0;
  if (!l || lenet5_forward(l, 1, img, probs) != 0) return 1;
  for (int k = 0; k < LENET5_PROBS_SIZE; ++k) sum += probs[k];
  printf("lenet5 sum %.3f max_batch %d %d\n", sum, XOR_MLP_MAX_BATCH, LENET5_MAX_BATCH);
  xor_mlp_destroy(x);
  lenet5_destroy(l);
  return 0;
}
