#!/usr/bin/env python3
"""compare_outputs.py A B [--rtol R] [--atol T]: compares two outputs printed in
nncc-run --print's format ("name: [shape]" lines, then one line of values per
sample): the same names and shapes, and every value within atol + rtol*|b|.
Prints the largest difference; exits 1 on a mismatch. Standard library only."""
import sys

def parse(path):
    blocks, cur = [], None
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        if ":" in line and line.split(":")[1].strip().startswith("["):
            cur = [line, []]
            blocks.append(cur)
        else:
            cur[1].extend(float(v) for v in line.split())
    return blocks

args = sys.argv[1:]
rtol = float(args[args.index("--rtol") + 1]) if "--rtol" in args else 1e-4
atol = float(args[args.index("--atol") + 1]) if "--atol" in args else 1e-5
a, b = parse(args[0]), parse(args[1])
if [x[0] for x in a] != [x[0] for x in b]:
    sys.exit("mismatch: %s vs %s" % ([x[0] for x in a], [x[0] for x in b]))
worst = 0.0
for (name, va), (_, vb) in zip(a, b):
    if len(va) != len(vb):
        sys.exit("%s: %d values vs %d" % (name, len(va), len(vb)))
    for i, (x, y) in enumerate(zip(va, vb)):
        d = abs(x - y)
        worst = max(worst, d)
        if d > atol + rtol * abs(y):
            sys.exit("%s: value %d differs: %r vs %r" % (name, i, x, y))
print("match: %d outputs, largest difference %.3g" % (len(a), worst))
