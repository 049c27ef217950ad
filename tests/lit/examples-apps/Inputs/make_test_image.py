"""Writes a 256x256 grayscale PNG: background 100 with one pixel of 120 at
(row 128, col 128) and a 200 square on rows/cols 32..63."""
import sys
from png import write_gray

rows = [[100] * 256 for _ in range(256)]
rows[128][128] = 120
for y in range(32, 64):
    for x in range(32, 64):
        rows[y][x] = 200
write_gray(sys.argv[1], rows)
