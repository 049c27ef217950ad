#!/usr/bin/env python3
"""write_safetensors.py OUT NAME=SHAPE:VALUES ... : a float32 safetensors file.
SHAPE is e.g. 2x3 (or "scalar"); VALUES a comma list of floats, nan, inf, -inf
(one value is repeated to fill the tensor)."""
import json, struct, sys

out, specs = sys.argv[1], sys.argv[2:]
header, data = {}, b""
for spec in specs:
    name, rest = spec.split("=", 1)
    shape_s, values_s = rest.split(":", 1)
    shape = [] if shape_s == "scalar" else [int(d) for d in shape_s.split("x")]
    n = 1
    for d in shape:
        n *= d
    values = [float(v) for v in values_s.split(",")]
    if len(values) == 1:
        values = values * n
    assert len(values) == n, (name, len(values), n)
    blob = struct.pack("<%df" % n, *values)
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
    data += blob
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + data)
