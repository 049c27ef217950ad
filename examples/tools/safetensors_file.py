"""Writes a safetensors file of float32 tensors with the Python standard
library only (the examples' weight generators share it)."""
import json
import struct


def write_safetensors(path, tensors):
    """tensors: {name: (shape, flat list of floats)}; names in sorted order,
    header padded with spaces to a multiple of 8 bytes."""
    header, data = {}, b""
    for name in sorted(tensors):
        shape, values = tensors[name]
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)
