// Location: where an IR entity came from in the user's model (file, JSON path,
// layer name), in the spirit of MLIR's Location. Every op carries one so that
// any stage can report an error at the user's place.
#pragma once
#include <string>

namespace nncc {

struct Location {
  std::string file;       // the model file as the user named it
  std::string jsonPath;   // e.g. "layers[3].kernel"; empty for the whole file
  std::string layerName;  // e.g. "conv2"; empty when not inside a layer

  Location() = default;
  Location(std::string f, std::string p, std::string l = "")
      : file(std::move(f)), jsonPath(std::move(p)), layerName(std::move(l)) {}

  // A location for a member of this one: child("kernel") or child(3).
  Location child(const std::string &key) const;
  Location child(size_t index) const;

  // "FILE: PATH (LAYER)", the prefix of every diagnostic.
  std::string str() const;
};

}  // namespace nncc
