/* Runs the compiled model nm (input x [4]; outputs sm = softmax(x),
 * lsm = log_softmax(x), bn = batchnorm(x) with the initial statistics) on
 * extreme and constant rows and compares with the exact values, computed
 * here in long double from the shifted form. Prints one line per row.
 * Every output must be finite; softmax and batchnorm exact; log_softmax exact
 * only with -DCHECK_LOG_SOFTMAX_PRECISION (numerics-log-softmax.test, XFAIL). */
#include "nm.h"

#include <math.h>
#include <stdio.h>

#define ROWS 9
static const float kRows[ROWS][4] = {
    {1e4f, -1e4f, 1e4f, -1e4f},     {-1e4f, -1e4f, -1e4f, -1e4f},     {1e4f, 1e4f, 1e4f, 1e4f},
    {3e38f, 3e38f, 2.9e38f, 3e38f}, {-3e38f, -3e38f, -3e38f, -3e38f}, {3e38f, 3e38f, 3e38f, 3e38f},
    {0, 0, 0, 0},                   {1e4f, 0, -1e4f, 1},              {-3e38f, -2.9e38f, -3e38f, -3e38f},
};

int main(void) {
  float sm[ROWS * 4], lsm[ROWS * 4], bn[ROWS * 4];
  int r, i, bad = 0, threads;
  nm *m = nm_create();
  if (!m)
    return 1;
  for (threads = 1; threads <= 2; ++threads) {
    if (nm_set_threads(m, threads) != 0 || nm_forward(m, ROWS, &kRows[0][0], sm, lsm, bn) != 0) {
      printf("forward failed: %s\n", nm_last_error(m));
      return 1;
    }
    for (r = 0; r < ROWS; ++r) {
      long double mx = kRows[r][0], sum = 0;
      int row_bad = 0;
      for (i = 0; i < 4; ++i)
        mx = kRows[r][i] > mx ? kRows[r][i] : mx;
      for (i = 0; i < 4; ++i)
        sum += expl((long double)kRows[r][i] - mx);
      for (i = 0; i < 4; ++i) {
        double want_sm = (double)(expl((long double)kRows[r][i] - mx) / sum);
        double want_lsm = (double)((long double)kRows[r][i] - mx - logl(sum));
        double want_bn = kRows[r][i] / sqrt(1 + 1e-5);
        float a = sm[r * 4 + i], b = lsm[r * 4 + i], c = bn[r * 4 + i];
        int lsm_bad = fabs(b - want_lsm) > 1e-6 * (1 + fabs(want_lsm));
#ifndef CHECK_LOG_SOFTMAX_PRECISION
        lsm_bad = 0;
#endif
        if (!isfinite(a) || !isfinite(b) || !isfinite(c) || fabs(a - want_sm) > 1e-6 || lsm_bad ||
            fabs(c - want_bn) > 1e-5 * (1 + fabs(want_bn))) {
          printf("row %d element %d: softmax %g (want %g), log_softmax %g (want %g), batchnorm %g (want %g)\n", r,
                 i, a, want_sm, b, want_lsm, c, want_bn);
          row_bad = 1;
        }
      }
      bad |= row_bad;
      if (threads == 1)
        printf("row %d [%g, %g, %g, %g]: %s\n", r, kRows[r][0], kRows[r][1], kRows[r][2], kRows[r][3],
               row_bad ? "WRONG" : "finite and exact");
    }
  }
  nm_destroy(m);
  return bad;
}
