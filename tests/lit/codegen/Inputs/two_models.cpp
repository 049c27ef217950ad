// Two compiled models in one C++ program (no symbol clashes), used through
// the headers' RAII classes: XOR with the weights loaded from a file at run
// time, and LeNet-5 saving and reloading its weights.
#include "lenet5.h"
#include "xor.h"

#include <cstdio>
#include <stdexcept>
#include <vector>

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  xor_mlp_model x;
  x.set_threads(1);
  x.load_weights(argv[1]);  // examples/xor.safetensors
  const float rows[8] = {0, 0, 0, 1, 1, 0, 1, 1};
  float out[4];
  x.forward(4, rows, out);
  for (int i = 0; i < 4; ++i) std::printf("xor %g %g -> %d\n", rows[2 * i], rows[2 * i + 1], out[i] > 0.5f);

  lenet5_model a, b;
  std::vector<float> img(2 * LENET5_IMAGE_SIZE, 0.25f), pa(2 * LENET5_PROBS_SIZE), pb(2 * LENET5_PROBS_SIZE);
  a.forward(2, img.data(), pa.data());
  a.save_weights(argv[2]);
  b.load_weights(argv[2]);  // the same seeded weights, through a file
  b.set_threads(2);
  b.forward(2, img.data(), pb.data());
  std::printf("lenet5 reload %s\n", pa == pb ? "identical" : "DIFFERENT");
  try {
    b.load_weights(argv[1]);  // XOR's weights do not fit LeNet-5
    std::printf("lenet5 accepted xor weights\n");
  } catch (const std::runtime_error &e) {
    std::printf("lenet5 refused: %s\n", e.what());
  }
  return 0;
}
