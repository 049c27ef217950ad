#!/usr/bin/env python3
"""check_profile.py PROFILE.json: checks the arithmetic of an NNCC_PROFILE
file (docs/runtime.md, "Profiling") and prints one line per program run,
`PROGRAM runs=R steps=S`, then one line per step, `PROGRAM NAME calls=C
samples=N`, for FileCheck. Exit 1 on an inconsistent file: a program's
total that is not the sum of its steps, shares that do not sum to 1, a step
whose min > mean or mean > max, or a time below zero."""
import json, sys

d = json.load(open(sys.argv[1]))
bad = []
if d.get("format") != "nncc-profile-1":
    bad.append("format %r" % d.get("format"))
print("model %s" % d["model"])
for p in d["programs"]:
    steps = p["steps"]
    print("%s runs=%d steps=%d" % (p["program"], p["runs"], len(steps)))
    total = sum(s["total_ms"] for s in steps)
    if abs(total - p["total_ms"]) > 1e-3 * max(1.0, total):
        bad.append("%s: total %g, steps sum to %g" % (p["program"], p["total_ms"], total))
    if total > 0 and abs(sum(s["share"] for s in steps) - 1) > 1e-2:
        bad.append("%s: shares sum to %g" % (p["program"], sum(s["share"] for s in steps)))
    for i, s in enumerate(steps):
        if s["step"] != i:
            bad.append("%s: step %d numbered %d" % (p["program"], i, s["step"]))
        if s["calls"] and not (0 <= s["min_ms"] <= s["mean_ms"] + 1e-9 <= s["max_ms"] + 2e-9):
            bad.append("%s %s: min %g mean %g max %g" % (p["program"], s["name"], s["min_ms"], s["mean_ms"], s["max_ms"]))
        if s["calls"] and abs(s["mean_ms"] * s["calls"] - s["total_ms"]) > 1e-3 * max(1.0, s["total_ms"]):
            bad.append("%s %s: mean x calls != total" % (p["program"], s["name"]))
        print("%s %s calls=%d samples=%d" % (p["program"], s["name"], s["calls"], s["samples"]))
for b in bad:
    print("check_profile.py: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
