// The training loop, evaluation and the progress display.
#include "runtime/trainer/Trainer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <numeric>

namespace nncc {
namespace trainer {

int64_t Model::correctUnits() const {
  if (correctPerSample >= 0) return correctPerSample;
  return targetKind == TargetKind::Labels ? 1 : std::max<int64_t>(targetSize, 0);
}

namespace {

double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string modelError(const Model &m, const char *entry, int status) {
  std::string msg = m.name + ": " + entry + " returned " + std::to_string(status);
  if (m.lastError) {
    std::string e = m.lastError();
    if (!e.empty()) msg += ": " + e;
  }
  return msg;
}

void checkData(const Model &m, const Dataset &d, const std::string &what) {
  d.validate(what);
  if (m.inputSize > 0 && d.features != m.inputSize)
    throw Error(what + ": " + std::to_string(d.features) + " features per sample, but " + m.name + " takes " +
                std::to_string(m.inputSize));
  if (d.kind != m.targetKind)
    throw Error(what + " has " + targetKindName(d.kind) + ", but " + m.name + "'s loss takes " +
                targetKindName(m.targetKind));
  if (d.kind == TargetKind::Floats && m.targetSize > 0 && d.targetSize != m.targetSize)
    throw Error(what + ": " + std::to_string(d.targetSize) + " target values per sample, but " + m.name + " takes " +
                std::to_string(m.targetSize));
}

// One mini-batch gathered into contiguous buffers.
struct Batch {
  std::vector<float> x, targets;
  std::vector<int32_t> labels;
  int size = 0;
  void gather(const Dataset &d, const int64_t *idx, int n) {
    size = n;
    x.resize(static_cast<size_t>(n) * d.features);
    for (int i = 0; i < n; ++i)
      std::memcpy(x.data() + static_cast<size_t>(i) * d.features, d.sample(idx[i]), sizeof(float) * d.features);
    if (d.kind == TargetKind::Labels) {
      labels.resize(n);
      for (int i = 0; i < n; ++i) labels[i] = d.labels[idx[i]];
    } else {
      targets.resize(static_cast<size_t>(n) * d.targetSize);
      for (int i = 0; i < n; ++i)
        std::memcpy(targets.data() + static_cast<size_t>(i) * d.targetSize, d.targets.data() + idx[i] * d.targetSize,
                    sizeof(float) * d.targetSize);
    }
  }
  const int32_t *labelPtr(const Dataset &d) const { return d.kind == TargetKind::Labels ? labels.data() : nullptr; }
  const float *targetPtr(const Dataset &d) const { return d.kind == TargetKind::Floats ? targets.data() : nullptr; }
};

int resolveBatch(const Model &m, int batchSize) {
  if (m.maxBatch <= 0) throw Error(m.name + ": maxBatch must be positive");
  if (batchSize <= 0) return m.maxBatch;
  if (batchSize > m.maxBatch)
    throw Error("batch size " + std::to_string(batchSize) + " is larger than " + m.name + "'s maximum batch " +
                std::to_string(m.maxBatch));
  return batchSize;
}

// Removes the temporary checkpoint file when training ends, however it ends.
struct TempFile {
  std::string path;
  bool owned = false;
  ~TempFile() {
    if (owned && !path.empty()) std::remove(path.c_str());
  }
};

}  // namespace

EvalResult evaluate(Model &model, const Dataset &data, int batchSize) {
  if (!model.evaluate) throw Error(model.name + ": no evaluate entry point");
  checkData(model, data, "evaluation set");
  const int bs = std::min(resolveBatch(model, batchSize), model.maxBatch);
  const int64_t n = data.size();
  EvalResult r;
  double sumLoss = 0;
  Batch b;
  std::vector<int64_t> idx(static_cast<size_t>(bs));
  for (int64_t start = 0; start < n; start += bs) {
    const int cnt = static_cast<int>(std::min<int64_t>(bs, n - start));
    std::iota(idx.begin(), idx.begin() + cnt, start);
    b.gather(data, idx.data(), cnt);
    float loss = 0;
    int32_t correct = 0;
    int st = model.evaluate(cnt, b.x.data(), b.labelPtr(data), b.targetPtr(data), &loss, &correct);
    if (st != 0) throw Error(modelError(model, "evaluate", st));
    sumLoss += static_cast<double>(loss) * cnt;
    r.correct += correct;
    r.samples += cnt;
  }
  if (r.samples > 0) {
    r.loss = sumLoss / r.samples;
    const int64_t units = model.correctUnits();
    if (units > 0) r.accuracy = static_cast<double>(r.correct) / (static_cast<double>(r.samples) * units);
  }
  return r;
}

TrainResult fit(Model &model, const Dataset &train, const Dataset *validation, const TrainOptions &o) {
  if (!model.trainStep) throw Error(model.name + ": no train_step entry point");
  if (!model.evaluate && (o.trainAccuracy || validation)) throw Error(model.name + ": no evaluate entry point");
  checkData(model, train, "training set");
  const bool haveVal = validation && validation->size() > 0;
  if (haveVal) checkData(model, *validation, "validation set");
  if (o.epochs < 1) throw Error("epochs must be at least 1, not " + std::to_string(o.epochs));
  if (o.patience < 0) throw Error("patience must not be negative");
  const int bs = o.batchSize > 0 ? resolveBatch(model, o.batchSize) : std::min(32, resolveBatch(model, 0));
  const int64_t n = train.size();
  const int64_t steps = o.dropLast ? n / bs : (n + bs - 1) / bs;
  if (steps == 0) throw Error("the training set (" + std::to_string(n) + " samples) has no full batch of " + std::to_string(bs));
  const int64_t units = model.correctUnits();
  const bool accuracyMonitored = o.monitor == Monitor::ValidationAccuracy;
  if (accuracyMonitored && units == 0) throw Error(model.name + "'s loss gives no accuracy to monitor");
  if (accuracyMonitored && !haveVal && !o.trainAccuracy)
    throw Error("monitoring accuracy without a validation set needs trainAccuracy");

  const bool useSnapshot = model.snapshot && model.restore;
  const bool useFile = !useSnapshot && model.saveWeights && model.loadWeights;
  if (o.restoreBest && !useSnapshot && !useFile)
    throw Error("restoreBest needs the model's snapshot/restore or saveWeights/loadWeights (or set restoreBest = false)");
  TempFile checkpoint;
  if (o.restoreBest && useFile) {
    if (!o.checkpointPath.empty()) {
      checkpoint.path = o.checkpointPath;
    } else {
      const char *tmp = std::getenv("TMPDIR");
      std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/nncc-trainer-XXXXXX.safetensors";
      std::vector<char> buf(tmpl.begin(), tmpl.end());
      buf.push_back('\0');
      int fd = mkstemps(buf.data(), static_cast<int>(std::strlen(".safetensors")));
      if (fd < 0) throw Error(tmpl + ": cannot create a temporary checkpoint: " + std::strerror(errno));
      close(fd);
      checkpoint.path = buf.data();
      checkpoint.owned = true;
    }
  }

  auto setLr = [&](float lr) {
    if (!model.setLearningRate) throw Error(model.name + ": no set_learning_rate entry point");
    int st = model.setLearningRate(lr);
    if (st != 0) throw Error(modelError(model, "set_learning_rate", st));
  };
  double currentLr = NAN;
  if (!std::isnan(o.learningRate)) {
    setLr(o.learningRate);
    currentLr = o.learningRate;
  }
  if (o.setSeed) {
    if (!model.setSeed) throw Error(model.name + ": no set_seed entry point");
    int st = model.setSeed(o.seed);
    if (st != 0) throw Error(modelError(model, "set_seed", st));
  }

  ProgressReporter progress(o.progressStream ? o.progressStream : stderr, o.progress);
  TrainResult result;
  int wait = 0;
  Batch b;
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    if (o.learningRateAt) {
      float lr = o.learningRateAt(epoch);
      if (!std::isnan(lr)) {
        setLr(lr);
        currentLr = lr;
      }
    }
    if (o.shuffle) {
      uint64_t s = o.seed ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(epoch));
      order = shuffledIndices(n, splitmix64(s));
    } else {
      std::iota(order.begin(), order.end(), 0);
    }
    const double t0 = now();
    double sumLoss = 0;
    int64_t sumCorrect = 0, seen = 0;
    const int64_t total = o.dropLast ? steps * bs : n;
    for (int64_t s = 0; s < steps; ++s) {
      const int cnt = static_cast<int>(std::min<int64_t>(bs, n - s * bs));
      b.gather(train, order.data() + s * bs, cnt);
      if (o.trainAccuracy && units > 0) {
        float l = 0;
        int32_t c = 0;
        int st = model.evaluate(cnt, b.x.data(), b.labelPtr(train), b.targetPtr(train), &l, &c);
        if (st != 0) throw Error(modelError(model, "evaluate", st));
        sumCorrect += c;
      }
      float loss = 0;
      int st = model.trainStep(cnt, b.x.data(), b.labelPtr(train), b.targetPtr(train), &loss);
      if (st != 0) throw Error(modelError(model, "train_step", st));
      sumLoss += static_cast<double>(loss) * cnt;
      seen += cnt;
      const double el = now() - t0, rate = el > 0 ? seen / el : 0;
      progress.step(epoch, o.epochs, s + 1, steps, sumLoss / seen,
                    o.trainAccuracy && units > 0 ? static_cast<double>(sumCorrect) / (seen * units) : NAN, rate,
                    rate > 0 ? (total - seen) / rate : NAN, s + 1 == steps);
    }
    EpochStats es;
    es.epoch = epoch;
    es.samples = seen;
    es.trainLoss = sumLoss / seen;
    if (o.trainAccuracy && units > 0) es.trainAccuracy = static_cast<double>(sumCorrect) / (seen * units);
    if (haveVal) {
      EvalResult v = evaluate(model, *validation, bs);
      es.validationLoss = v.loss;
      es.validationAccuracy = v.accuracy;
    }
    es.learningRate = currentLr;
    es.seconds = now() - t0;

