/* Classifies 28x28 grayscale images with the compiled LeNet-5 (lenet5.json):
 *
 *   classify IMAGES.idx[.gz] [COUNT]
 *
 * IMAGES is an IDX3 file of unsigned bytes (magic 0x00000803, then the
 * count, rows and columns as big-endian 32-bit integers, then the pixels),
 * as Fashion-MNIST ships them, gzip-compressed or not (zlib's gzread reads
 * both). Pixels are scaled to [0,1]; the model's own preprocess normalizes
 * them. For each of the first COUNT images (default: all) prints
 *
 *   <index> <class> <class name> <probability>
 *
 * With the seeded (untrained) weights the predictions are arbitrary. */
#include "lenet5.h"

#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#define SIDE 28
_Static_assert(SIDE * SIDE == LENET5_IMAGE_SIZE, "lenet5 takes [1, 28, 28]");
_Static_assert(LENET5_PROBS_SIZE == 10, "ten classes");

static const char *const kNames[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static int read_be32(gzFile f, unsigned *v) {
  unsigned char b[4];
  if (gzread(f, b, 4) != 4) return -1;
  *v = (unsigned)b[0] << 24 | (unsigned)b[1] << 16 | (unsigned)b[2] << 8 | b[3];
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s IMAGES.idx[.gz] [COUNT]\n", argv[0]);
    return 2;
  }
  gzFile f = gzopen(argv[1], "rb");
  if (!f) {
    fprintf(stderr, "%s: cannot open\n", argv[1]);
    return 1;
  }
  unsigned magic, count, rows, cols;
  if (read_be32(f, &magic) || read_be32(f, &count) || read_be32(f, &rows) || read_be32(f, &cols)) {
    fprintf(stderr, "%s: truncated IDX header\n", argv[1]);
    gzclose(f);
    return 1;
  }
  if (magic != 0x00000803u || rows != SIDE || cols != SIDE) {
    fprintf(stderr, "%s: not an IDX file of %dx%d unsigned-byte images (magic 0x%08x, %ux%u)\n",
            argv[1], SIDE, SIDE, magic, rows, cols);
    gzclose(f);
    return 1;
  }
  if (argc > 2) {
    long want = strtol(argv[2], NULL, 10);
    if (want >= 0 && (unsigned long)want < count) count = (unsigned)want;
  }

  lenet5 *m = lenet5_create();
  if (!m) {
    fprintf(stderr, "lenet5_create failed\n");
    gzclose(f);
    return 1;
  }
  enum { B = LENET5_MAX_BATCH };
  static unsigned char pixels[B * SIDE * SIDE];
  static float input[B * LENET5_IMAGE_SIZE], probs[B * LENET5_PROBS_SIZE];
  int status = 0;
  for (unsigned done = 0; done < count && status == 0;) {
    int n = count - done < (unsigned)B ? (int)(count - done) : B;
    if (gzread(f, pixels, (unsigned)(n * SIDE * SIDE)) != n * SIDE * SIDE) {
      fprintf(stderr, "%s: truncated after %u images\n", argv[1], done);
      status = 1;
      break;
    }
    for (int i = 0; i < n * SIDE * SIDE; ++i) input[i] = pixels[i] / 255.0f;
    if (lenet5_forward(m, n, input, probs) != 0) {
      fprintf(stderr, "%s\n", lenet5_last_error(m));
      status = 1;
      break;
    }
    for (int i = 0; i < n; ++i) {
      const float *p = probs + i * LENET5_PROBS_SIZE;
      int best = 0;
      for (int k = 1; k < 10; ++k)
        if (p[k] > p[best]) best = k;
      printf("%u %d %s %.4f\n", done + i, best, kNames[best], p[best]);
    }
    done += (unsigned)n;
  }
  lenet5_destroy(m);
  gzclose(f);
  return status;
}
