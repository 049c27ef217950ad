// Trains a small CNN (digits_cnn.json: conv-relu-pool-conv-relu-dense, 1x8x8 ->
// 10 classes) from scratch on scikit-learn's 8x8 handwritten digits (1,797
// samples, pixels 0..16, the label in the last column) with the code nncc
// generated (digits_cnn_train_step / digits_cnn_evaluate) driven by the nncc trainer:
// a seeded split into training, validation and test samples (disjoint: each
// sample is in exactly one part), early stopping on the validation loss that
// restores the best epoch's weights, curves.csv and curves.svg, then the
// accuracy on the test samples, which training never saw.
//
//   digits [--data FILE] [--epochs N] [--patience N] [--seed N] [--threads N] [--out DIR]
// FILE: digits.csv.gz as Debian's python3-sklearn ships it (the default,
// /usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz);
// --seed N: the split's seed (the shuffles of the epochs use N + 6);
// --patience N: epochs without a better validation loss before stopping (8);
// --threads N: the model's threads (default: the number of online CPUs).
#include "digits_cnn.h"
#include "runtime/trainer/Trainer.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char **argv) {
  std::string data = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz", out = ".";
  int epochs = 100, patience = 8, threads = 0;
  unsigned long long seed = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "digits: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data") data = value();
    else if (a == "--epochs") epochs = std::atoi(value().c_str());
    else if (a == "--patience") patience = std::atoi(value().c_str());
    else if (a == "--seed") seed = std::strtoull(value().c_str(), nullptr, 10);
    else if (a == "--threads") threads = std::atoi(value().c_str());
    else if (a == "--out") out = value();
    else {
      std::fprintf(stderr, "usage: digits [--data FILE] [--epochs N] [--patience N] [--seed N] [--threads N] [--out DIR]\n");
      return 2;
    }
  }
  namespace tr = nncc::trainer;
  try {
    tr::CsvOptions co;
    co.header = tr::CsvHeader::No;  // 64 pixel columns, then the label
    tr::Dataset all = tr::loadCsv(data, co);
    if (all.features != DIGITS_CNN_IMAGE_SIZE)
      throw tr::Error(data + ": " + std::to_string(all.features) + " features per sample, expected " +
                      std::to_string(DIGITS_CNN_IMAGE_SIZE));
    tr::SplitOptions so;
    so.validation = 0.15;
    so.test = 0.2;
    so.seed = seed;
    tr::Split split = tr::splitDataset(all, so);
    std::printf("digits: %lld samples, %d classes: %lld training, %lld validation, %lld test (split seed %llu)\n",
                (long long)all.size(), all.numClasses(), (long long)split.train.size(),
                (long long)split.validation.size(), (long long)split.test.size(), seed);
    // No sample in two parts, none left out: each index of 0..n-1 exactly once.
    std::vector<int> seen(static_cast<size_t>(all.size()), 0);
    for (const auto *part : {&split.trainIndices, &split.validationIndices, &split.testIndices})
      for (int64_t i : *part) ++seen[static_cast<size_t>(i)];
    long once = 0;
    for (int c : seen) once += c == 1;
    if (once != all.size()) throw tr::Error("the split mixes or drops samples");
    std::printf("split: every sample in exactly one part (%ld of %lld)\n", once, (long long)all.size());

    tr::Model model = NNCC_TRAINER_MODEL(digits_cnn, DIGITS_CNN, IMAGE);
    if (threads > 0 && digits_cnn_set_threads(static_cast<digits_cnn *>(model.owner.get()), threads) != 0)
      throw tr::Error("--threads " + std::to_string(threads) + ": out of range");
    tr::TrainOptions o;
    o.epochs = epochs;
    o.batchSize = 32;
    o.patience = patience;  // on the validation loss; the best epoch's weights are restored
    o.seed = seed + 6;
    o.trainAccuracy = false;
    o.csvLog = out + "/curves.csv";
    o.svgPlot = out + "/curves.svg";
    auto t0 = std::chrono::steady_clock::now();
    tr::TrainResult r = tr::fit(model, split.train, &split.validation, o);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const tr::EpochStats &best = r.history[static_cast<size_t>(r.bestEpoch - 1)];
    std::printf("best epoch %d of %zu%s%s: validation loss %.4f, accuracy %.4f\n", r.bestEpoch, r.history.size(),
                r.stoppedEarly ? " (stopped early)" : "", r.restoredBest ? ", its weights restored" : "",
                best.validationLoss, best.validationAccuracy);
    std::printf("training took %.2f s (%.3f s per epoch)\n", seconds, seconds / double(r.history.size()));
    tr::EvalResult t = tr::evaluate(model, split.test, 64);
    std::printf("test accuracy %.4f (%lld of %lld), test loss %.4f\n", t.accuracy, (long long)t.correct,
                (long long)t.samples, t.loss);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "digits: %s\n", e.what());
    return 1;
  }
  return 0;
}
