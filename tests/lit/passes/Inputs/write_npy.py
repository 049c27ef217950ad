#!/usr/bin/env python3
"""write_npy.py OUT.npy D0,D1,... SEED: a float32 NPY v1.0 file of the given
shape with values in [-1, 1) from a small LCG (standard library only)."""
import struct, sys

out, dims, seed = sys.argv[1], [int(d) for d in sys.argv[2].split(",")], int(sys.argv[3])
n = 1
for d in dims:
    n *= d
state, vals = seed, []
for _ in range(n):
    state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
    vals.append(((state >> 40) / float(1 << 24)) * 2.0 - 1.0)
shape = "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
d = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % shape
hdr = (d + " " * (64 - (10 + len(d) + 1) % 64) + "\n").encode()
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + struct.pack("<%df" % n, *vals))
