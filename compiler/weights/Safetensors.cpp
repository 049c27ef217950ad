// The safetensors reader and writer, on top of nlohmann/json.
#include "compiler/weights/Safetensors.h"

#include "runtime/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace nncc {
namespace {

using json = nlohmann::json;

std::string shapeText(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// A header entry checked for form; `ok` false when it was reported.
struct Entry {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
  bool ok = false;
};

Entry checkEntry(const std::string &name, const json &j, const std::string &file, Diagnostics &d) {
  Entry e;
  e.name = name;
  Location loc(file, name);
  if (!j.is_object()) {
    d.error(loc, "header entry must be an object");
    return e;
  }
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "dtype" && it.key() != "shape" && it.key() != "data_offsets") {
      d.error(loc, "unknown key '" + it.key() + "' in the header entry");
      return e;
    }
  auto dtype = j.find("dtype");
  auto shape = j.find("shape");
  auto offsets = j.find("data_offsets");
  if (dtype == j.end() || shape == j.end() || offsets == j.end()) {
    d.error(loc, "header entry needs dtype, shape and data_offsets");
    return e;
  }
  if (!dtype->is_string()) {
    d.error(loc, "dtype must be a string");
    return e;
  }
  if (*dtype != "F32") {
    d.error(loc, "dtype " + dtype->get<std::string>() + " is not supported (nncc reads F32)");
    return e;
  }
  if (!shape->is_array()) {
    d.error(loc, "shape must be a list of integers");
    return e;
  }
  uint64_t numel = 1;
  for (const auto &dim : *shape) {
    if (!dim.is_number_unsigned() && !(dim.is_number_integer() && dim.get<int64_t>() >= 0)) {
      d.error(loc, "shape must be a list of non-negative integers");
      return e;
    }
    uint64_t v = dim.get<uint64_t>();
    if (v != 0 && numel > (uint64_t(1) << 62) / v) {
      d.error(loc, "shape " + shape->dump() + " is too large");
      return e;
    }
    numel *= v;
    e.shape.push_back(static_cast<int64_t>(v));
  }
  if (!offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned()) {
    d.error(loc, "data_offsets must be [begin, end] with non-negative integers");
    return e;
  }
  e.begin = (*offsets)[0].get<uint64_t>();
  e.end = (*offsets)[1].get<uint64_t>();
  if (e.end < e.begin || e.end - e.begin != numel * 4) {
    d.error(loc, "data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] hold " +
                     std::to_string(e.end >= e.begin ? e.end - e.begin : 0) + " bytes, but shape " +
                     shapeText(e.shape) + " of F32 needs " + std::to_string(numel * 4));
    return e;
  }
  e.ok = true;
  return e;
}

uint64_t readLE64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

bool readSafetensorsFromMemory(const std::string &bytes, const std::string &file, TensorMap &out, Diagnostics &d) {
  size_t before = d.errorCount();
  Location whole(file, "");
  if (bytes.size() < 8) {
    d.error(whole, "not a safetensors file: " + std::to_string(bytes.size()) + " bytes, shorter than the 8-byte header length");
    return false;
  }
  uint64_t n = readLE64(reinterpret_cast<const unsigned char *>(bytes.data()));
  if (n > kMaxSafetensorsHeader) {
    d.error(whole, "header length " + std::to_string(n) + " is over the 100 MB limit");
    return false;
  }
  if (n > bytes.size() - 8) {
    d.error(whole, "header length " + std::to_string(n) + " goes beyond the end of the file (" +
                       std::to_string(bytes.size()) + " bytes)");
    return false;
  }
  std::string headerText = bytes.substr(8, n);
  // Duplicate keys would silently drop a tensor: refuse them.
  std::set<std::string> dupes;
  std::vector<std::set<std::string>> keyStack;
  json::parser_callback_t cb = [&](int, json::parse_event_t ev, json &parsed) {
    if (ev == json::parse_event_t::object_start) keyStack.emplace_back();
    if (ev == json::parse_event_t::object_end) keyStack.pop_back();
    if (ev == json::parse_event_t::key && !keyStack.empty() && !keyStack.back().insert(parsed.get<std::string>()).second)
      dupes.insert(parsed.get<std::string>());
    return true;
  };
  json header;
  try {
    header = json::parse(headerText, cb);
  } catch (const json::exception &e) {
    d.error(whole, std::string("the header is not valid JSON: ") + e.what());
    return false;
  }
  for (const auto &k : dupes) d.error(Location(file, k), "appears twice in the header");
  if (!header.is_object()) {
    d.error(whole, "the header must be a JSON object");
    return false;
  }
  const uint64_t dataSize = bytes.size() - 8 - n;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      bool ok = it->is_object();
      if (ok)
        for (const auto &v : *it) ok &= v.is_string();
      if (!ok) d.error(Location(file, "__metadata__"), "must be an object of strings");
      continue;
    }
    Entry e = checkEntry(it.key(), it.value(), file, d);
    if (!e.ok) continue;
    if (e.end > dataSize) {
      d.error(Location(file, e.name), "data [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                                          ") is beyond the end of the data (" + std::to_string(dataSize) +
                                          " bytes): the file is truncated");
      continue;
    }
    entries.push_back(e);
  }
  // The tensors must tile the data section without overlap or holes.
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) { return a.begin < b.begin; });
  uint64_t expected = 0;
  for (const Entry &e : entries) {
    if (e.begin < expected)
      d.error(Location(file, e.name), "data [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                                          ") overlaps another tensor's");
    else if (e.begin > expected && e.begin != e.end)
      d.error(Location(file, e.name), "bytes [" + std::to_string(expected) + ", " + std::to_string(e.begin) +
                                          ") before this tensor belong to no tensor");
    expected = std::max(expected, e.end);
  }
  if (d.errorCount() == before && expected != dataSize)
    d.error(whole, std::to_string(dataSize - expected) + " bytes at the end of the data belong to no tensor");
  if (d.errorCount() != before) return false;
  const char *data = bytes.data() + 8 + n;
  for (const Entry &e : entries) {
    TensorF32 t;
    t.shape = e.shape;
    t.data.resize((e.end - e.begin) / 4);
    for (size_t i = 0; i < t.data.size(); ++i) {
      const unsigned char *p = reinterpret_cast<const unsigned char *>(data + e.begin + 4 * i);
      uint32_t bits = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
      std::memcpy(&t.data[i], &bits, 4);
    }
    out[e.name] = std::move(t);
  }
  return true;
}

bool readSafetensors(const std::string &path, TensorMap &out, Diagnostics &d) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    d.error(Location(path, ""), "cannot open the weights file");
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return readSafetensorsFromMemory(ss.str(), path, out, d);
}

std::string serializeSafetensors(const TensorMap &tensors, const std::map<std::string, std::string> &metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto &[name, t] : tensors) {
    uint64_t size = t.data.size() * 4;
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += h;
  out.reserve(out.size() + offset);
  for (const auto &[name, t] : tensors) {
    for (float f : t.data) {
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
    }
  }
  return out;
}

bool writeSafetensors(const std::string &path, const TensorMap &tensors, std::string &error,
                      const std::map<std::string, std::string> &metadata) {
  return writeFileAtomically(path, serializeSafetensors(tensors, metadata), error);
}

}  // namespace nncc
