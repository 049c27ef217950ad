/* Runs three fixed 3x3 filters (edge detection, sharpen, Gaussian blur) over
 * a photo with the model filters.json compiled ahead of time by nncc:
 *
 *   filters PHOTO [OUTDIR]      -> OUTDIR/edges.png, sharpen.png, blur.png
 *
 * The photo (any format stb_image reads: JPEG, PNG, BMP, PGM, ...) is
 * converted to grayscale floats in [0,1] (Rec. 601 luma for colour), and
 * brought to the model's fixed SIDE x SIDE input: the centre SIDE x SIDE
 * crop when the photo is at least that large, else its centre square
 * scaled up (nearest neighbour). Each output channel is clamped to [0,1]
 * and written as an 8-bit grayscale PNG. */
#include "image_filters.h"

#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 256 /* filters.json: "shape": [1, 256, 256] */
_Static_assert(SIDE * SIDE == IMAGE_FILTERS_IMAGE_SIZE, "SIDE must match filters.json");
_Static_assert(3 * SIDE * SIDE == IMAGE_FILTERS_FILTERS_SIZE, "three output channels");

static float gray_at(const unsigned char *px, int comp) {
  if (comp < 3) return px[0] / 255.0f; /* gray or gray+alpha */
  return (0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2]) / 255.0f;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s PHOTO [OUTDIR]\n", argv[0]);
    return 2;
  }
  const char *outdir = argc > 2 ? argv[2] : ".";
  int w, h, comp;
  unsigned char *pixels = stbi_load(argv[1], &w, &h, &comp, 0);
  if (!pixels) {
    fprintf(stderr, "%s: %s\n", argv[1], stbi_failure_reason());
    return 1;
  }

  static float input[IMAGE_FILTERS_IMAGE_SIZE];
  static float output[IMAGE_FILTERS_FILTERS_SIZE];
  if (w >= SIDE && h >= SIDE) { /* centre crop */
    int x0 = (w - SIDE) / 2, y0 = (h - SIDE) / 2;
    for (int y = 0; y < SIDE; ++y)
      for (int x = 0; x < SIDE; ++x)
        input[y * SIDE + x] = gray_at(pixels + ((size_t)(y0 + y) * w + (x0 + x)) * comp, comp);
  } else { /* centre square, nearest-neighbour scaled to SIDE */
    int s = w < h ? w : h, x0 = (w - s) / 2, y0 = (h - s) / 2;
    for (int y = 0; y < SIDE; ++y)
      for (int x = 0; x < SIDE; ++x) {
        int sy = y0 + y * s / SIDE, sx = x0 + x * s / SIDE;
        input[y * SIDE + x] = gray_at(pixels + ((size_t)sy * w + sx) * comp, comp);
      }
  }
  stbi_image_free(pixels);
  printf("%s: %dx%d, %d channel(s) -> %dx%d grayscale\n", argv[1], w, h, comp, SIDE, SIDE);

  image_filters *m = image_filters_create();
  if (!m) {
    fprintf(stderr, "image_filters_create failed\n");
    return 1;
  }
  if (image_filters_forward(m, 1, input, output) != 0) {
    fprintf(stderr, "%s\n", image_filters_last_error(m));
    image_filters_destroy(m);
    return 1;
  }
  image_filters_destroy(m);

  static const char *names[3] = {"edges", "sharpen", "blur"}; /* filters.safetensors' order */
  static unsigned char png[SIDE * SIDE];
  for (int c = 0; c < 3; ++c) {
    const float *plane = output + (size_t)c * SIDE * SIDE;
    for (int i = 0; i < SIDE * SIDE; ++i) {
      float v = plane[i] < 0.0f ? 0.0f : plane[i] > 1.0f ? 1.0f : plane[i];
      png[i] = (unsigned char)(v * 255.0f + 0.5f);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.png", outdir, names[c]);
    if (!stbi_write_png(path, SIDE, SIDE, 1, png, SIDE)) {
      fprintf(stderr, "cannot write %s\n", path);
      return 1;
    }
    printf("wrote %s\n", path);
  }
  return 0;
}
