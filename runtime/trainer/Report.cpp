// The learning curves as a CSV log and as an SVG plot (hand-written SVG: two
// panels, loss and accuracy per epoch, train and validation).
#include "runtime/AtomicFile.h"
#include "runtime/trainer/Trainer.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace nncc {
namespace trainer {

namespace {

std::string num(double v, const char *fmt = "%.6g") {
  if (std::isnan(v)) return "";
  char buf[48];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

void writeOrThrow(const std::string &path, const std::string &bytes) {
  std::string error;
  if (!writeFileAtomically(path, bytes, error)) throw Error(error);
}

std::string xmlEscape(const std::string &s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

// A "nice" step (1, 2 or 5 times a power of ten) for about `count` ticks over `range`.
double niceStep(double range, int count) {
  double raw = range / std::max(count, 1);
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double f = raw / mag;
  double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nice * mag;
}

struct Series {
  std::string cls, label, color;
  std::vector<double> y;  // per epoch; NaN: no point
  bool dashed = false;
};

// One panel: axes from (x0, y0) (top-left of the plot area), size w x h.
void panel(std::ostringstream &s, double x0, double y0, double w, double h, const std::string &ylabel,
           bool percent, bool legendBottom, const std::vector<int> &epochs, const std::vector<Series> &series) {
  // The y range over every finite value.
  double lo = INFINITY, hi = -INFINITY;
  for (const Series &se : series)
    for (double v : se.y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  const bool empty = !(lo <= hi);
  if (empty) lo = 0, hi = 1;
  if (hi - lo < 1e-12) {
    double pad = std::max(std::fabs(hi) * 0.1, 0.05);
    lo -= pad;
    hi += pad;
  }
  const double ystep = niceStep(hi - lo, 5);
  const double ymin = std::floor(lo / ystep) * ystep, ymax = std::ceil(hi / ystep) * ystep;
  const int last = epochs.empty() ? 1 : epochs.back();
  const double xmin = 1, xmax = std::max(last, 2);
  const double xstep = std::max(1.0, niceStep(xmax - xmin, 8));
  auto px = [&](double e) { return x0 + (e - xmin) / (xmax - xmin) * w; };
  auto py = [&](double v) { return y0 + h - (v - ymin) / (ymax - ymin) * h; };

  s << "<g class=\"panel\">\n";
  s << "<rect x=\"" << x0 << "\" y=\"" << y0 << "\" width=\"" << w << "\" height=\"" << h
    << "\" fill=\"none\" stroke=\"#999\"/>\n";
  // Y ticks, grid and labels.
  s << "<g class=\"y-axis\" font-size=\"11\" text-anchor=\"end\">\n";
  for (double v = ymin; v <= ymax + ystep * 1e-6; v += ystep) {
    const double y = py(v);
    char label[32];
    if (percent)
      std::snprintf(label, sizeof label, "%g%%", std::round(v * 1000) / 10);
    else
      std::snprintf(label, sizeof label, "%g", std::fabs(v) < ystep * 1e-6 ? 0.0 : v);
    s << "<line class=\"tick\" x1=\"" << x0 - 5 << "\" y1=\"" << y << "\" x2=\"" << x0 << "\" y2=\"" << y
      << "\" stroke=\"#333\"/>";
    s << "<line x1=\"" << x0 << "\" y1=\"" << y << "\" x2=\"" << x0 + w << "\" y2=\"" << y
      << "\" stroke=\"#eee\"/>";
    s << "<text x=\"" << x0 - 8 << "\" y=\"" << y + 4 << "\">" << label << "</text>\n";
  }
  s << "</g>\n";
  // X ticks (epochs) and labels.
  s << "<g class=\"x-axis\" font-size=\"11\" text-anchor=\"middle\">\n";
  for (double e = xmin; e <= xmax + 1e-9; e += xstep) {
    const double x = px(e);
    s << "<line class=\"tick\" x1=\"" << x << "\" y1=\"" << y0 + h << "\" x2=\"" << x << "\" y2=\"" << y0 + h + 5
      << "\" stroke=\"#333\"/>";
    s << "<text x=\"" << x << "\" y=\"" << y0 + h + 18 << "\">" << e << "</text>\n";
  }
  s << "</g>\n";
  s << "<line x1=\"" << x0 << "\" y1=\"" << y0 + h << "\" x2=\"" << x0 + w << "\" y2=\"" << y0 + h
    << "\" stroke=\"#333\"/>\n";
  s << "<line x1=\"" << x0 << "\" y1=\"" << y0 << "\" x2=\"" << x0 << "\" y2=\"" << y0 + h << "\" stroke=\"#333\"/>\n";
  s << "<text class=\"axis-label\" x=\"" << x0 + w / 2 << "\" y=\"" << y0 + h + 36
    << "\" font-size=\"12\" text-anchor=\"middle\">epoch</text>\n";
  s << "<text class=\"axis-label\" x=\"" << x0 - 48 << "\" y=\"" << y0 + h / 2
    << "\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 " << x0 - 48 << " " << y0 + h / 2 << ")\">"
    << xmlEscape(ylabel) << "</text>\n";
  if (empty)
    s << "<text x=\"" << x0 + w / 2 << "\" y=\"" << y0 + h / 2
      << "\" font-size=\"12\" text-anchor=\"middle\" fill=\"#999\">no " << xmlEscape(ylabel) << " for this loss</text>\n";
  // The curves: a polyline and a marker per epoch.
  for (const Series &se : series) {
    std::ostringstream pts;
    int count = 0;
    for (size_t i = 0; i < se.y.size() && i < epochs.size(); ++i) {
      if (!std::isfinite(se.y[i])) continue;
      pts << (count++ ? " " : "") << px(epochs[i]) << "," << py(se.y[i]);
    }
    if (count == 0) continue;
    s << "<polyline class=\"" << se.cls << "\" fill=\"none\" stroke=\"" << se.color << "\" stroke-width=\"2\""
      << (se.dashed ? " stroke-dasharray=\"6 3\"" : "") << " points=\"" << pts.str() << "\"/>\n";
    for (size_t i = 0; i < se.y.size() && i < epochs.size(); ++i)
      if (std::isfinite(se.y[i]))
        s << "<circle class=\"" << se.cls << "\" cx=\"" << px(epochs[i]) << "\" cy=\"" << py(se.y[i])
          << "\" r=\"3\" fill=\"" << se.color << "\"><title>epoch " << epochs[i] << ": " << num(se.y[i])
          << "</title></circle>\n";
  }
  // Legend (top right, or bottom right where curves rise, inside the plot area).
  s << "<g class=\"legend\" font-size=\"11\">\n";
  const double boxH = 16.0 * series.size() + 6;
  const double boxY = legendBottom ? y0 + h - boxH - 4 : y0 + 4;
  s << "<rect x=\"" << x0 + w - 116 << "\" y=\"" << boxY << "\" width=\"110\" height=\"" << boxH
    << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n";
  double ly = boxY + 16;
  for (const Series &se : series) {
    const double lx = x0 + w - 110;
    s << "<line x1=\"" << lx << "\" y1=\"" << ly - 4 << "\" x2=\"" << lx + 20 << "\" y2=\"" << ly - 4
      << "\" stroke=\"" << se.color << "\" stroke-width=\"2\"" << (se.dashed ? " stroke-dasharray=\"6 3\"" : "")
      << "/>";
    s << "<text x=\"" << lx + 26 << "\" y=\"" << ly << "\">" << xmlEscape(se.label) << "</text>\n";
    ly += 16;
  }
  s << "</g>\n</g>\n";
}

}  // namespace

std::string learningCurveCsv(const std::vector<EpochStats> &history) {
  std::string out = "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n";
  for (const EpochStats &e : history) {
    out += std::to_string(e.epoch) + "," + num(e.trainLoss) + "," + num(e.trainAccuracy) + "," +
           num(e.validationLoss) + "," + num(e.validationAccuracy) + "," + num(e.learningRate) + "," +
           num(e.seconds, "%.3f") + "\n";
  }
  return out;
}

std::string learningCurveSvg(const std::vector<EpochStats> &history, const std::string &title) {
  std::vector<int> epochs;
  Series trainLoss{"train-loss", "train", "#1f77b4", {}, false}, valLoss{"val-loss", "validation", "#ff7f0e", {}, true};
  Series trainAcc{"train-acc", "train", "#1f77b4", {}, false}, valAcc{"val-acc", "validation", "#ff7f0e", {}, true};
  bool anyVal = false;
  for (const EpochStats &e : history) {
    epochs.push_back(e.epoch);
    trainLoss.y.push_back(e.trainLoss);
    valLoss.y.push_back(e.validationLoss);
    trainAcc.y.push_back(e.trainAccuracy);
    valAcc.y.push_back(e.validationAccuracy);
    anyVal = anyVal || !std::isnan(e.validationLoss);
  }
  const double W = 900, H = 380;
  std::ostringstream s;
  s.precision(6);
  s << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
    << " " << H << "\" font-family=\"sans-serif\">\n";
  s << "<rect width=\"" << W << "\" height=\"" << H << "\" fill=\"white\"/>\n";
  s << "<text x=\"" << W / 2 << "\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">"
    << xmlEscape(title.empty() ? std::string("learning curves") : title + ": learning curves") << "</text>\n";
  std::vector<Series> loss{trainLoss}, acc{trainAcc};
  if (anyVal) loss.push_back(valLoss), acc.push_back(valAcc);
  panel(s, 75, 50, 350, 270, "loss", false, false, epochs, loss);
  panel(s, 525, 50, 350, 270, "accuracy", true, true, epochs, acc);
  s << "</svg>\n";
  return s.str();
}

void writeLearningCurveCsv(const std::string &path, const std::vector<EpochStats> &history) {
  writeOrThrow(path, learningCurveCsv(history));
}

void writeLearningCurveSvg(const std::string &path, const std::vector<EpochStats> &history, const std::string &title) {
  writeOrThrow(path, learningCurveSvg(history, title));
}

}  // namespace trainer
}  // namespace nncc
