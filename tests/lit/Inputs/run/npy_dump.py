#!/usr/bin/env python3
# Prints an NPY file's header dict and float32 values ("%.6g"), without NumPy:
# an independent reader for checking what nncc-run writes (tests/lit/run/).
import struct
import sys

data = open(sys.argv[1], "rb").read()
assert data[:6] == b"\x93NUMPY", "bad magic"
major = data[6]
n = struct.unpack("<H", data[8:10])[0] if major == 1 else struct.unpack("<I", data[8:12])[0]
start = (10 if major == 1 else 12) + n
print("version %d.%d data offset %d" % (major, data[7], start))
print(data[start - n:start].decode("latin1").strip())
values = struct.unpack("<%df" % ((len(data) - start) // 4), data[start:])
print(" ".join("%.6g" % v for v in values))
