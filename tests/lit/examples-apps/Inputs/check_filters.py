"""Checks edges.png, sharpen.png and blur.png in DIR for the image of
make_test_image.py, with values worked out by hand (inputs v/255, outputs
clamped to [0,1] and rounded to 8 bits; "same" padding pads with zeros)."""
import os, sys
from png import read_gray

d = sys.argv[1]
edges, sharpen, blur = (read_gray(os.path.join(d, n + ".png")) for n in ("edges", "sharpen", "blur"))
for img in (edges, sharpen, blur):
    assert len(img) == 256 and all(len(r) == 256 for r in img)

def flat(y, x):  # far from the square, the spike and the border
    return not (29 <= y <= 66 and 29 <= x <= 66) and not (126 <= y <= 130 and 126 <= x <= 130) \
        and 0 < y < 255 and 0 < x < 255

n = 0
for y in range(256):
    for x in range(256):
        if flat(y, x):
            assert edges[y][x] == 0, ("edges", y, x, edges[y][x])   # 8*100 - 8*100
            assert sharpen[y][x] == 100, ("sharpen", y, x, sharpen[y][x])
            assert blur[y][x] == 100, ("blur", y, x, blur[y][x])
            n += 1

expect = {
    # the spike: 120 among 100s
    ("edges", 128, 128): 160,    # 8*120 - 8*100
    ("sharpen", 128, 128): 200,  # 5*120 - 4*100
    ("blur", 128, 128): 105,     # 100 + 4*20/16
    ("edges", 128, 129): 0,      # 800 - 120 - 700 = -20, clamped
    ("sharpen", 128, 129): 80,   # 500 - 120 - 300
    ("blur", 127, 127): 101,     # 100 + 20/16 = 101.25
    ("sharpen", 127, 127): 100,  # the spike is on a zero tap
    # the corner of the 200 square (row 32, col 32) and just outside it
    ("edges", 32, 32): 255,      # 8*200 - (3*200 + 5*100) = 500, clamped
    ("blur", 32, 32): 156,       # (4*200 + 2*2*200 + 200 + 2*2*100 + 3*100)/16 = 156.25
    ("blur", 31, 31): 106,       # (15*100 + 200)/16 = 106.25
    ("sharpen", 31, 32): 0,      # 500 - 200 - 300 = 0
    # the top-left corner: zero padding outside the image
    ("edges", 0, 0): 255,        # 800 - 300 = 500
    ("sharpen", 0, 0): 255,      # 500 - 200 = 300
    ("blur", 0, 0): 56,          # (4 + 2 + 2 + 1)*100/16 = 56.25
    ("blur", 0, 128): 75,        # 12*100/16 = 75
}
imgs = {"edges": edges, "sharpen": sharpen, "blur": blur}
for (name, y, x), v in expect.items():
    assert imgs[name][y][x] == v, (name, y, x, imgs[name][y][x], v)
print("flat pixels ok: %d, hand-computed pixels ok: %d" % (n, len(expect)))
