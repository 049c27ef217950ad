#!/usr/bin/env python3
"""Writes examples/xor.safetensors (hand-chosen weights that compute XOR with
the 2-2-1 sigmoid network of xor.json) and examples/data/xor_inputs.npy (the
four rows of the truth table). Standard library only.

hidden_0 = sigmoid(20 x0 + 20 x1 - 10)   ~ x0 OR x1
hidden_1 = sigmoid(-20 x0 - 20 x1 + 30)  ~ NOT (x0 AND x1)
out      = sigmoid(20 h0 + 20 h1 - 30)   ~ h0 AND h1 = x0 XOR x1
"""
import os, struct

from safetensors_file import write_safetensors

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)

tensors = {
    "hidden.weight": ([2, 2], [20.0, 20.0, -20.0, -20.0]),
    "hidden.bias": ([2], [-10.0, 30.0]),
    "out.weight": ([1, 2], [20.0, 20.0]),
    "out.bias": ([1], [-30.0]),
}
write_safetensors(os.path.join(root, "xor.safetensors"), tensors)

# NPY v1.0: magic, version, header length, a dict literal padded to 64 bytes.
rows = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]
d = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }"
pad = 64 - (10 + len(d) + 1) % 64
hdr = (d + " " * pad + "\n").encode()
with open(os.path.join(root, "data", "xor_inputs.npy"), "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + struct.pack("<8f", *rows))
