// The safetensors reader (strict: every malformed header entry, truncated,
// overlapping or uncovered data is an error naming the tensor) and writer,
// on top of nlohmann/json.
#include "compiler/weights/Safetensors.h"

#include "runtime/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <tuple>
#include <vector>

namespace nncc {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// At most 2^60 elements: the byte count 4 * numel fits in uint64_t and int64_t.
constexpr uint64_t kMaxElements = uint64_t(1) << 60;

// Objects and lists nest at most this deep in a valid header: the header
// (depth 0), an entry (1), its shape (2). Deeper values are discarded while
// parsing, so that a hostile header cannot build a deep document.
constexpr int kMaxNesting = 2;

std::string range(uint64_t begin, uint64_t end, const char *close = ")") {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + close;
}

std::string shapeText(const std::vector<int64_t> &s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// A JSON value for a message: "[2, -1]" for lists, compact otherwise, cut at
// 60 characters.
std::string excerpt(const json &j) {
  std::string s;
  if (j.is_array()) {
    s = "[";
    for (size_t i = 0; i < j.size() && s.size() < 60; ++i) s += (i ? ", " : "") + j[i].dump();
    s += "]";
  } else {
    s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

std::string whatOf(const json::exception &e) {
  // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
  std::string s = e.what();
  size_t p = s.find("] ");
  return p == std::string::npos ? s : s.substr(p + 2);
}

// A header entry whose form has been checked.
struct Entry {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

// Checks one entry {"dtype", "shape", "data_offsets"}, reporting every
// problem; true when `e` is filled and consistent.
bool checkEntry(const std::string &name, const json &j, const std::string &file, Diagnostics &d, Entry &e) {
  Location loc(file, name);
  e.name = name;
  if (!j.is_object()) {
    d.error(loc, std::string("the header entry must be an object, not ") + j.type_name());
    return false;
  }
  bool ok = true;
  for (const auto &item : j.items()) {
    if (item.key() != "dtype" && item.key() != "shape" && item.key() != "data_offsets") {
      d.error(loc, "unknown key '" + item.key() + "' in the header entry (it has dtype, shape and data_offsets)");
      ok = false;
    }
  }
  std::string missing;
  for (const char *key : {"dtype", "shape", "data_offsets"})
    if (!j.contains(key)) missing += (missing.empty() ? "" : ", ") + std::string(key);
  if (!missing.empty()) {
    d.error(loc, "the header entry lacks " + missing);
    ok = false;
  }

  bool dtypeOk = false;
  if (auto it = j.find("dtype"); it != j.end()) {
    if (!it->is_string())
      d.error(loc, std::string("dtype must be a string, not ") + it->type_name());
    else if (it->get<std::string>() != "F32")
      d.error(loc, "dtype " + it->get<std::string>() + " is not supported: nncc reads F32 tensors only");
    else
      dtypeOk = true;
  }

  bool shapeOk = false;
  uint64_t numel = 1;
  if (auto it = j.find("shape"); it != j.end()) {
    if (!it->is_array()) {
      d.error(loc, std::string("shape must be a list of integers, not ") + it->type_name());
    } else {
      shapeOk = true;
      for (const json &dim : *it) {
        if (dim.is_number_integer() && !dim.is_number_unsigned()) {  // nlohmann keeps >= 0 as unsigned
          d.error(loc, "shape " + excerpt(*it) + " has a negative dimension");
          shapeOk = false;
          break;
        }
        if (!dim.is_number_unsigned()) {
          d.error(loc, "shape " + excerpt(*it) + " must be a list of integers");
          shapeOk = false;
          break;
        }
        uint64_t v = dim.get<uint64_t>();
        if (v > kMaxElements || (v != 0 && numel > kMaxElements / v)) {
          d.error(loc, "shape " + excerpt(*it) + " has too many elements");
          shapeOk = false;
          break;
        }
        numel *= v;
        e.shape.push_back(static_cast<int64_t>(v));
      }
    }
  }

  bool offsetsOk = false;
  if (auto it = j.find("data_offsets"); it != j.end()) {
    if (!it->is_array() || it->size() != 2 || !(*it)[0].is_number_unsigned() || !(*it)[1].is_number_unsigned()) {
      d.error(loc, "data_offsets must be [begin, end], two non-negative integers, not " + excerpt(*it));
    } else {
      e.begin = (*it)[0].get<uint64_t>();
      e.end = (*it)[1].get<uint64_t>();
      if (e.end < e.begin)
        d.error(loc, "data_offsets " + range(e.begin, e.end, "]") + " end before they begin");
      else
        offsetsOk = true;
    }
  }

  if (dtypeOk && shapeOk && offsetsOk && e.end - e.begin != numel * 4) {
    d.error(loc, "data_offsets " + range(e.begin, e.end, "]") + " hold " + std::to_string(e.end - e.begin) +
                     " bytes, but shape " + shapeText(e.shape) + " of F32 needs " + std::to_string(numel * 4));
    return false;
  }
  return ok && dtypeOk && shapeOk && offsetsOk;
}

uint64_t readLE64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses the header, reporting keys that appear twice in one object (which
// nlohmann would silently collapse to the last one) and values nested deeper
// than a header can be; the tensors so named go to `reported`. False after a
// syntax error.
bool parseHeader(const std::string &text, const std::string &file, json &header, std::set<std::string> &reported,
                 Diagnostics &d) {
  std::vector<std::set<std::string>> keysAt;  // keys seen in the object at each depth
  std::vector<std::string> keyAt;             // the current key at each depth
  std::vector<std::string> duplicates;        // messages, reported after a successful parse
  std::vector<Location> duplicateLocs;
  std::set<std::string> tooDeep;  // tensors with too deeply nested values
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json &parsed) {
    size_t dep = static_cast<size_t>(depth);
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth > kMaxNesting) {
          tooDeep.insert(keyAt.empty() ? std::string() : keyAt[0]);
          return false;  // discard it and everything inside
        }
        if (keysAt.size() < dep + 1) keysAt.resize(dep + 1);
        if (keyAt.size() < dep + 1) keyAt.resize(dep + 1);
        keysAt[dep].clear();
        return true;
      case json::parse_event_t::key: {
        // A key at depth D belongs to the object at depth D - 1.
        if (depth < 1 || depth > kMaxNesting + 1 || keysAt.size() < dep) return true;
        const std::string key = parsed.get<std::string>();
        keyAt[dep - 1] = key;
        if (!keysAt[dep - 1].insert(key).second) {
          if (depth == 1) {
            duplicateLocs.emplace_back(file, key);
            duplicates.push_back("appears twice in the header");
          } else {
            duplicateLocs.emplace_back(file, keyAt[0]);
            duplicates.push_back("key '" + key + "' appears twice" +
                                 (keyAt[0] == "__metadata__" ? std::string() : " in the header entry"));
          }
        }
        return true;
      }
      default:
        return true;
    }
  };
  try {
    header = json::parse(text, cb);
  } catch (const json::exception &e) {
    d.error(Location(file, ""), "the header is not valid JSON: " + whatOf(e));
    return false;
  }
  for (size_t i = 0; i < duplicates.size(); ++i) {
    d.error(duplicateLocs[i], duplicates[i]);
    reported.insert(duplicateLocs[i].jsonPath);
  }
  for (const std::string &name : tooDeep) {
    d.error(Location(file, name), "the header entry nests lists or objects too deeply");
    reported.insert(name);
  }
  return true;
}

}  // namespace

bool readSafetensorsFromMemory(const std::string &bytes, const std::string &file, TensorMap &out, Diagnostics &d,
                               SafetensorsMetadata *metadata) {
  const size_t before = d.errorCount();
  const Location whole(file, "");
  if (bytes.size() < 8) {
    d.error(whole, "not a safetensors file: " + std::to_string(bytes.size()) +
                       " bytes, shorter than the 8-byte header length");
    return false;
  }
  const uint64_t n = readLE64(reinterpret_cast<const unsigned char *>(bytes.data()));
  if (n > kMaxSafetensorsHeader) {
    d.error(whole, "header length " + std::to_string(n) + " is over the 100 MB limit");
    return false;
  }
  if (n > bytes.size() - 8) {
    d.error(whole, "header length " + std::to_string(n) + " goes beyond the end of the file (" +
                       std::to_string(bytes.size()) + " bytes): the file is truncated or not safetensors");
    return false;
  }
  json header;
  std::set<std::string> reported;  // tensors parseHeader named: not checked again
  if (!parseHeader(bytes.substr(8, n), file, header, reported, d)) return false;
  if (!header.is_object()) {
    d.error(whole, std::string("the header must be a JSON object, not ") + header.type_name());
    return false;
  }

  const uint64_t dataSize = bytes.size() - 8 - n;
  std::vector<Entry> entries;
  SafetensorsMetadata meta;
  for (const auto &item : header.items()) {
    const std::string &name = item.key();
    if (name == "__metadata__") {
      Location loc(file, name);
      if (!item.value().is_object()) {
        d.error(loc, std::string("must be an object of strings, not ") + item.value().type_name());
        continue;
      }
      for (const auto &kv : item.value().items()) {
        if (kv.value().is_string())
          meta[kv.key()] = kv.value().get<std::string>();
        else
          d.error(loc, "must be an object of strings: '" + kv.key() + "' is " + kv.value().type_name());
      }
      continue;
    }
    if (name.empty()) {
      d.error(whole, "a tensor in the header has an empty name");
      continue;
    }
    if (reported.count(name)) continue;
    Entry e;
    if (!checkEntry(name, item.value(), file, d, e)) continue;
    if (e.end > dataSize) {
      d.error(Location(file, name), "data " + range(e.begin, e.end) + " is beyond the end of the data (" +
                                        std::to_string(dataSize) + " bytes): the file is truncated");
      continue;
    }
    entries.push_back(std::move(e));
  }
  // The tensors must tile the data section, without overlap or holes (checked
  // only when every entry is sound, so that a broken one does not leave a
  // spurious hole).
  if (d.errorCount() != before) return false;
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  uint64_t covered = 0;
  const Entry *last = nullptr;  // the entry that reaches `covered`
  for (const Entry &e : entries) {
    if (e.begin < covered)
      d.error(Location(file, e.name), "data " + range(e.begin, e.end) + " overlaps the data of " + last->name + " " +
                                          range(last->begin, last->end));
    else if (e.begin > covered)
      d.error(Location(file, e.name),
              "bytes " + range(covered, e.begin) + " before this tensor's data belong to no tensor");
    if (!last || e.end > covered) {
      covered = std::max(covered, e.end);
      last = &e;
    }
  }
  if (covered < dataSize)
    d.error(whole, std::to_string(dataSize - covered) + " bytes at the end of the data belong to no tensor");
  if (d.errorCount() != before) return false;

  const unsigned char *data = reinterpret_cast<const unsigned char *>(bytes.data()) + 8 + n;
  for (const Entry &e : entries) {
    TensorF32 t;
    t.shape = e.shape;
    t.data.resize(static_cast<size_t>((e.end - e.begin) / 4));
    for (size_t i = 0; i < t.data.size(); ++i) {
      const unsigned char *p = data + e.begin + 4 * i;
      uint32_t bits = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
      std::memcpy(&t.data[i], &bits, 4);
    }
    out[e.name] = std::move(t);
  }
  if (metadata) *metadata = std::move(meta);
  return true;
}

bool readSafetensors(const std::string &path, TensorMap &out, Diagnostics &d, SafetensorsMetadata *metadata) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    d.error(Location(path, ""), std::string("cannot open the weights file: ") + std::strerror(errno));
    return false;
  }
  std::string bytes;
  char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, f)) > 0) bytes.append(buffer, got);
  bool failed = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  if (failed) {
    d.error(Location(path, ""), std::string("cannot read the weights file: ") + std::strerror(err));
    return false;
  }
  return readSafetensorsFromMemory(bytes, path, out, d, metadata);
}

