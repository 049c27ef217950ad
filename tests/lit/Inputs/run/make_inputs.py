#!/usr/bin/env python3
# Regenerates the small binary inputs of the nncc-run lit tests (tests/lit/run/)
# without NumPy: NPY files (float32/int32, plus deliberately broken ones) and
# safetensors weights. Run it from this folder; the outputs are checked in.
import json
import struct


def npy(path, shape, values, descr="<f4", fortran=False, major=1, raw=None):
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (descr, fortran, dims)
    prefix = 10 if major == 1 else 12
    header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64) + "\n"
    fmt = "<%d%s" % (len(values), "i" if descr == "<i4" else "f")
    data = raw if raw is not None else struct.pack(fmt, *values)
    size = struct.pack("<H", len(header)) if major == 1 else struct.pack("<I", len(header))
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY" + bytes([major, 0]) + size + header.encode("latin1") + data)


def safetensors(path, tensors):
    header, data = {}, b""
    for name, (shape, values) in tensors.items():
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text.encode() + data)


IMAGE = [1, 2, 0, 1, 3, 0, 1, 2, 3, 1, 2, 0, 1, 0, 2, 1, 3, 0, 2, 1, 0, 1, 2, 1, 0]

npy("xor_rows.npy", [4, 2], [0, 0, 0, 1, 1, 0, 1, 1])
npy("xor_row.npy", [2], [1, 0])  # one sample, no batch axis
npy("image.npy", [1, 5, 5], IMAGE)  # the per-sample shape alone: N = 1
npy("image_batch2.npy", [2, 1, 5, 5], IMAGE + [-v for v in IMAGE], major=2)
npy("wrong_shape.npy", [4, 3], list(range(12)))
npy("int32.npy", [4, 2], [0, 0, 0, 1, 1, 0, 1, 1], descr="<i4")
npy("fortran.npy", [4, 2], [0, 0, 0, 1, 1, 0, 1, 1], fortran=True)
npy("truncated.npy", [4, 2], [], raw=struct.pack("<5f", 0, 0, 0, 1, 1))
with open("not_npy.npy", "wb") as f:
    f.write(b"this is not an NPY file\n")

safetensors("xor.safetensors", {
    "hidden.weight": ([2, 2], [20, 20, -20, -20]),
    "hidden.bias": ([2], [-10, 30]),
    "out.weight": ([1, 2], [20, 20]),
    "out.bias": ([1], [-30]),
})
# The same network but NOR-like hidden units, to tell --weights from the model's file.
safetensors("xor_flipped.safetensors", {
    "hidden.weight": ([2, 2], [-20, -20, 20, 20]),
    "hidden.bias": ([2], [10, -30]),
    "out.weight": ([1, 2], [20, 20]),
    "out.bias": ([1], [-30]),
})
# Only the output layer: needs --partial-weights.
safetensors("xor_partial.safetensors", {
    "out.weight": ([1, 2], [0, 0]),
    "out.bias": ([1], [2]),
})
