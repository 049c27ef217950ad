"""Writes an IDX3 file of 3 unsigned-byte 28x28 images (as Fashion-MNIST's),
and a gzip-compressed copy beside it (PATH.gz)."""
import gzip, struct, sys

images = []
for k in range(3):
    images += [(x * 9 + y * 5 + k * 80) % 256 if (x + y + k) % 3 else 0 for y in range(28) for x in range(28)]
data = struct.pack(">IIII", 0x00000803, 3, 28, 28) + bytes(images)
open(sys.argv[1], "wb").write(data)
open(sys.argv[1] + ".gz", "wb").write(gzip.compress(data))
