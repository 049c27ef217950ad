// Trains the compiled XOR model (examples/xor.json) with the installed
// trainer: 100 samples (the truth table 25 times), batches of 4 in order
// (2500 full-batch steps in 100 epochs), a CSV log
// and an SVG plot; prints the learned truth table. Exit status 0 when all
// four rows are right.
#include "runtime/trainer/Trainer.h"
#include "xor_mlp.h"

#include <cstdio>

int main(int argc, char **argv) {
  const std::string out = argc > 1 ? argv[1] : ".";
  std::vector<float> x, t;
  for (int r = 0; r < 25; ++r)
    for (int i = 0; i < 4; ++i) {
      x.push_back(static_cast<float>(i >> 1));
      x.push_back(static_cast<float>(i & 1));
      t.push_back(static_cast<float>((i >> 1) ^ (i & 1)));
    }
  try {
    nncc::trainer::Dataset data = nncc::trainer::Dataset::withTargets(2, x, 1, t);
    nncc::trainer::Model model = NNCC_TRAINER_MODEL_T(xor_mlp, XOR_MLP, X, OUT);
    nncc::trainer::TrainOptions o;
    o.epochs = 100;
    o.batchSize = 4;
    o.shuffle = false;  // each batch is the whole truth table, as examples/xor_train's full-batch steps
    o.progress = nncc::trainer::Progress::None;
    o.csvLog = out + "/xor.csv";
    o.svgPlot = out + "/xor.svg";
    nncc::trainer::TrainResult r = nncc::trainer::fit(model, data, &data, o);
    std::printf("epochs %zu best %d val_acc %.2f\n", r.history.size(), r.bestEpoch,
                r.history[r.bestEpoch - 1].validationAccuracy);
    auto *m = static_cast<xor_mlp *>(model.owner.get());
    float y[4];
    if (xor_mlp_forward(m, 4, x.data(), y) != 0) {
      std::fprintf(stderr, "%s\n", xor_mlp_last_error(m));
      return 1;
    }
    int right = 0;
    for (int i = 0; i < 4; ++i) {
      std::printf("xor %d\n", y[i] > 0.5f);
      right += (y[i] > 0.5f) == (t[i] > 0.5f);
    }
    return right == 4 ? 0 : 3;
  } catch (const nncc::trainer::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
