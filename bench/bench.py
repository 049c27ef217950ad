#!/usr/bin/env python3
"""The benchmark (not a test); bench/run.sh runs it. Python standard library
only: the peers (PyTorch, ONNX Runtime) run in their own processes and are
optional (n/a when missing).

For mlp, lenet5, vgg_cifar and resnet18 (examples/*.json): the machine's FMA
peak (bench/peak.c), compile time and object size, forward latency of the
compiled object (bench/forward.c) at batch 1 and a larger batch with 1 and 2
threads, the same for PyTorch and ONNX Runtime with the same weights and
inputs (outputs checked against nncc's first), and per-layer GFLOP/s: every
distinct conv2d/dense shape of those networks compiled alone as a one-layer
model and timed. Training (--no-train leaves it out): the training step
(NAME_train_step, bench/train_step.c) of mlp, lenet5 and vgg_cifar with
softmax_cross_entropy and sgd with momentum 0.9 (training variants derived
from the JSONs), batch 32, 1 and 2 threads, against PyTorch's forward + loss +
backward + optimizer.step on the same network, weights and batch
(bench/peers/torch_train_peer.py, checked against nncc's first two steps), and
an epoch of examples/fashion_mnist when Debian's Fashion-MNIST is installed.
Writes the tables to stdout and bench/results/latest.md, the raw numbers to
bench/results/latest.raw.json.
"""
import argparse
import concurrent.futures
import copy
import datetime
import json
import re
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
NETS = [("mlp", 32), ("lenet5", 32), ("vgg_cifar", 32), ("resnet18", 8)]
TORCH_PY = "/usr/bin/python3"
OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
THREADS = (1, 2)
TRAIN_NETS = ("mlp", "lenet5", "vgg_cifar")
TRAIN_BATCH = 32
TRAIN_LR = 0.001   # sgd, momentum 0.9: the same batch over and over must not diverge
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, timeout=900, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd[:3]), p.returncode, (p.stderr or p.stdout)[-2000:]))
    return p.stdout


# ---- shapes and FLOPs (the model format's rules, shared/spec/model-format.md) ----

