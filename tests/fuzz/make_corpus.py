#!/usr/bin/env python3
"""Rebuilds the seed corpus tests/fuzz/corpus/{model,safetensors,npy}/ from
examples/*.json, the JSON parts of the split-file tests in tests/lit/errors/,
and the NPY and safetensors inputs of tests/lit/Inputs/run/ and examples/."""
import glob
import os
import re
import shutil

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
corpus = os.path.join(here, "corpus")


def reset(kind):
    d = os.path.join(corpus, kind)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


model = reset("model")
for p in sorted(glob.glob(os.path.join(root, "examples", "*.json"))):
    shutil.copy(p, os.path.join(model, "example-" + os.path.basename(p)))
for p in sorted(glob.glob(os.path.join(root, "tests", "lit", "Inputs", "run", "*.json"))):
    shutil.copy(p, os.path.join(model, "run-" + os.path.basename(p)))
# split-file: "#--- NAME" starts a part that runs to the next marker.
for p in sorted(glob.glob(os.path.join(root, "tests", "lit", "errors", "*.test"))):
    parts = re.split(r"^#--- (\S+)\n", open(p).read(), flags=re.M)
    for name, body in zip(parts[1::2], parts[2::2]):
        if name.endswith(".json") and len(body) < 64 * 1024:
            base = os.path.basename(p)[: -len(".test")]
            with open(os.path.join(model, "errors-%s-%s" % (base, name)), "w") as f:
                f.write(body)

st = reset("safetensors")
for p in sorted(glob.glob(os.path.join(root, "tests", "lit", "Inputs", "run", "*.safetensors"))):
    shutil.copy(p, os.path.join(st, os.path.basename(p)))
shutil.copy(os.path.join(root, "examples", "xor.safetensors"), os.path.join(st, "example-xor.safetensors"))

npy = reset("npy")
for p in sorted(glob.glob(os.path.join(root, "tests", "lit", "Inputs", "run", "*.npy"))):
    shutil.copy(p, os.path.join(npy, os.path.basename(p)))
for p in sorted(glob.glob(os.path.join(root, "examples", "data", "*.npy"))):
    shutil.copy(p, os.path.join(npy, "example-" + os.path.basename(p)))

for kind in ("model", "safetensors", "npy"):
    print(kind, len(os.listdir(os.path.join(corpus, kind))))