bool serializeSafetensors(const TensorMap &tensors, const SafetensorsMetadata &metadata, std::string &bytes,
                          std::string &error) {
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto &[name, t] : tensors) {
    if (name.empty() || name == "__metadata__") {
      error = "cannot write a tensor named '" + name + "'";
      return false;
    }
    uint64_t numel = 1;
    for (int64_t dim : t.shape) {
      if (dim < 0) {
        error = "tensor '" + name + "': shape " + shapeText(t.shape) + " has a negative dimension";
        return false;
      }
      numel = dim != 0 && numel > kMaxElements / static_cast<uint64_t>(dim) ? kMaxElements + 1
                                                                             : numel * static_cast<uint64_t>(dim);
    }
    if (numel != t.data.size()) {
      error = "tensor '" + name + "' has " + std::to_string(t.data.size()) + " values, but its shape " +
              shapeText(t.shape) + " needs " + std::to_string(numel);
      return false;
    }
    const uint64_t size = numel * 4;
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string h;
  try {
    h = header.dump();
  } catch (const json::exception &) {
    error = "a tensor name or metadata string is not valid UTF-8";
    return false;
  }
  h.append((8 - h.size() % 8) % 8, ' ');  // as the reference library: the data starts 8-byte aligned
  bytes.assign(8, '\0');
  const uint64_t n = h.size();
  for (size_t i = 0; i < 8; ++i) bytes[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  bytes.reserve(8 + h.size() + offset);
  bytes += h;
  for (const auto &[name, t] : tensors) {
    for (float f : t.data) {
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
    }
  }
  return true;
}

bool writeSafetensors(const std::string &path, const TensorMap &tensors, std::string &error,
                      const SafetensorsMetadata &metadata) {
  std::string bytes;
  if (!serializeSafetensors(tensors, metadata, bytes, error)) return false;
  return writeFileAtomically(path, bytes, error);
}

}  // namespace nncc
