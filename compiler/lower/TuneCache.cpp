// The autotuner's cache file: reading, writing (atomically) and lookup.
#include "compiler/lower/TuneCache.h"

#include "runtime/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace nncc {

namespace {
constexpr const char *kFormat = "nncc-autotune-1";
}

bool TuneCache::load(const std::string &path, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return true;  // no cache yet
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("format", std::string()) != kFormat ||
      !j.contains("entries") || !j["entries"].is_array()) {
    error = path + ": not an nncc autotune cache (expected {\"format\": \"" + kFormat + "\", \"entries\": [...]})";
    return false;
  }
  size_t index = 0;
  for (const nlohmann::json &e : j["entries"]) {
    auto bad = [&](const char *what) {
      error = path + ": entries[" + std::to_string(index) + "]: " + what;
      return false;
    };
    if (!e.is_object()) return bad("not an object");
    if (!e.contains("target") || !e["target"].is_string()) return bad("\"target\" must be a string");
    if (!e.contains("kernel") || !e["kernel"].is_string()) return bad("\"kernel\" must be a string");
    TuneRecord r;
    for (const char *k : {"conv_vectors", "conv_cols"})
      if (!e.contains(k) || !e[k].is_number_integer() || e[k].get<int64_t>() < 0 || e[k].get<int64_t>() > 64)
        return bad("\"conv_vectors\" and \"conv_cols\" must be integers in 0..64");
    r.choice.convVectors = e["conv_vectors"].get<int>();
    r.choice.convCols = e["conv_cols"].get<int>();
    r.ms = e.value("ms", 0.0);
    r.defaultMs = e.value("default_ms", 0.0);
    records_[{e["target"].get<std::string>(), e["kernel"].get<std::string>()}] = r;
    ++index;
  }
  return true;
}

bool TuneCache::save(const std::string &path, std::string &error) const {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto &kv : records_) {
    const TuneRecord &r = kv.second;
    entries.push_back({{"target", kv.first.first},
                       {"kernel", kv.first.second},
                       {"conv_vectors", r.choice.convVectors},
                       {"conv_cols", r.choice.convCols},
                       {"ms", r.ms},
                       {"default_ms", r.defaultMs}});
  }
  nlohmann::json j = {{"format", kFormat}, {"entries", entries}};
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create " + dir.string() + ": " + ec.message();
    return false;
  }
  return writeFileAtomically(path, j.dump(1) + "\n", error);
}

const TuneRecord *TuneCache::find(const std::string &target, const std::string &kernel) const {
  auto it = records_.find({target, kernel});
  return it == records_.end() ? nullptr : &it->second;
}

void TuneCache::put(const std::string &target, const std::string &kernel, const TuneRecord &r) {
  records_[{target, kernel}] = r;
}

std::shared_ptr<const ScheduleChoices> TuneCache::choicesFor(const std::string &target) const {
  auto choices = std::make_shared<ScheduleChoices>();
  for (const auto &kv : records_)
    if (kv.first.first == target) (*choices)[kv.first.second] = kv.second.choice;
  return choices;
}

std::string defaultTuneCachePath() {
  if (const char *p = std::getenv("NNCC_TUNE_CACHE"); p && *p) return p;
  if (const char *x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/nncc/autotune.json";
  if (const char *h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/nncc/autotune.json";
  return ".nncc-autotune.json";
}

}  // namespace nncc
