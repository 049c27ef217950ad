// The autotuner's cache file (docs/schedules.md, "Autotuning"): the winning
// ScheduleChoice of each kernel, keyed by the Halide target string and the
// kernel's kernelKey, with the times measured. JSON:
//   {"format": "nncc-autotune-1",
//    "entries": [{"target": "...", "kernel": "...", "conv_vectors": 2,
//                 "conv_cols": 6, "ms": 1.23, "default_ms": 1.31}, ...]}
#pragma once
#include "compiler/lower/Lowering.h"

#include <map>
#include <memory>
#include <string>

namespace nncc {

struct TuneRecord {
  ScheduleChoice choice;
  double ms = 0, defaultMs = 0;  // the winner's time and the untuned choice's
};

class TuneCache {
 public:
  // Reads `path`; a missing file is an empty cache. false, with `error`, for
  // a file that exists but is not a cache.
  bool load(const std::string &path, std::string &error);
  // Writes the cache atomically.
  bool save(const std::string &path, std::string &error) const;

  const TuneRecord *find(const std::string &target, const std::string &kernel) const;
  void put(const std::string &target, const std::string &kernel, const TuneRecord &r);
  // The choices for `target`, by kernelKey (LowerOptions::choices).
  std::shared_ptr<const ScheduleChoices> choicesFor(const std::string &target) const;
  size_t size() const { return records_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, TuneRecord> records_;
};

// The default cache path: $NNCC_TUNE_CACHE, else $XDG_CACHE_HOME/nncc/autotune.json,
// else $HOME/.cache/nncc/autotune.json.
std::string defaultTuneCachePath();

}  // namespace nncc