    const double value = accuracyMonitored ? (haveVal ? es.validationAccuracy : es.trainAccuracy)
                                           : (haveVal ? es.validationLoss : es.trainLoss);
    bool improved;
    if (std::isnan(value))
      improved = result.bestEpoch == 0;  // the first epoch is the best until a number beats it
    else if (std::isnan(result.bestValue))
      improved = true;
    else if (accuracyMonitored)
      improved = value > result.bestValue + o.minDelta;
    else
      improved = value < result.bestValue - o.minDelta;
    if (improved) {
      result.bestEpoch = epoch;
      result.bestValue = value;
      wait = 0;
      if (o.restoreBest) {
        if (useSnapshot) {
          model.snapshot();
        } else {
          int st = model.saveWeights(checkpoint.path);
          if (st != 0) throw Error(modelError(model, "save_weights", st) + " (" + checkpoint.path + ")");
        }
      }
    } else {
      ++wait;
    }
    result.history.push_back(es);
    if (!o.csvLog.empty()) writeLearningCurveCsv(o.csvLog, result.history);
    if (!o.svgPlot.empty()) writeLearningCurveSvg(o.svgPlot, result.history, model.name);
    progress.endEpoch(es, o.epochs, improved);
    if (o.onEpoch) o.onEpoch(es);
    if (o.patience > 0 && wait >= o.patience && epoch < o.epochs) {
      result.stoppedEarly = true;
      break;
    }
  }
  if (result.stoppedEarly)
    progress.message("early stopping after epoch " + std::to_string(result.history.back().epoch) + ": no improvement in " +
                     std::to_string(o.patience) + " epochs; best epoch " + std::to_string(result.bestEpoch));
  if (o.restoreBest && result.bestEpoch > 0 && result.bestEpoch != result.history.back().epoch) {
    if (useSnapshot) {
      model.restore();
    } else {
      int st = model.loadWeights(checkpoint.path);
      if (st != 0) throw Error(modelError(model, "load_weights", st) + " (" + checkpoint.path + ")");
    }
    result.restoredBest = true;
    progress.message("restored the weights of epoch " + std::to_string(result.bestEpoch));
  }
  return result;
}

