/* Calls every entry point of a compiled model (named g: input x [2], output
 * out [1], max_batch 4) with garbage arguments. Every call must return
 * non-zero with a message in g_last_error, never crash, and leave the
 * instance usable with its weights unchanged. Prints one line per call for
 * FileCheck; exits 1 on any broken expectation.
 * usage: garbage_args DIR (DIR holds good.safetensors, wrong-shape.safetensors,
 * truncated.safetensors, empty.safetensors, a file "afile" and a folder "adir") */
#include "g.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void expect_fail(const char *what, int rc, const char *msg) {
  if (rc == 0 || msg == NULL || msg[0] == '\0') {
    printf("BROKEN: %s returned %d with message '%s'\n", what, rc, msg ? msg : "(null)");
    ++failures;
    return;
  }
  printf("%s: rc=%d: %s\n", what, rc, msg);
}

#define FAIL(m, call) expect_fail(#call, (call), g_last_error(m))

static void out_of(g *m, float *y) {
  const float x[8] = {0.5f, -1.0f, 2.0f, 0.25f, -3.0f, 1.5f, 0.0f, 7.0f};
  memset(y, 0, 4 * sizeof(float));
  if (g_forward(m, 4, x, y) != 0) {
    printf("BROKEN: forward on good arguments failed: %s\n", g_last_error(m));
    ++failures;
  }
}

static int same(const float *a, const float *b) {
  int i;
  for (i = 0; i < 4; ++i)
    if (a[i] != b[i] || isnan(a[i]))
      return 0;
  return 1;
}

int main(int argc, char **argv) {
  char p[4096];
  const float x[8] = {0};
  float y[8], before[4], after[4];
  g *m;
  const char *dir = argc > 1 ? argv[1] : ".";

  /* A null instance: every entry point refuses it. */
  FAIL(NULL, g_forward(NULL, 1, x, y));
  FAIL(NULL, g_set_threads(NULL, 1));
  FAIL(NULL, g_load_weights(NULL, "good.safetensors"));
  FAIL(NULL, g_save_weights(NULL, "out.safetensors"));
  g_destroy(NULL);
  if (g_last_error(NULL) == NULL) {
    printf("BROKEN: g_last_error(NULL) is NULL\n");
    ++failures;
  }

  m = g_create();
  if (!m) {
    printf("BROKEN: g_create failed\n");
    return 1;
  }
  out_of(m, before);

  /* forward: batch outside 1..MAX_BATCH, null tensors */
  FAIL(m, g_forward(m, 0, x, y));
  FAIL(m, g_forward(m, -1, x, y));
  FAIL(m, g_forward(m, G_MAX_BATCH + 1, x, y));
  FAIL(m, g_forward(m, INT_MIN, x, y));
  FAIL(m, g_forward(m, INT_MAX, x, y));
  FAIL(m, g_forward(m, 1, NULL, y));
  FAIL(m, g_forward(m, 1, x, NULL));
  FAIL(m, g_forward(m, 1, NULL, NULL));

  /* set_threads: outside 1..1024 */
  FAIL(m, g_set_threads(m, 0));
  FAIL(m, g_set_threads(m, -5));
  FAIL(m, g_set_threads(m, 100000));
  FAIL(m, g_set_threads(m, INT_MIN));

  /* load_weights: null, missing, a folder, empty, truncated, wrong shapes */
  FAIL(m, g_load_weights(m, NULL));
  FAIL(m, g_load_weights(m, ""));
  snprintf(p, sizeof p, "%s/nothere.safetensors", dir);
  FAIL(m, g_load_weights(m, p));
  snprintf(p, sizeof p, "%s/adir", dir);
  FAIL(m, g_load_weights(m, p));
  snprintf(p, sizeof p, "%s/empty.safetensors", dir);
  FAIL(m, g_load_weights(m, p));
  snprintf(p, sizeof p, "%s/truncated.safetensors", dir);
  FAIL(m, g_load_weights(m, p));
  snprintf(p, sizeof p, "%s/wrong-shape.safetensors", dir);
  FAIL(m, g_load_weights(m, p));
  snprintf(p, sizeof p, "%s/afile/w.safetensors", dir);
  FAIL(m, g_load_weights(m, p));

  /* save_weights: null, empty, a missing folder, below a file, onto a folder */
  FAIL(m, g_save_weights(m, NULL));
  FAIL(m, g_save_weights(m, ""));
  snprintf(p, sizeof p, "%s/nothere/w.safetensors", dir);
  FAIL(m, g_save_weights(m, p));
  snprintf(p, sizeof p, "%s/afile/w.safetensors", dir);
  FAIL(m, g_save_weights(m, p));
  snprintf(p, sizeof p, "%s/adir", dir);
  FAIL(m, g_save_weights(m, p));

  /* Nothing changed: same outputs, and good calls clear the message. */
  out_of(m, after);
  if (!same(before, after)) {
    printf("BROKEN: the outputs changed after the failed calls\n");
    ++failures;
  }
  if (g_set_threads(m, 2) != 0 || g_last_error(m)[0] != '\0') {
    printf("BROKEN: set_threads(2) failed or left a message\n");
    ++failures;
  }
  snprintf(p, sizeof p, "%s/good.safetensors", dir);
  if (g_load_weights(m, p) != 0) {
    printf("BROKEN: loading the good file failed: %s\n", g_last_error(m));
    ++failures;
  }
  out_of(m, after);
  printf("after loading good.safetensors: %g %g %g %g\n", after[0], after[1], after[2], after[3]);
  g_destroy(m);
  printf("%s\n", failures ? "FAILED" : "all calls refused cleanly");
  return failures ? 1 : 0;
}