def pair(v):
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def pads(layer, h, w, k, s, d):
    p = layer.get("padding", "valid")
    if p == "valid":
        return (0, 0, 0, 0)
    if p == "same":
        out = []
        for size, kk, ss, dd in ((h, k[0], s[0], d[0]), (w, k[1], s[1], d[1])):
            total = max((math.ceil(size / ss) - 1) * ss + dd * (kk - 1) + 1 - size, 0)
            out.append((total // 2, total - total // 2))
        return (out[0][0], out[1][0], out[0][1], out[1][1])
    if isinstance(p, int):
        return (p, p, p, p)
    if len(p) == 2:
        return (p[0], p[1], p[0], p[1])
    return tuple(p)


def window_out(size, k, s, d, lo, hi, ceil_mode=False):
    span = size + lo + hi - d * (k - 1) - 1
    if ceil_mode:
        o = -(-span // s) + 1
        if (o - 1) * s >= size + lo:
            o -= 1
        return o
    return span // s + 1


def infer(model):
    """[(name, layer, input shapes, output shape)] in layer order."""
    shapes = {i["name"]: list(i["shape"]) for i in model["inputs"]}
    prev = model["inputs"][0]["name"]
    out = []
    for i, layer in enumerate(model["layers"]):
        t = layer["type"]
        name = layer.get("name", "%s_%d" % (t, i))
        ins = [shapes[n] for n in layer.get("inputs", [prev])]
        x = ins[0]
        if t == "dense":
            y = [layer["units"]]
        elif t in ("conv2d", "maxpool2d", "avgpool2d"):
            k = pair(layer["kernel"] if t == "conv2d" else layer["size"])
            s = pair(layer.get("stride", 1 if t == "conv2d" else layer["size"]))
            d = pair(layer.get("dilation", 1)) if t == "conv2d" else (1, 1)
            pt, pl, pb, pr = pads(layer, x[1], x[2], k, s, d)
            cm = layer.get("ceil_mode", False)
            y = [layer["filters"] if t == "conv2d" else x[0],
                 window_out(x[1], k[0], s[0], d[0], pt, pb, cm), window_out(x[2], k[1], s[1], d[1], pl, pr, cm)]
        elif t == "conv2d_transpose":
            k, s, d = pair(layer["kernel"]), pair(layer.get("stride", 1)), pair(layer.get("dilation", 1))
            pt, pl, pb, pr = pads(layer, x[1], x[2], k, s, d)
            op = pair(layer.get("output_padding", 0))
            y = [layer["filters"], (x[1] - 1) * s[0] - pt - pb + d[0] * (k[0] - 1) + op[0] + 1,
                 (x[2] - 1) * s[1] - pl - pr + d[1] * (k[1] - 1) + op[1] + 1]
        elif t in ("global_avgpool2d", "global_maxpool2d"):
            y = [x[0]]
        elif t == "flatten":
            y = [math.prod(x)]
        elif t == "reshape":
            y = list(layer["shape"])
            if -1 in y:
                y[y.index(-1)] = math.prod(x) // -math.prod(y)
        elif t == "concat":
            ax = layer.get("axis", 0)
            y = list(x)
            y[ax] = sum(s[ax] for s in ins)
        else:
            y = list(x)
        shapes[name] = y
        out.append((name, layer, ins, y))
        prev = name
    return out


def macs(layer, ins, y):
    """Multiply-adds per sample of a conv2d or dense layer (None otherwise)."""
    t = layer["type"]
    if t == "dense":
        return ins[0][0] * layer["units"]
    if t == "conv2d":
        k = pair(layer["kernel"])
        return math.prod(y) * ins[0][0] // layer.get("groups", 1) * k[0] * k[1]
    if t == "conv2d_transpose":
        k = pair(layer["kernel"])
        return math.prod(ins[0]) * layer["filters"] // layer.get("groups", 1) * k[0] * k[1]
    return None


def fused_activation(graph, idx):
    """The activation that ends up in the epilogue of layer idx: its own, or an
    activation layer right after it, possibly behind an inference batchnorm
    (the passes fold and fuse both)."""
    layer = graph[idx][1]
    if layer.get("activation"):
        return layer["activation"]
    j = idx
    while j + 1 < len(graph):
        nxt = graph[j + 1][1]
        if nxt.get("inputs", [graph[j][0]]) != [graph[j][0]]:
            return None
        if nxt["type"] == "batchnorm":
            j += 1
            continue
        return nxt["type"] if nxt["type"] in ("relu", "sigmoid", "tanh", "leaky_relu", "elu") else None
    return None


def training_variant(model):
    """The model with the bench's training section: softmax_cross_entropy on
    the logits (a final softmax layer is dropped, so lenet5's probs become
    logits) and sgd with momentum 0.9 at a constant learning rate, no
    regularization: what torch_train_peer.py builds with torch.optim.SGD.
    Dropout layers are left out (vgg_cifar's one, on 256 features: a
    negligible cost), so that PyTorch computes the same numbers and its first
    steps can be checked against nncc's (the masks' generators differ)."""
    m = copy.deepcopy(model)
    names = [l.get("name", "%s_%d" % (l["type"], i)) for i, l in enumerate(m["layers"])]
    layers = []
    for i, l in enumerate(m["layers"]):
        if l["type"] != "dropout":
            if "name" not in l:
                l["name"] = names[i]  # keep the default name of its original position
            layers.append(l)
            continue
        src = l.get("inputs", [names[i - 1] if i else m["inputs"][0]["name"]])[0]
        nxt = m["layers"][i + 1] if i + 1 < len(m["layers"]) else None
        if nxt is not None and "inputs" not in nxt:
            nxt["inputs"] = [src]
        for later in m["layers"][i + 1:]:
            if "inputs" in later:
                later["inputs"] = [src if n == names[i] else n for n in later["inputs"]]
        if names[i] in m.get("outputs", []):
            m["outputs"] = [src if n == names[i] else n for n in m["outputs"]]
    m["layers"] = layers
    out = m.get("outputs", [m["layers"][-1].get("name")])[0]
    while True:
        idx = {l.get("name", "%s_%d" % (l["type"], i)): i for i, l in enumerate(m["layers"])}
        layer = m["layers"][idx[out]]
        if layer["type"] != "softmax" or idx[out] != len(m["layers"]) - 1:
            break
        prev = m["layers"][idx[out] - 1]
        out = layer.get("inputs", [prev.get("name", "%s_%d" % (prev["type"], idx[out] - 1))])[0]
        m["layers"].pop()
    m["outputs"] = [out]
    m["training"] = {"loss": {"type": "softmax_cross_entropy", "output": out},
                     "optimizer": {"type": "sgd", "learning_rate": TRAIN_LR, "momentum": 0.9}}
    return m, out


# ---- measurements ----

def peak(work):
    exe = os.path.join(work, "peak")
    run(["cc", "-O2", "-mavx512f", "-pthread", os.path.join(BENCH, "peak.c"), "-o", exe])
    return {t: float(run([exe, str(t)])) for t in THREADS}


def compile_model(nncc, json_path, work, name, extra=()):
    obj = os.path.join(work, name + ".o")
    s = time.perf_counter()
    run([nncc, json_path, "-o", obj] + list(extra))
    secs = time.perf_counter() - s
    return obj, secs, os.path.getsize(obj)


def build_driver(work, name, inp, outp, driver="forward.c"):
    exe = os.path.join(work, name + ".bench")
    run(["cc", "-O2", "-std=c99", "-D_POSIX_C_SOURCE=199309L", "-DMODEL=" + name, "-DUMODEL=" + name.upper(),
         "-DIN=" + inp.upper(), "-DOUT=" + outp.upper(), "-include", os.path.join(work, name + ".h"),
         os.path.join(BENCH, driver), os.path.join(work, name + ".o"), "-o", exe, "-lpthread", "-ldl", "-lm"])
    return exe


def time_driver(exe, batch, thr, budget_ms, dump=None):
    args = [exe, str(batch), str(thr), "200", str(budget_ms)] + ([dump] if dump else [])
    med, lo, reps, share = run(args).split()
    return {"median_ms": float(med), "min_ms": float(lo), "reps": int(reps), "cpu_per_wall": float(share)}


def profile_driver(exe, batch, thr, budget_ms, work):
    """The forward's steps inside the network: the driver run again with
    NNCC_PROFILE (docs/runtime.md, "Profiling"); {step name: mean ms}."""
    path = os.path.join(work, "profile_%d_%d.json" % (batch, thr))
    env = dict(os.environ, NNCC_PROFILE=path)
    run([exe, str(batch), str(thr), "200", str(budget_ms)], env=env)
    with open(path) as f:
        prof = json.load(f)
    fwd = [p for p in prof["programs"] if p["program"] == "forward"][0]
    return {s["name"]: s["mean_ms"] for s in fwd["steps"]}, {s["name"]: s["kernel"] for s in fwd["steps"]}


def fashion_mnist_epoch(build, work):
    """One epoch of examples/fashion_mnist (LeNet-5, Adam, batch 32, 54,000
    training images, then the 6,000 validation images), built as a user
    would: the build installed into a prefix, find_package(nncc)."""
    if not os.path.isdir(FASHION_MNIST):
        return {"error": "no %s (Debian's dataset-fashion-mnist)" % FASHION_MNIST}
    try:
        prefix, bdir, out = (os.path.join(work, d) for d in ("fm-prefix", "fm-build", "fm-out"))
        os.makedirs(out)
        log("bench: fashion_mnist: installing the build and building the example ...")
        run(["cmake", "--install", build, "--prefix", prefix])
        run(["cmake", "-S", os.path.join(ROOT, "examples", "fashion_mnist"), "-B", bdir, "-DCMAKE_PREFIX_PATH=" + prefix,
             "-DCMAKE_BUILD_TYPE=Release"])
        run(["cmake", "--build", bdir])
        log("bench: fashion_mnist: one epoch ...")
        s = time.perf_counter()
        text = run([os.path.join(bdir, "fashion_mnist"), "--epochs", "1", "--out", out])
        wall = time.perf_counter() - s
        res = {"wall_s": wall}
        for line in text.splitlines():
            w = line.replace(",", "").replace(";", "").split()
            if line.startswith("Fashion-MNIST:"):
                res["train_images"], res["validation_images"] = int(w[1]), int(w[3])
            elif " s per epoch" in line:
                res["epoch_s"] = float(w[w.index("per") - 2])
            elif line.startswith("test accuracy"):
                res["test_accuracy"] = float(w[2])
        with open(os.path.join(out, "curves.csv")) as f:
            row = f.read().splitlines()[1].split(",")
        res["train_loss"], res["val_acc"] = float(row[1]), float(row[4])
        return res
    except Exception as e:
        log("bench: fashion_mnist: %s" % e)
        return {"error": str(e).splitlines()[0][:300] if str(e) else type(e).__name__}


def peer_lines(out):
    res = []
    for line in out.splitlines():
        try:
            res.append(json.loads(line))
        except ValueError:
            pass
    return res


def have_torch():
    if not os.access(TORCH_PY, os.X_OK):
        return "no " + TORCH_PY
    p = subprocess.run([TORCH_PY, "-c", "import torch, numpy"], capture_output=True, text=True)
    return None if p.returncode == 0 else "python3-torch not installed"


def have_ort():
    if not shutil.which("node"):
        return "no node"
    if not os.path.isdir(os.path.join(BENCH, "peers", "node_modules", "onnxruntime-node")):
        return "onnxruntime-node not installed (bench/README.md)"
    return None


def run_peer(cmd, env=None, timeout=900):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    lines = peer_lines(p.stdout)
    err = [l["message"] for l in lines if l.get("kind") == "error"]
    if p.returncode != 0 and not err:
        err = [(p.stderr or "exit %d" % p.returncode).strip().splitlines()[-1]]
    return lines, (err[0] if err else None)


def tolerance(max_ref):
    return 1e-4 + 1e-3 * max_ref


# ---- formatting ----

def fnum(v, digits=3):
    if v is None or v != v:
        return "n/a"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return ("%%.%df" % digits) % v


def ratio(a, b):
    return "n/a" if a is None or b is None else "%.2f" % (a / b)


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def machine():
    info = {}
    try:
        for line in run(["lscpu"]).splitlines():
            k, _, v = line.partition(":")
            info[k.strip()] = v.strip()
    except Exception:
        pass
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", nargs="?", default="build", help="nncc build directory (default: build)")
    ap.add_argument("--nets", default=",".join(n for n, _ in NETS), help="comma-separated subset")
    ap.add_argument("--budget-ms", type=float, default=2000, help="timing budget per network, batch and thread count")
    ap.add_argument("--layer-budget-ms", type=float, default=1000, help="timing budget per layer, batch and thread count")
    ap.add_argument("--no-layers", action="store_true")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--no-train", action="store_true", help="leave out the training step and the Fashion-MNIST epoch")
    ap.add_argument("--train-budget-ms", type=float, default=1500,
                    help="timing budget per network and thread count for the training step")
    ap.add_argument("--no-epoch", action="store_true", help="leave out the Fashion-MNIST epoch")
    ap.add_argument("--train-only", action="store_true", help="only the training step and the epoch (no forward, no layers)")
    ap.add_argument("--note", default="", help="a line for the header (e.g. which commit nncc was built from)")
    ap.add_argument("--out", default=os.path.join(BENCH, "results", "latest.md"))
    a = ap.parse_args()
    build = a.build if os.path.isabs(a.build) else os.path.join(ROOT, a.build)
    nncc = os.path.join(build, "tools", "nncc")
    if not os.access(nncc, os.X_OK):
        sys.exit("bench: no %s (build nncc first, or pass the build directory)" % nncc)
    nets = [(n, b) for n, b in NETS if n in a.nets.split(",")]
    t_start = time.time()
    load_start = open("/proc/loadavg").read().split()[:3]
    cpu = machine()
    work = tempfile.mkdtemp(prefix="nncc-bench.")
    raw = {"nets": {}, "layers": [], "peers": {}, "train": {}}
    try:
        log("bench: FMA peak ...")
        pk = peak(work)
        per_core = pk[1]
        raw["peak"] = pk
        torch_missing = "--no-peers" if a.no_peers else have_torch()
        ort_missing = "--no-peers" if a.no_peers else have_ort()
        env = dict(os.environ)
        if os.path.isdir(OPENBLAS):
            env["LD_LIBRARY_PATH"] = OPENBLAS + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
        env.pop("PYTHONPATH", None)
        # ---- whole networks ----
        for net, big in ([] if a.train_only else nets):
            try:
                path = os.path.join(ROOT, "examples", net + ".json")
                with open(path) as f:
                    model = json.load(f)
                graph = infer(model)
                inp = model["inputs"][0]["name"]
                outp = model.get("outputs", [graph[-1][0]])[0]
                flops = 2 * sum(macs(l, i, y) or 0 for _, l, i, y in graph)
                log("bench: %s: compiling ..." % net)
                # The deployment build of the forward pass: --inference-only
                # runs the whole -O2 inference pipeline (batchnorm folded,
                # preprocess folded, channels-last storage), which a model
                # compiled with its training entry points does not.
                _, csec, size = compile_model(nncc, path, work, net, ["--inference-only"])
                exe = build_driver(work, net, inp, outp)
                r = raw["nets"][net] = {"compile_s": csec, "object_bytes": size, "flop_per_sample": flops, "runs": {}}
                cases = []
                for batch in (1, big):
                    prefix = os.path.join(work, "%s_b%d" % (net, batch))
                    with open(prefix + ".shape.json", "w") as f:
                        json.dump(model["inputs"][0]["shape"], f)
                    cases.append("%d:%s" % (batch, prefix))
                    for thr in THREADS:
                        log("bench: %s: batch %d, %d thread(s) ..." % (net, batch, thr))
                        r["runs"]["%d/%d" % (batch, thr)] = time_driver(
                            exe, batch, thr, a.budget_ms, prefix if thr == THREADS[0] else None)
                        if not a.no_layers:
                            r.setdefault("steps", {})["%d/%d" % (batch, thr)], r["kernels"] = profile_driver(
                                exe, batch, thr, a.budget_ms / 2, work)
                r["layer_flops"] = {name: 2 * macs(l, i, y) for name, l, i, y in graph if macs(l, i, y)}
                # Which convs took the Winograd kernel (their kernels hold
                # <layer>_winograd_m, docs/schedules.md "Winograd"); those
                # networks are timed again with --conv-algorithm=direct, so
                # the direct kernels' rates stay measured.
                ll = os.path.join(work, net + ".ll")
                run([nncc, path, "--inference-only", "--emit=llvm", "-o", ll])
                with open(ll) as f:
                    r["winograd"] = sorted(set(re.findall(r'!"(\w+?)_winograd_m', f.read())))
                os.remove(ll)
                # Identical convs share the first one's kernel (and its Func
                # names): the steps on a Winograd kernel.
                kernels = r.get("kernels", {})
                wk = {kernels[n] for n in r["winograd"] if n in kernels}
                r["winograd"] = sorted(set(r["winograd"]) | {n for n, k in kernels.items() if k in wk})
                if r["winograd"]:
                    log("bench: %s: compiling with --conv-algorithm=direct ..." % net)
                    ddir = os.path.join(work, "direct")
                    os.makedirs(ddir, exist_ok=True)
                    compile_model(nncc, path, ddir, net, ["--inference-only", "--conv-algorithm=direct", "--name", net])
                    dexe = build_driver(ddir, net, inp, outp)
                    d = r["direct"] = {"runs": {}, "steps": {}}
                    for batch in (1, big):
                        for thr in THREADS:
                            log("bench: %s (direct): batch %d, %d thread(s) ..." % (net, batch, thr))
                            key = "%d/%d" % (batch, thr)
                            d["runs"][key] = time_driver(dexe, batch, thr, a.budget_ms)
                            if not a.no_layers:
                                d["steps"][key] = profile_driver(dexe, batch, thr, a.budget_ms / 2, ddir)[0]
                weights = os.path.join(work, "%s_b1.safetensors" % net)
                onnx = os.path.join(work, net + ".onnx")
                peers = raw["peers"][net] = {}
                if not torch_missing:
                    log("bench: %s: PyTorch ..." % net)
                    cmd = [TORCH_PY, os.path.join(BENCH, "peers", "torch_peer.py"), path, weights,
                           "--threads", ",".join(map(str, THREADS)), "--budget-ms", str(a.budget_ms)]
                    for c in cases:
                        cmd += ["--case", c]
                    if not ort_missing:
                        cmd += ["--onnx", onnx]
                    lines, err = run_peer(cmd, env)
                    peers["torch"] = {"lines": lines, "error": err}
                if not ort_missing:
                    if not os.path.exists(onnx):
                        peers["ort"] = {"lines": [], "error": "no ONNX export (needs the PyTorch peer)"}
                    else:
                        log("bench: %s: ONNX Runtime ..." % net)
                        lines, err = run_peer(["node", os.path.join(BENCH, "peers", "ort_peer.js"), onnx,
                                               str(a.budget_ms), ",".join(map(str, THREADS))] + cases)
                        peers["ort"] = {"lines": lines, "error": err}
            except Exception as e:  # a compile or run that fails: an error row, and on
                log("bench: %s: %s" % (net, e))
                raw["nets"][net] = {"error": str(e).splitlines()[0][:300] if str(e) else type(e).__name__}
                raw["peers"].pop(net, None)
        # ---- training step ----
        if not a.no_train:
            tdir = os.path.join(work, "train")
            os.makedirs(tdir)
            for net in [n for n, _ in nets if n in TRAIN_NETS]:
                try:
                    with open(os.path.join(ROOT, "examples", net + ".json")) as f:
                        tm, outp = training_variant(json.load(f))
                    jp = os.path.join(tdir, net + ".json")
                    with open(jp, "w") as f:
                        json.dump(tm, f, indent=1)
                    graph = infer(tm)
                    log("bench: %s: compiling the training variant ..." % net)
                    _, csec, size = compile_model(nncc, jp, tdir, net)
                    exe = build_driver(tdir, net, tm["inputs"][0]["name"], outp, "train_step.c")
                    r = raw["train"][net] = {"compile_s": csec, "object_bytes": size, "runs": {},
                                             "flop_per_sample": 2 * sum(macs(l, i, y) or 0 for _, l, i, y in graph),
                                             "dropout": any(l["type"] == "dropout" for l in tm["layers"])}
                    prefix = os.path.join(tdir, "%s_b%d" % (net, TRAIN_BATCH))
                    for thr in THREADS:
                        log("bench: %s: training step, batch %d, %d thread(s) ..." % (net, TRAIN_BATCH, thr))
                        r["runs"][str(thr)] = time_driver(exe, TRAIN_BATCH, thr, a.train_budget_ms,
                                                          prefix if thr == THREADS[0] else None)
                    if not torch_missing:
                        log("bench: %s: PyTorch training step ..." % net)
                        lines, err = run_peer([TORCH_PY, os.path.join(BENCH, "peers", "torch_train_peer.py"), jp,
                                               "--case", "%d:%s" % (TRAIN_BATCH, prefix),
                                               "--threads", ",".join(map(str, THREADS)),
                                               "--budget-ms", str(a.train_budget_ms)], env)
                        r["torch"] = {"lines": lines, "error": err}
                except Exception as e:
                    log("bench: %s (training): %s" % (net, e))
                    raw["train"][net] = {"error": str(e).splitlines()[0][:300] if str(e) else type(e).__name__}
            if not a.no_epoch:
                raw["fashion_mnist"] = fashion_mnist_epoch(build, work)
        # ---- per layer ----
        if not a.no_layers and not a.train_only:
            seen = {}
            for net, big in nets:
                with open(os.path.join(ROOT, "examples", net + ".json")) as f:
                    model = json.load(f)
                graph = infer(model)
                for idx, (name, layer, ins, y) in enumerate(graph):
                    if layer["type"] not in ("conv2d", "dense"):
                        continue
                    x = ins[0]
                    one = {"type": layer["type"], "name": "y"}
                    if layer["type"] == "dense":
                        one["units"] = layer["units"]
                        desc = "dense %d->%d" % (x[0], layer["units"])
                    else:
                        k, s = pair(layer["kernel"]), pair(layer.get("stride", 1))
                        d, g = pair(layer.get("dilation", 1)), layer.get("groups", 1)
                        p = pads(layer, x[1], x[2], k, s, d)
                        one.update({"filters": layer["filters"], "kernel": list(k), "stride": list(s),
                                    "padding": list(p), "dilation": list(d), "groups": g})
                        desc = "conv %dx%dx%d->%dx%dx%d k%s s%d%s" % (
                            x[0], x[1], x[2], y[0], y[1], y[2],
                            "%d" % k[0] if k[0] == k[1] else "%dx%d" % k, s[0],
                            "" if g == 1 else " g%d" % g)
                    act = fused_activation(graph, idx)
                    if act:
                        one["activation"] = act
                    key = json.dumps([x, one, big], sort_keys=True)
                    if key in seen:
                        seen[key]["layers"].append(name if seen[key]["net"] == net else "%s:%s" % (net, name))
                        seen[key]["members"].append((net, name))
                        continue
                    seen[key] = {"net": net, "layers": [name], "members": [(net, name)], "desc": desc + (" +relu" if act == "relu" else ""),
                                 "input": x, "layer": one, "batches": (1, big),
                                 "flop_per_sample": 2 * macs(layer, ins, y)}
            # compile them all first, two at a time (their compile times are not
            # reported), then time them one by one
            entries = list(seen.values())

            def build_layer(n):
                e, mname = entries[n], "layer%d" % n
                model = {"nncc": 1, "name": mname, "inputs": [{"name": "x", "shape": e["input"]}],
                         "layers": [e["layer"]], "init": {"seed": 1}}
                jp = os.path.join(work, mname + ".json")
                with open(jp, "w") as f:
                    json.dump(model, f)
                try:
                    _, e["compile_s"], _ = compile_model(nncc, jp, work, mname, ["--max-batch", str(max(e["batches"]))])
                    return build_driver(work, mname, "x", "y")
                except Exception as err:
                    e["error"] = str(err).splitlines()[0][:300]
                    return None

            log("bench: compiling %d one-layer models ..." % len(entries))
            with concurrent.futures.ThreadPoolExecutor(max(1, min(2, os.cpu_count() or 1))) as pool:
                exes = list(pool.map(build_layer, range(len(entries))))
            for n, (entry, exe) in enumerate(zip(entries, exes)):
                log("bench: layer %d/%d (%s %s) ..." % (n + 1, len(entries), entry["net"], entry["desc"]))
                try:
                    if exe:
                        entry["runs"] = {"%d/%d" % (b, t): time_driver(exe, b, t, a.layer_budget_ms)
                                         for b in entry["batches"] for t in THREADS}
                except Exception as err:
                    entry["error"] = str(err).splitlines()[0][:300]
                raw["layers"].append(entry)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_end = open("/proc/loadavg").read().split()[:3]
    raw["load"] = {"start": load_start, "end": load_end}

    # ---- report ----
    src = ROOT
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_HOME_DIRECTORY:"):
                    src = line.split("=", 1)[1].strip()
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", "compiler", "runtime",
                            "tools", "frontend"], capture_output=True, text=True).stdout.strip()
    md = ["# nncc benchmark", ""]
    if os.path.realpath(src) == os.path.realpath(ROOT):
        built = "nncc built from this checkout%s" % (
            " (with uncommitted compiler/runtime changes)" if dirty else "")
    else:
        built = "nncc built from `%s`" % src
    md.append("- date: %s; checkout at commit %s; %s, build dir `%s`; bench wall time %.0f s" % (
        datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), commit, built, build, time.time() - t_start))
    if a.note:
        md.append("- note: " + a.note)
    md.append("- machine: %s, %s CPU(s) (%s core(s) per socket x %s socket(s), %s thread(s) per core), L2 %s, L3 %s" % (
        cpu.get("Model name", "?"), cpu.get("CPU(s)", os.cpu_count()), cpu.get("Core(s) per socket", "?"),
        cpu.get("Socket(s)", "?"), cpu.get("Thread(s) per core", "?"), cpu.get("L2 cache", "?"), cpu.get("L3 cache", "?")))
    md.append("- load average (1/5/15 min) at start %s, at end %s: other processes share these cores, "
              "so times are noisy; compare within one run" % ("/".join(load_start), "/".join(load_end)))
    md.append("- FMA peak (bench/peak.c, 16 independent zmm FMA chains, best round): %s GFLOP/s on 1 thread, "
              "%s on 2; %% of peak below is against threads x %.1f (the 1-thread peak)" % (
                  fnum(pk[1]), fnum(pk[2]), per_core))
    if pk[2] < 1.6 * pk[1]:
        md.append("- **warning**: 2 threads reached only %.1fx the 1-thread FMA peak: other processes held a core "
                  "during this run, so its 2-thread times say little (rerun on a quieter machine)" % (pk[2] / pk[1]))
    tinfo = ort_info = None
    for p in raw["peers"].values():
        for l in p.get("torch", {}).get("lines", []):
            if l.get("kind") == "info":
                tinfo = l
        for l in p.get("ort", {}).get("lines", []):
            if l.get("kind") == "info":
                ort_info = l
    for r in raw["train"].values():  # --train-only: no forward peers
        for l in r.get("torch", {}).get("lines", []):
            if l.get("kind") == "info" and tinfo is None:
                tinfo = l
    tdesc = ("n/a (%s)" % torch_missing if torch_missing else
             "%s with OpenBLAS (%s), jit.trace + freeze + optimize_for_inference" % (
                 tinfo["torch"] if tinfo else "?", OPENBLAS))
    odesc = ("n/a (%s)" % ort_missing if ort_missing else
             "%s (onnxruntime-node, graph optimization all, the PyTorch peer's ONNX export)" % (
                 ort_info["onnxruntime"] if ort_info else "?"))
    if raw["nets"]:
        md.append("- peers: PyTorch %s; ONNX Runtime %s" % (tdesc, odesc))
    if raw["train"]:
        md.append("- training peer: PyTorch %s eager mode, forward + `F.cross_entropy` + backward + "
                  "`torch.optim.SGD.step()`, with OpenBLAS" % (
                      "n/a (%s)" % torch_missing if torch_missing else tinfo["torch"] if tinfo else "?"))
    whole_start = len(md)
    md += ["", "## Whole networks (forward, median ms; ratio = nncc ms / peer ms, below 1 = nncc faster)", ""]
    rows, checks = [], []
    layer_ms = {}  # (net, batch, threads) -> sum of its conv/dense layers' one-layer medians
    for e in raw["layers"]:
        for net, _ in e["members"]:
            for key, m in e.get("runs", {}).items():
                b, t = map(int, key.split("/"))
                layer_ms.setdefault((net, b, t), 0.0)
                layer_ms[(net, b, t)] += m["median_ms"]
        if "runs" not in e:
            for net, _ in e["members"]:
                for b in e["batches"]:
                    for t in THREADS:
                        layer_ms[(net, b, t)] = float("nan")
    for net, big in nets:
        r = raw["nets"].get(net)
        if r is None:
            continue
        if "error" in r:
            rows.append([net, "error: " + r["error"][:200]] + [""] * 14)
            continue
        pr = raw["peers"].get(net, {})
        pt = {(l["batch"], l["threads"]): l for l in pr.get("torch", {}).get("lines", []) if l.get("kind") == "time"}
        po = {(l["batch"], l["threads"]): l for l in pr.get("ort", {}).get("lines", []) if l.get("kind") == "time"}
        first = True
        for batch in (1, big):
            for thr in THREADS:
                m = r["runs"]["%d/%d" % (batch, thr)]
                dm = r.get("direct", {}).get("runs", {}).get("%d/%d" % (batch, thr), {}).get("median_ms")
                gf = r["flop_per_sample"] * batch / (m["median_ms"] * 1e6)
                tm = pt.get((batch, thr), {}).get("median_ms")
                om = po.get((batch, thr), {}).get("median_ms")
                tc = pt.get((batch, thr), {}).get("cpu_per_wall")
                oc = po.get((batch, thr), {}).get("cpu_per_wall")
                rows.append([net if first else "", "%.1f" % r["compile_s"] if first else "",
                             "%.2f" % (r["object_bytes"] / 1048576) if first else "", batch, thr,
                             fnum(m["median_ms"]), fnum(m["min_ms"]), "%.2f" % m["cpu_per_wall"], fnum(dm),
                             fnum(layer_ms.get((net, batch, thr))), "%.1f" % gf, "%.0f%%" % (100 * gf / (thr * per_core)),
                             fnum(tm) + (" (%.2f)" % tc if tc is not None else ""), ratio(m["median_ms"], tm),
                             fnum(om) + (" (%.2f)" % oc if oc is not None else ""), ratio(m["median_ms"], om)])
                first = False
        for peer, label in (("torch", "PyTorch"), ("ort", "ONNX Runtime")):
            missing = torch_missing if peer == "torch" else ort_missing
            p = pr.get(peer)
            if missing or p is None:
                checks.append([net, label, "n/a", "n/a (%s)" % (missing or "not run")])
                continue
            cl = [l for l in p["lines"] if l.get("kind") == "check"]
            if p["error"]:
                checks.append([net, label, "n/a", "error: " + p["error"][:160]])
            for l in cl:
                ok = l["max_abs_diff"] <= tolerance(l["max_abs_ref"])
                checks.append([net, label, l["batch"], "%.2e (max abs output %.3g): %s" % (
                    l["max_abs_diff"], l["max_abs_ref"], "ok" if ok else "MISMATCH, its times are not comparable")])
    md.append(table(["net", "compile s", "object MB", "batch", "thr", "nncc ms", "nncc min", "cpu/wall", "direct ms", "layers ms", "GFLOP/s", "% peak",
                     "torch ms (cpu/wall)", "nncc/torch", "ort ms (cpu/wall)", "nncc/ort"], rows))
    starved = [(k, v["cpu_per_wall"]) for k, v in
               [("%s %s" % (n, bt), m) for n, r in raw["nets"].items() for bt, m in r.get("runs", {}).items()] +
               [("%s %s" % (e["desc"], bt), m) for e in raw["layers"] for bt, m in e.get("runs", {}).items()]
               if k.endswith("/1") and v["cpu_per_wall"] < 0.9]
    md += ["", "`cpu/wall`: the process's CPU time over the wall time of the timed calls: about 1.0 for 1 thread "
               "with a core to itself, up to 2.0 for 2 threads that both had a core; lower values mean other "
               "processes took the cores (or, with 2 threads, the threads waited)."]
    if starved:
        md.append("**%d of the 1-thread measurements got less than 0.9 of a core** (worst: %s (batch/threads) at %.2f): "
                  "their times are inflated by other processes." % (
                      len(starved), min(starved, key=lambda x: x[1])[0], min(x[1] for x in starved)))
    md += ["", "`direct ms`: the same network compiled with `--conv-algorithm=direct` (no Winograd kernel, "
               "docs/schedules.md), timed right after nncc's build; n/a where no conv takes the Winograd kernel. "
               "GFLOP/s and % peak count the direct convolution's FLOPs (2 x MACs) for both builds."]
    md += ["", "`layers ms`: the sum of the per-layer medians below over the network's conv2d/dense layers "
               "(what the rest of the network, and the difference between a kernel alone and inside the "
               "network, add is `nncc ms` minus it).", "", "Peers' outputs vs nncc's on the same input and weights (max abs diff; ok when "
               "<= 1e-4 + 1e-3 x max abs output):", ""]
    md.append(table(["net", "peer", "batch", "max abs diff"], checks))
    if not raw["nets"]:  # --train-only
        del md[whole_start:]
    if raw["train"] or raw.get("fashion_mnist"):
        md += ["", "## Training step (`NAME_train_step` vs PyTorch's forward + loss + backward + `optimizer.step()`; "
                   "batch %d, median ms; ratio = nncc ms / torch ms, below 1 = nncc faster)" % TRAIN_BATCH, "",
               "Each network with `softmax_cross_entropy` on its logits and `sgd` (learning rate %g, momentum 0.9, "
               "no regularization, constant rate), derived from its JSON (`training_variant` in bench.py: lenet5's "
               "final softmax is dropped); nncc compiled with the training entry points and timed by "
               "`bench/train_step.c` (repeated steps on one batch); PyTorch eager mode (`zero_grad(set_to_none=True)`, "
               "`F.cross_entropy`, `torch.optim.SGD`) on the same initial weights and batch "
               "(`bench/peers/torch_train_peer.py`). `~GFLOP/s`: 3 x the forward conv/dense FLOPs (forward, "
               "input gradient, weight gradient) over the median, an estimate." % TRAIN_LR, ""]
        rows, tchecks = [], []
        for net in [n for n, _ in nets if n in TRAIN_NETS]:
            r = raw["train"].get(net)
            if r is None:
                continue
            if "error" in r:
                rows.append([net, "error: " + r["error"][:200]] + [""] * 10)
                continue
            pt = {l["threads"]: l for l in r.get("torch", {}).get("lines", []) if l.get("kind") == "time"}
            for n, thr in enumerate(THREADS):
                m = r["runs"][str(thr)]
                gf = 3 * r["flop_per_sample"] * TRAIN_BATCH / (m["median_ms"] * 1e6)
                tm = pt.get(thr, {}).get("median_ms")
                tc = pt.get(thr, {}).get("cpu_per_wall")
                rows.append([net if n == 0 else "", "%.1f" % r["compile_s"] if n == 0 else "",
                             "%.2f" % (r["object_bytes"] / 1048576) if n == 0 else "", thr,
                             fnum(m["median_ms"]), fnum(m["min_ms"]), "%.2f" % m["cpu_per_wall"],
                             "%.0f" % (TRAIN_BATCH * 1e3 / m["median_ms"]), "%.1f" % gf,
                             "%.0f%%" % (100 * gf / (thr * per_core)),
                             fnum(tm) + (" (%.2f)" % tc if tc is not None else ""), ratio(m["median_ms"], tm)])
            if torch_missing:
                tchecks.append([net, "n/a (%s)" % torch_missing, "", ""])
                continue
            tp = r.get("torch", {})
            if tp.get("error"):
                tchecks.append([net, "error: " + tp["error"][:160], "", ""])
            for l in [l for l in tp.get("lines", []) if l.get("kind") == "check"]:
                ldiff = max(abs(x - y) for x, y in zip(l["loss"], l["ref_loss"]))
                wtol = tolerance(l["max_abs_weight"])
                ok = ldiff <= 1e-4 + 1e-3 * max(abs(x) for x in l["ref_loss"]) and l["max_abs_weight_diff"] <= wtol
                verdict = ("dropout: the masks differ, so do the numbers; times only" if l["dropout"] else
                           "ok" if ok else "MISMATCH, its times are not comparable")
                tchecks.append([net, "nncc %s, torch %s" % (" ".join("%.6f" % x for x in l["ref_loss"]),
                                                            " ".join("%.6f" % x for x in l["loss"])),
                                "%.2e (max abs weight %.3g)" % (l["max_abs_weight_diff"], l["max_abs_weight"]), verdict])
        md.append(table(["net", "compile s", "object MB", "thr", "nncc ms", "nncc min", "cpu/wall", "samples/s",
                         "~GFLOP/s", "% peak", "torch ms (cpu/wall)", "nncc/torch"], rows))
        tstarved = [(n, m["cpu_per_wall"]) for n, r in raw["train"].items() for t, m in r.get("runs", {}).items()
                    if t == "1" and m["cpu_per_wall"] < 0.9]
        if tstarved:
            md += ["", "**%d of the 1-thread training steps got less than 0.9 of a core** (worst: %s at %.2f): their "
                       "times are inflated by other processes." % (
                           len(tstarved), min(tstarved, key=lambda x: x[1])[0], min(x[1] for x in tstarved))]
        if tchecks:
            md += ["", "PyTorch's first two steps vs nncc's from the same weights on the same batch (ok when the "
                       "losses agree to 1e-4 + 1e-3 x the loss and the weights after them to 1e-4 + 1e-3 x the "
                       "largest weight):", ""]
            md.append(table(["net", "losses of steps 1, 2", "max abs weight diff after 2 steps", "check"], tchecks))
        fm = raw.get("fashion_mnist")
        if fm:
            md += ["", "An epoch of `examples/fashion_mnist` (LeNet-5 as in `examples/lenet5.json`: `cross_entropy`, "
                       "Adam; batch 32; nncc::trainer with the model's default threads, the online CPUs; the epoch "
                       "time includes the pass over the validation images):", ""]
            if "error" in fm:
                md.append(table(["example", "result"], [["fashion_mnist", "n/a: " + fm["error"]]]))
            else:
                md.append(table(["example", "training images", "validation images", "epoch s", "training images / epoch s",
                                 "train loss", "val acc", "test acc after 1 epoch"],
                                [["fashion_mnist", fm["train_images"], fm["validation_images"], "%.2f" % fm["epoch_s"],
                                  "%.0f" % (fm["train_images"] / fm["epoch_s"]), "%.4f" % fm["train_loss"],
                                  "%.4f" % fm["val_acc"], "%.4f" % fm["test_accuracy"]]]))
    in_net = [(n, r) for n, r in raw["nets"].items() if "steps" in r]
    if in_net:
        md += ["", "## Per layer inside the network (the forward's steps timed by the runtime's profile, "
                   "NNCC_PROFILE, docs/runtime.md; a step is a conv or dense layer with what was fused into it: "
                   "batchnorm, activation, residual add, pool; mean ms over the profiled run, GFLOP/s of the "
                   "conv/dense alone, % of threads x 1-thread peak)", ""]
        md += ["Kernel `winograd`: the Winograd kernel F(2x2, 3x3) (docs/schedules.md), which does 2.25x fewer "
               "multiply-adds: its GFLOP/s and % peak count the direct convolution's FLOPs (an effective rate, "
               "which can pass 100%). `direct build`: the same step in the network compiled with "
               "`--conv-algorithm=direct`, the direct kernel's own rate.", ""]
        rows = []
        for net, r in in_net:
            batches = sorted({int(k.split("/")[0]) for k in r["steps"]})
            for name, flop in r["layer_flops"].items():
                for b in batches:
                    wino = name in r.get("winograd", [])
                    row = [net, name, "winograd" if wino else "direct", "%.2f" % (flop / 1e6), b]
                    direct = []
                    for t in THREADS:
                        key = "%d/%d" % (b, t)
                        ms = r["steps"].get(key, {}).get(name)
                        if ms is None:
                            row += ["-", "-", "-"]
                        else:
                            gf = flop * b / (ms * 1e6)
                            row += [fnum(ms), "%.1f" % gf, "%.0f%%" % (100 * gf / (t * per_core))]
                        dms = r.get("direct", {}).get("steps", {}).get(key, {}).get(name) if wino else None
                        direct += ["-", "-"] if dms is None else [
                            fnum(dms), "%.0f%%" % (100 * flop * b / (dms * 1e6) / (t * per_core))]
                    rows.append(row + direct)
        md.append(table(["net", "layer", "kernel", "MFLOP/sample", "batch", "1 thr ms", "GFLOP/s", "% peak",
                         "2 thr ms", "GFLOP/s", "% peak", "direct build 1 thr ms", "% peak", "2 thr ms", "% peak"],
                        rows))
    if raw["layers"]:
        md += ["", "## Per layer (each distinct conv2d/dense shape compiled alone: conv/dense + bias + the fused "
                   "activation; median ms, GFLOP/s = 2 x MACs / time, % of threads x 1-thread peak)", ""]
        rows = []
        for e in raw["layers"]:
            if "runs" not in e:
                rows.append([e["net"], ", ".join(e["layers"][:3]), e["desc"], "%.2f" % (e["flop_per_sample"] / 1e6),
                             "error: " + e.get("error", "?")[:200]] + [""] * 8)
                continue
            for b in e["batches"]:
                row = [e["net"], ", ".join(e["layers"]) if len(e["layers"]) <= 3 else "%s ... (%d)" % (
                    ", ".join(e["layers"][:2]), len(e["layers"])), e["desc"], "%.2f" % (e["flop_per_sample"] / 1e6), b]
                for t in THREADS:
                    m = e["runs"]["%d/%d" % (b, t)]
                    gf = e["flop_per_sample"] * b / (m["median_ms"] * 1e6)
                    row += [fnum(m["median_ms"]), "%.1f" % gf, "%.0f%%" % (100 * gf / (t * per_core)),
                            "%.2f" % m["cpu_per_wall"]]
                rows.append(row)
        md.append(table(["net", "layers", "shape (CxHxW in -> out)", "MFLOP/sample", "batch",
                         "1 thr ms", "GFLOP/s", "% peak", "cpu/wall", "2 thr ms", "GFLOP/s", "% peak", "cpu/wall"], rows))
    text = "\n".join(md) + "\n"
    print(text)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(a.out)[0] + ".raw.json", "w") as f:
        json.dump(raw, f, indent=1)
    log("bench: wrote %s" % os.path.relpath(a.out, ROOT))


if __name__ == "__main__":
    main()
