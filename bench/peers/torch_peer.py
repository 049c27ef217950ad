"""PyTorch peer of the benchmark (not a test): builds the network of an nncc
model JSON as a torch module, loads the weights the compiled model wrote
(safetensors), checks its output against the compiled model's on the same
input, times its best inference path (torch.jit.trace + freeze +
optimize_for_inference) and exports it to ONNX for the ONNX Runtime peer.

  /usr/bin/python3 bench/peers/torch_peer.py MODEL.json WEIGHTS.safetensors \
      --case BATCH:PREFIX ... [--threads 1,2] [--budget-ms 2000] [--onnx OUT.onnx]

PREFIX.x.f32 / PREFIX.y.f32 are the input and nncc's output at BATCH
(bench/forward.c writes them). Prints one JSON object per line.
Needs torch (Debian's python3-torch) and numpy; run it with OpenBLAS
(LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp).
"""
import argparse
import json
import math
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, d in header.items():
        if name == "__metadata__":
            continue
        if d["dtype"] != "F32":
            raise ValueError("%s: dtype %s" % (name, d["dtype"]))
        a, b = d["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(d["shape"]).copy()
    return out


def pair(v):
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def pads(layer, h, w, k, s, d):
    """(top, left, bottom, right) of an nncc padding attribute."""
    p = layer.get("padding", "valid")
    if p == "valid":
        return 0, 0, 0, 0
    if p == "same":
        out = []
        for size, kk, ss, dd in ((h, k[0], s[0], d[0]), (w, k[1], s[1], d[1])):
            total = max((math.ceil(size / ss) - 1) * ss + dd * (kk - 1) + 1 - size, 0)
            out.append((total // 2, total - total // 2))
        return out[0][0], out[1][0], out[0][1], out[1][1]
    if isinstance(p, int):
        return p, p, p, p
    if len(p) == 2:
        return p[0], p[1], p[0], p[1]
    return tuple(p)


class Act(nn.Module):
    def __init__(self, spec):
        super().__init__()
        if isinstance(spec, str):
            spec = {"type": spec}
        self.kind = spec["type"]
        self.alpha = float(spec.get("alpha", 0.01 if self.kind == "leaky_relu" else 1.0))

    def forward(self, x):
        k = self.kind
        if k == "relu":
            return F.relu(x)
        if k == "sigmoid":
            return torch.sigmoid(x)
        if k == "tanh":
            return torch.tanh(x)
        if k == "leaky_relu":
            return F.leaky_relu(x, self.alpha)
        if k == "elu":
            return F.elu(x, self.alpha)
        if k == "step":
            return (x > 0).to(x.dtype)
        raise ValueError("activation " + k)


class Layer(nn.Module):
    """One nncc layer; `core` holds the parameters under nncc's names."""

    def __init__(self, layer, in_shapes):
        super().__init__()
        t = layer["type"]
        self.type, self.pre, self.act = t, None, None
        self.axis = layer.get("axis", 0) + 1
        self.shape = layer.get("shape")
        self.rate = float(layer.get("rate", 0.5))  # dropout: active in train() mode only
        if layer.get("activation"):
            self.act = Act(layer["activation"])
        shp = in_shapes[0]
        if t == "dense":
            if len(shp) != 1:
                raise ValueError("dense on rank %d" % len(shp))
            self.core = nn.Linear(shp[0], layer["units"], bias=layer.get("use_bias", True))
        elif t in ("conv2d", "conv2d_transpose"):
            c, h, w = shp
            k, s, d = pair(layer["kernel"]), pair(layer.get("stride", 1)), pair(layer.get("dilation", 1))
            g = layer.get("groups", 1)
            pt, pl, pb, pr = pads(layer, h, w, k, s, d)
            if t == "conv2d":
                if (pt, pl) != (pb, pr):
                    self.pre = nn.ZeroPad2d((pl, pr, pt, pb))
                    pt = pl = 0
                self.core = nn.Conv2d(c, layer["filters"], k, s, (pt, pl), d, g, bias=layer.get("use_bias", True))
            else:
                if (pt, pl) != (pb, pr):
                    raise NotImplementedError("asymmetric conv2d_transpose padding")
                self.core = nn.ConvTranspose2d(c, layer["filters"], k, s, (pt, pl), pair(layer.get("output_padding", 0)),
                                               g, bias=layer.get("use_bias", True), dilation=d)
        elif t in ("maxpool2d", "avgpool2d"):
            c, h, w = shp
            k = pair(layer["size"])
            s = pair(layer.get("stride", layer["size"]))
            pt, pl, pb, pr = pads(layer, h, w, k, s, (1, 1))
            if (pt, pl) != (pb, pr):
                raise NotImplementedError("asymmetric pool padding")
            if t == "maxpool2d":
                self.core = nn.MaxPool2d(k, s, (pt, pl), ceil_mode=layer.get("ceil_mode", False))
            else:
                self.core = nn.AvgPool2d(k, s, (pt, pl), ceil_mode=layer.get("ceil_mode", False),
                                         count_include_pad=layer.get("count_include_pad", False))
        elif t == "batchnorm":
            cls = nn.BatchNorm2d if len(shp) == 3 else nn.BatchNorm1d
            self.core = cls(shp[0], eps=layer.get("epsilon", 1e-5), momentum=layer.get("momentum", 0.1))
        elif t in ("relu", "sigmoid", "tanh", "step", "leaky_relu", "elu"):
            spec = {"type": t}
            if "alpha" in layer:
                spec["alpha"] = layer["alpha"]
            self.act = Act(spec)
        elif t not in ("global_avgpool2d", "global_maxpool2d", "softmax", "log_softmax", "dropout",
                       "flatten", "reshape", "add", "concat"):
            raise NotImplementedError("layer type " + t)

    def forward(self, xs):
        t, x = self.type, xs[0]
        if self.pre is not None:
            x = self.pre(x)
        if t in ("dense", "conv2d", "conv2d_transpose", "maxpool2d", "avgpool2d", "batchnorm"):
            x = self.core(x)
        elif t == "global_avgpool2d":
            x = torch.mean(x, dim=(2, 3))
        elif t == "global_maxpool2d":
            x = torch.amax(x, dim=(2, 3))
        elif t == "softmax":
            x = torch.softmax(x, self.axis)
        elif t == "log_softmax":
            x = torch.log_softmax(x, self.axis)
        elif t == "dropout":
            x = F.dropout(x, self.rate, self.training)
        elif t == "flatten":
            x = torch.flatten(x, 1)
        elif t == "reshape":
            x = x.reshape([x.shape[0]] + list(self.shape))
        elif t == "add":
            for y in xs[1:]:
                x = x + y
        elif t == "concat":
            x = torch.cat(xs, self.axis)
        if self.act is not None:
            x = self.act(x)
        return x


class Net(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.input_names = [i["name"] for i in model["inputs"]]
        if len(self.input_names) != 1:
            raise NotImplementedError("one input only")
        inp = model["inputs"][0]
        shape = inp["shape"]
        pre = model.get("preprocess", {}).get(inp["name"])
        view = [-1] + [1] * (len(shape) - 1)
        if pre:
            self.register_buffer("mean", torch.tensor(pre["mean"], dtype=torch.float32).reshape(view))
            self.register_buffer("std", torch.tensor(pre["std"], dtype=torch.float32).reshape(view))
        self.has_pre = bool(pre)
        self.layers = nn.ModuleDict()
        self.order = []  # (name, input names)
        shapes = {inp["name"]: list(shape)}
        values = {inp["name"]: torch.zeros([1] + list(shape))}
        prev = inp["name"]
        for i, layer in enumerate(model["layers"]):
            name = layer.get("name", "%s_%d" % (layer["type"], i))
            ins = layer.get("inputs", [prev])
            mod = Layer(layer, [shapes[n] for n in ins]).eval()
            with torch.no_grad():
                values[name] = mod([values[n] for n in ins])
            shapes[name] = list(values[name].shape[1:])
            self.layers[name] = mod
            self.order.append((name, ins))
            prev = name
        self.outputs = model.get("outputs", [prev])
        if len(self.outputs) != 1:
            raise NotImplementedError("one output only")

    def forward(self, x):
        if self.has_pre:
            x = (x - self.mean) / self.std
        vals = {self.input_names[0]: x}
        for name, ins in self.order:
            vals[name] = self.layers[name]([vals[n] for n in ins])
        return vals[self.outputs[0]]

    def load_nncc_weights(self, tensors):
        for key, value in tensors.items():
            layer, _, param = key.rpartition(".")
            if layer not in self.layers or not hasattr(self.layers[layer], "core"):
                raise KeyError("weights: no layer for " + key)
            target = getattr(self.layers[layer].core, param)
            if tuple(target.shape) != value.shape:
                raise ValueError("weights: %s %s != %s" % (key, value.shape, tuple(target.shape)))
            with torch.no_grad():
                target.copy_(torch.from_numpy(value))


def print_info():
    """The peer's first line: PyTorch's version and BLAS."""
    print(json.dumps({"kind": "info", "torch": torch.__version__,
                      "blas": "openblas" if "openblas" in torch.__config__.show().lower() else "?"}), flush=True)


def read_cases(cases, shape):
    """Each --case BATCH:PREFIX as (batch, prefix, the input PREFIX.x.f32 of shape [batch] + shape)."""
    for case in cases:
        batch, prefix = case.split(":", 1)
        batch = int(batch)
        x = torch.from_numpy(np.fromfile(prefix + ".x.f32", dtype="<f4").reshape([batch] + shape))
        yield batch, prefix, x


def timed(fn, x, budget_ms, max_reps=200):
    s = time.perf_counter()
    fn(x)
    w = (time.perf_counter() - s) * 1e3
    fn(x)
    reps = min(max_reps, int(budget_ms / w) if w > 0 else max_reps)
    reps = max(reps, 3 if w > 1000 else 5)
    t = []
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(reps):
        s = time.perf_counter()
        fn(x)
        t.append((time.perf_counter() - s) * 1e3)
    share = (time.process_time() - c0) / (time.perf_counter() - w0)
    return statistics.median(t), min(t), reps, share


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("weights")
    ap.add_argument("--case", action="append", default=[], help="BATCH:PREFIX")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--budget-ms", type=float, default=2000)
    ap.add_argument("--onnx")
    a = ap.parse_args()
    with open(a.model) as f:
        model = json.load(f)
    net = Net(model)
    net.load_nncc_weights(read_safetensors(a.weights))
    net.eval()
    shape = model["inputs"][0]["shape"]
    print_info()
    for batch, prefix, x in read_cases(a.case, shape):
        ref = np.fromfile(prefix + ".y.f32", dtype="<f4")
        with torch.inference_mode():
            eager = net(x)
        with torch.no_grad():
            best = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(net, x)))
        with torch.inference_mode():
            y = best(x)
        diff = max(float(np.abs(eager.numpy().reshape(-1) - ref).max()),
                   float(np.abs(y.numpy().reshape(-1) - ref).max()))
        print(json.dumps({"kind": "check", "batch": batch, "max_abs_diff": diff,
                          "max_abs_ref": float(np.abs(ref).max())}), flush=True)
        for thr in [int(t) for t in a.threads.split(",")]:
            torch.set_num_threads(thr)
            with torch.inference_mode():
                med, lo, reps, share = timed(best, x, a.budget_ms)
            print(json.dumps({"kind": "time", "batch": batch, "threads": thr, "median_ms": med,
                              "min_ms": lo, "reps": reps, "cpu_per_wall": share}), flush=True)
    if a.onnx:
        x = torch.zeros([1] + shape)
        torch.onnx.export(net, x, a.onnx, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=13)
        print(json.dumps({"kind": "onnx", "path": a.onnx}), flush=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the bench prints n/a and goes on
        print(json.dumps({"kind": "error", "message": "%s: %s" % (type(e).__name__, e)}), flush=True)
        sys.exit(1)
