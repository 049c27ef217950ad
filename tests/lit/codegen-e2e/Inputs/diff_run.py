#!/usr/bin/env python3
"""diff_run.py MODEL.json IR DRIVER DIR BATCHxTHREADS... [--rtol R] [--atol T] [--weights W]:
for each BATCHxTHREADS, runs the compiled-model DRIVER (from make_driver.py)
and the reference interpreter (nncc-run, on PATH) on the same inputs (input i
written by write_npy.py with seed 1 + i, inputs in IR order), and compares
the printed outputs with tests/lit/Inputs/compare_outputs.py (default
rtol 1e-4, atol 1e-4). Prints one "BxT: match: ..." line per run; exits 1 on
the first mismatch or failure."""
import os, re, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
write_npy = os.path.join(here, "..", "..", "passes", "Inputs", "write_npy.py")
compare = os.path.join(here, "..", "..", "Inputs", "compare_outputs.py")
args = sys.argv[1:]
tol = {"--rtol": "1e-4", "--atol": "1e-4"}
for k in list(tol):
    if k in args:
        i = args.index(k)
        tol[k] = args[i + 1]
        del args[i:i + 2]
weights = None
if "--weights" in args:  # the weights the object was compiled with, for the interpreter too
    i = args.index("--weights")
    weights = args[i + 1]
    del args[i:i + 2]
model, ir, driver, out, runs = args[0], open(args[1]).read(), args[2], args[3], args[4:]
inputs = re.findall(r"^input %(\w+) : f32\[N((?:, \d+)*)\]", ir, re.M)
os.makedirs(out, exist_ok=True)
refs = {}
for run in runs:
    batch, threads = run.split("x")
    if batch not in refs:
        cmd = ["nncc-run", model, "--print"] + (["--weights", weights] if weights else [])
        for i, (name, dims) in enumerate(inputs):
            npy = os.path.join(out, "%s_b%s.npy" % (name, batch))
            subprocess.check_call([sys.executable, write_npy, npy,
                                   ",".join([batch] + [d.strip() for d in dims.split(",")[1:]]), str(i + 1)])
            cmd += ["--input", "%s=%s" % (name, npy)]
        refs[batch] = os.path.join(out, "reference_b%s.txt" % batch)
        with open(refs[batch], "w") as f:
            subprocess.check_call(cmd, stdout=f)
    got = os.path.join(out, "compiled_b%s_t%s.txt" % (batch, threads))
    with open(got, "w") as f:
        rc = subprocess.call([driver, batch, threads], stdout=f)
    if rc != 0:
        sys.exit("%s: driver exited with status %d" % (run, rc))
    r = subprocess.run([sys.executable, compare, got, refs[batch], "--rtol", tol["--rtol"], "--atol", tol["--atol"]],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    print("%s: %s" % (run, r.stdout.strip()))
    sys.stdout.flush()
    if r.returncode != 0:
        sys.exit(1)
