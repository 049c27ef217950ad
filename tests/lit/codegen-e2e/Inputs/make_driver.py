#!/usr/bin/env python3
"""make_driver.py HEADER IR > driver.c: writes a C driver for a model compiled
by nncc. HEADER is the generated NAME.h; IR is `nncc model.json --emit=ir`
output (for each output's per-sample shape; without it the header line gives
only the flat size). The driver is run as `driver BATCH THREADS`: it fills
input i (0-based, in prototype order) with the LCG of
tests/lit/passes/Inputs/write_npy.py, seed 1 + i, over the whole batch, calls
NAME_set_threads and NAME_forward, and prints every output as
`nncc-run --print` does ("name: [batch, dims...]", one line of %.6g values per
sample). Standard library only."""
import os, re, sys

hdr = open(sys.argv[1]).read()
ir = open(sys.argv[2]).read() if len(sys.argv) > 2 else ""
m = re.search(r"int (\w+)_forward\(\1 \*m, int batch, ([^)]*)\);", hdr)
if not m:
    sys.exit("make_driver.py: no NAME_forward prototype in " + sys.argv[1])
name, params = m.group(1), [p.strip() for p in m.group(2).split(",")]
NAME = name.upper()
ins = [p.split("*")[1].strip() for p in params if p.startswith("const float")]
outs = [p.split("*")[1].strip() for p in params if not p.startswith("const")]
for v in ins + outs:
    if not re.search(r"#define %s_%s_SIZE " % (NAME, v.upper()), hdr):
        sys.exit("make_driver.py: no %s_%s_SIZE macro" % (NAME, v.upper()))

def shape(v):  # per-sample dims of IR value %v, or None
    s = re.search(r"^(?:input )?%%%s(?: =.*)? : f32\[N((?:, \d+)*)\]\s*$" % re.escape(v), ir, re.M)
    return [int(d) for d in s.group(1).split(",")[1:]] if s else None

c = ['#include "%s"' % os.path.basename(sys.argv[1]), "#include <stdio.h>", "#include <stdlib.h>", "",
     "static void fill(float *x, long n, unsigned long long state) {",
     "  for (long i = 0; i < n; ++i) {",
     "    state = state * 6364136223846793005ull + 1442695040888963407ull;",
     "    x[i] = (float)(((double)(state >> 40) / (double)(1 << 24)) * 2.0 - 1.0);",
     "  }", "}", "",
     "static void print(const char *name, const char *dims, const float *y, int batch, long size) {",
     '  printf("%s: [%d%s]\\n", name, batch, dims);',
     "  for (int n = 0; n < batch; ++n) {",
     '    for (long k = 0; k < size; ++k) printf(k ? " %.6g" : "%.6g", y[n * size + k]);',
     '    printf("\\n");', "  }", "}", "",
     "int main(int argc, char **argv) {",
     "  int batch = argc > 1 ? atoi(argv[1]) : 1;",
     "  int threads = argc > 2 ? atoi(argv[2]) : 1;",
     "  %s *m = %s_create();" % (name, name),
     '  if (!m) { fprintf(stderr, "create failed\\n"); return 1; }',
     '  if (%s_set_threads(m, threads) != 0) { fprintf(stderr, "set_threads: %%s\\n", %s_last_error(m)); return 1; }' % (name, name)]
for i, v in enumerate(ins):
    c.append("  float *in_%s = malloc(sizeof(float) * batch * %s_%s_SIZE);" % (v, NAME, v.upper()))
    c.append("  fill(in_%s, (long)batch * %s_%s_SIZE, %d);" % (v, NAME, v.upper(), i + 1))
for v in outs:
    c.append("  float *out_%s = malloc(sizeof(float) * batch * %s_%s_SIZE);" % (v, NAME, v.upper()))
args = ", ".join(["in_" + v for v in ins] + ["out_" + v for v in outs])
c.append("  if (%s_forward(m, batch, %s) != 0) {" % (name, args))
c.append('    fprintf(stderr, "forward failed: %%s\\n", %s_last_error(m));' % name)
c.append("    return 1;")
c.append("  }")
for v in outs:
    d = shape(v)
    dims = "".join(", %d" % x for x in d) if d is not None else ", %d" % 0
    if d is None:
        c.append('  { char buf[32]; snprintf(buf, sizeof buf, ", %%d", %s_%s_SIZE);' % (NAME, v.upper()))
        c.append('    print("%s", buf, out_%s, batch, %s_%s_SIZE); }' % (v, v, NAME, v.upper()))
    else:
        c.append('  print("%s", "%s", out_%s, batch, %s_%s_SIZE);' % (v, dims, v, NAME, v.upper()))
c.append("  %s_destroy(m);" % name)
for v in ins:  # freed, so that LeakSanitizer finds nothing (the sanitizer build)
    c.append("  free(in_%s);" % v)
for v in outs:
    c.append("  free(out_%s);" % v)
c.append("  return 0;")
c.append("}")
print("\n".join(c))
