/* Links a compiled model with one input and one output and runs forward at
 * batch 2 on a ramp: -DMODEL=name -DHEADER='"name.h"' -DIN_SIZE=NAME_X_SIZE
 * -DOUT_SIZE=NAME_Y_SIZE. Prints "forward: ok, all outputs finite". */
#include HEADER

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(suffix) CAT(MODEL, suffix)

int main(void) {
  float *x = (float *)malloc(2 * IN_SIZE * sizeof(float));
  float *y = (float *)malloc(2 * OUT_SIZE * sizeof(float));
  int i, rc;
  MODEL *m;
  for (i = 0; i < 2 * IN_SIZE; ++i)
    x[i] = (float)(i % 17) / 17.0f - 0.5f;
  m = FN(_create)();
  if (!m || !x || !y)
    return 1;
  rc = FN(_forward)(m, 2, x, y);
  if (rc != 0) {
    printf("forward failed: %s\n", FN(_last_error)(m));
    return 1;
  }
  for (i = 0; i < 2 * OUT_SIZE; ++i)
    if (!isfinite(y[i])) {
      printf("output %d is not finite\n", i);
      return 1;
    }
  printf("forward: ok, all outputs finite\n");
  FN(_destroy)(m);
  free(x);
  free(y);
  return 0;
}
