// Trains LeNet-5 on Fashion-MNIST from scratch with the code nncc generated
// (lenet5_train_step / lenet5_evaluate) driven by the nncc trainer: 10% of
// the training images for validation, early stopping with patience 3 that
// restores the best epoch's weights, curves.csv and curves.svg, then the
// accuracy on the 10,000 test images and the time per epoch.
//
//   fashion_mnist [--data DIR] [--epochs N] [--limit N] [--out DIR]
// DIR holds train-/t10k-images-idx3-ubyte.gz and -labels-idx1-ubyte.gz
// (default: Debian's dataset-fashion-mnist, /usr/share/datasets/fashion-mnist).
// --limit N trains on the first N training images (a quick run).
#include "lenet5.h"
#include "runtime/trainer/Trainer.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  std::string dir = "/usr/share/datasets/fashion-mnist", out = ".";
  int epochs = 10;
  long limit = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "fashion_mnist: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data") dir = value();
    else if (a == "--epochs") epochs = std::atoi(value().c_str());
    else if (a == "--limit") limit = std::atol(value().c_str());
    else if (a == "--out") out = value();
    else {
      std::fprintf(stderr, "usage: fashion_mnist [--data DIR] [--epochs N] [--limit N] [--out DIR]\n");
      return 2;
    }
  }
  namespace tr = nncc::trainer;
  try {
    tr::Dataset train = tr::loadIdx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz");
    tr::Dataset test = tr::loadIdx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
    if (limit > 0 && limit < train.size()) {
      std::vector<int64_t> first(static_cast<size_t>(limit));
      for (long i = 0; i < limit; ++i) first[static_cast<size_t>(i)] = i;
      train = train.subset(first);
    }
    tr::SplitOptions so;
    so.validation = 0.1;
    so.seed = 1;
    tr::Split split = tr::splitDataset(train, so);
    std::printf("Fashion-MNIST: %lld training, %lld validation, %lld test images\n",
                (long long)split.train.size(), (long long)split.validation.size(), (long long)test.size());

    tr::Model model = NNCC_TRAINER_MODEL(lenet5, LENET5, IMAGE);
    tr::TrainOptions o;
    o.epochs = epochs;
    o.batchSize = 32;
    o.patience = 3;
    o.seed = 7;
    o.trainAccuracy = false;  // the training loss only: no extra forward pass per batch
    o.csvLog = out + "/curves.csv";
    o.svgPlot = out + "/curves.svg";
    tr::TrainResult r = tr::fit(model, split.train, &split.validation, o);
    double seconds = 0;
    for (const tr::EpochStats &e : r.history) seconds += e.seconds;
    tr::EvalResult t = tr::evaluate(model, test, 64);
    std::printf("best epoch %d of %zu%s; %.1f s per epoch\n", r.bestEpoch, r.history.size(),
                r.stoppedEarly ? " (stopped early)" : "", seconds / double(r.history.size()));
    std::printf("test accuracy %.4f, test loss %.4f\n", t.accuracy, t.loss);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "fashion_mnist: %s\n", e.what());
    return 1;
  }
  return 0;
}
