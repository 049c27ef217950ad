#!/usr/bin/env python3
"""random_weights.py IR OUT.safetensors SEED: random weights for every
parameter of a model (its `param @name : f32[...]` lines of --emit=ir), so
tests exercise batchnorm's statistics and biases away from their defaults
(running variances stay positive)."""
import os, random, re, sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "examples", "tools"))
from safetensors_file import write_safetensors  # noqa: E402

ir, out, seed = open(sys.argv[1]).read(), sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
tensors = {}
for name, dims in re.findall(r"^param @(\S+) : f32\[([0-9, ]*)\]", ir, re.M):
    shape = [int(d) for d in dims.split(",") if d.strip()]
    n = 1
    for d in shape:
        n *= d
    low = 0.5 if name.endswith("running_var") else -1.0
    tensors[name] = (shape, [rng.uniform(low, 1.5) for _ in range(n)])
write_safetensors(out, tensors)
