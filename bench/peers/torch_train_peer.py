"""PyTorch training peer of the benchmark (not a test): builds the network of
an nncc model JSON with a training section (softmax_cross_entropy, sgd with
momentum; what bench.py derives) as a torch module (torch_peer.Net), loads the
initial weights the compiled model wrote, takes the same two training steps
as the compiled model on the same batch and compares the losses and the
weights after them, then times its training step: forward + loss + backward +
optimizer.step (eager mode, zero_grad(set_to_none=True)), at each thread
count (torch.set_num_threads).

  /usr/bin/python3 bench/peers/torch_train_peer.py MODEL.json --case BATCH:PREFIX \
      [--threads 1,2] [--budget-ms 2000]

PREFIX.safetensors (the initial weights), PREFIX.x.f32, PREFIX.labels.i32,
PREFIX.loss.txt (nncc's two losses) and PREFIX.after.safetensors (nncc's
weights after them) come from bench/train_step.c. Prints one JSON object per
line. Needs torch (Debian's python3-torch) and numpy; run it with OpenBLAS
(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp).
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import Net, print_info, read_cases, read_safetensors  # noqa: E402


def state_of(net):
    """nncc's parameter and buffer names -> the torch tensors."""
    out = {}
    for name, mod in net.layers.items():
        core = getattr(mod, "core", None)
        if core is None:
            continue
        for pname, t in list(core.named_parameters(recurse=False)) + list(core.named_buffers(recurse=False)):
            if pname != "num_batches_tracked":
                out["%s.%s" % (name, pname)] = t
    return out


def load(net, tensors):
    """Loads the model's tensors; nncc's optimizer state (other names) is left out."""
    state = state_of(net)
    for key, t in state.items():
        if key not in tensors:
            raise KeyError("weights: no %s in the file" % key)
        v = tensors[key]
        if tuple(t.shape) != v.shape:
            raise ValueError("weights: %s %s != %s" % (key, v.shape, tuple(t.shape)))
        with torch.no_grad():
            t.copy_(torch.from_numpy(v))


def loss_fn(model):
    spec = model["training"]["loss"]
    if isinstance(spec, list):
        spec = spec[0]
    if spec["type"] == "softmax_cross_entropy":
        return lambda out, y: F.cross_entropy(out, y)
    if spec["type"] == "cross_entropy":  # the output is already a softmax
        return lambda out, y: F.nll_loss(torch.log(out), y)
    raise NotImplementedError("loss " + spec["type"])


def optimizer(model, params):
    o = model["training"]["optimizer"]
    if o["type"] != "sgd":
        raise NotImplementedError("optimizer " + o["type"])
    if model["training"].get("regularization") or model["training"].get("schedule", {}).get("type", "constant") != "constant":
        raise NotImplementedError("regularization or a schedule")
    return torch.optim.SGD(params, lr=o.get("learning_rate", 0.01), momentum=o.get("momentum", 0.0),
                           nesterov=o.get("nesterov", False))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--case", action="append", default=[], help="BATCH:PREFIX")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--budget-ms", type=float, default=2000)
    a = ap.parse_args()
    with open(a.model) as f:
        model = json.load(f)
    shape = model["inputs"][0]["shape"]
    crit = loss_fn(model)
    has_dropout = any(l["type"] == "dropout" for l in model["layers"])
    print_info()
    for batch, prefix, x in read_cases(a.case, shape):
        y = torch.from_numpy(np.fromfile(prefix + ".labels.i32", dtype="<i4").astype(np.int64))
        net = Net(model)
        load(net, read_safetensors(prefix + ".safetensors"))
        net.train()
        opt = optimizer(model, net.parameters())

        def step():
            opt.zero_grad(set_to_none=True)
            loss = crit(net(x), y)
            loss.backward()
            opt.step()
            return loss

        # the same two steps as nncc's, from the same weights
        torch.set_num_threads(1)
        losses = [float(step().item()) for _ in range(2)]
        with open(prefix + ".loss.txt") as f:
            ref_losses = [float(v) for v in f.read().split()]
        after = read_safetensors(prefix + ".after.safetensors")
        wdiff, wmax = 0.0, 0.0
        for key, t in state_of(net).items():
            ref = after[key]
            wdiff = max(wdiff, float(np.abs(t.detach().numpy() - ref).max()))
            wmax = max(wmax, float(np.abs(ref).max()))
        print(json.dumps({"kind": "check", "batch": batch, "loss": losses, "ref_loss": ref_losses,
                          "max_abs_weight_diff": wdiff, "max_abs_weight": wmax,
                          "dropout": has_dropout}), flush=True)
        for thr in [int(t) for t in a.threads.split(",")]:
            torch.set_num_threads(thr)
            s = time.perf_counter()
            step()
            w = (time.perf_counter() - s) * 1e3
            step()
            reps = min(200, int(a.budget_ms / w) if w > 0 else 200)
            reps = max(reps, 3 if w > 1000 else 5)
            t = []
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(reps):
                s = time.perf_counter()
                step()
                t.append((time.perf_counter() - s) * 1e3)
            share = (time.process_time() - c0) / (time.perf_counter() - w0)
            print(json.dumps({"kind": "time", "batch": batch, "threads": thr, "median_ms": statistics.median(t),
                              "min_ms": min(t), "reps": reps, "cpu_per_wall": share}), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the bench prints n/a and goes on
        print(json.dumps({"kind": "error", "message": "%s: %s" % (type(e).__name__, e)}), flush=True)
        sys.exit(1)
