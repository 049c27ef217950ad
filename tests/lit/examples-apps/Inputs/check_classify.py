"""Reads classify's output on stdin: N lines '<index> <class> <name> <p>' with
the indices 0..N-1, a class in 0..9 and a probability in (0,1]."""
import sys

n = int(sys.argv[1])
lines = sys.stdin.read().splitlines()
assert len(lines) == n, lines
for i, line in enumerate(lines):
    f = line.split()
    index, cls, p = int(f[0]), int(f[1]), float(f[-1])
    assert index == i and 0 <= cls <= 9 and 0.0 < p <= 1.0, line
print("%d predictions ok" % n)