// ---- progress ---------------------------------------------------------------------

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

ProgressReporter::ProgressReporter(std::FILE *out, Progress mode) : out_(out) {
  if (mode == Progress::Auto) mode = out && isatty(fileno(out)) ? Progress::Bar : Progress::Lines;
  bar_ = mode == Progress::Bar;
  none_ = mode == Progress::None || !out;
}

namespace {
std::string metrics(double loss, double acc, const char *prefix) {
  char buf[96];
  if (std::isnan(acc))
    std::snprintf(buf, sizeof buf, "%sloss %.4f", prefix, loss);
  else
    std::snprintf(buf, sizeof buf, "%sloss %.4f %sacc %.2f%%", prefix, loss, prefix, 100 * acc);
  return buf;
}
}  // namespace

void ProgressReporter::step(int epoch, int epochs, int64_t done, int64_t total, double loss, double accuracy,
                            double samplesPerSecond, double etaSeconds, bool force) {
  if (none_) return;
  const double t = now();
  if (bar_) {
    if (!force && lastDraw_ >= 0 && t - lastDraw_ < 0.1) return;
  } else {
    // Plain lines: at most one every 10 seconds within an epoch (the epoch's
    // own line follows at its end).
    if (force || (lastDraw_ >= 0 && t - lastDraw_ < 10)) {
      if (lastDraw_ < 0) lastDraw_ = t;
      return;
    }
  }
  lastDraw_ = t;
  const int width = 24;
  const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
  std::string barText(width, ' ');
  for (int i = 0; i < filled; ++i) barText[i] = '=';
  if (filled < width) barText[filled] = '>';
  char head[160];
  std::snprintf(head, sizeof head, "epoch %d/%d [%s] %lld/%lld ", epoch, epochs, barText.c_str(),
                static_cast<long long>(done), static_cast<long long>(total));
  char tail[96];
  std::snprintf(tail, sizeof tail, " %.0f samples/s ETA %s", samplesPerSecond, formatDuration(etaSeconds).c_str());
  std::string line = head + metrics(loss, accuracy, "") + tail;
  if (bar_) {
    std::fprintf(out_, "\r%s\x1b[K", line.c_str());
    lineOpen_ = true;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void ProgressReporter::endEpoch(const EpochStats &s, int epochs, bool improved) {
  if (none_) return;
  std::string line = "epoch " + std::to_string(s.epoch) + "/" + std::to_string(epochs) + ": " +
                     metrics(s.trainLoss, s.trainAccuracy, "");
  if (!std::isnan(s.validationLoss)) line += " | " + metrics(s.validationLoss, s.validationAccuracy, "val_");
  if (!std::isnan(s.learningRate)) {
    char b[48];
    std::snprintf(b, sizeof b, " | lr %g", s.learningRate);
    line += b;
  }
  char b[96];
  std::snprintf(b, sizeof b, " | %.2f s, %.0f samples/s", s.seconds, s.seconds > 0 ? s.samples / s.seconds : 0.0);
  line += b;
  if (improved) line += " *";
  if (bar_)
    std::fprintf(out_, "\r%s\x1b[K\n", line.c_str());
  else
    std::fprintf(out_, "%s\n", line.c_str());
  lineOpen_ = false;
  lastDraw_ = -1;
  std::fflush(out_);
}

void ProgressReporter::message(const std::string &line) {
  if (none_) return;
  if (bar_ && lineOpen_) std::fprintf(out_, "\r\x1b[K");
  lineOpen_ = false;
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

}  // namespace trainer
}  // namespace nncc
