#!/usr/bin/env python3
"""Writes examples/resnet18.json: torchvision's ResNet-18 (11,689,512
trainable parameters). A torchvision module path becomes a layer name with
'.' replaced by '_' (layer1.0.conv1 -> layer1_0_conv1), so state_dict keys map
one to one: layer1.0.conv1.weight <-> layer1_0_conv1.weight. Standard library
only; run once: python3 examples/tools/gen_resnet18.py
"""
import json, os

layers = []


def add(type, name, inputs=None, **attrs):
    layer = {"type": type, "name": name}
    if inputs and (not layers or inputs != [layers[-1]["name"]]):  # default: the previous layer
        layer["inputs"] = inputs
    layer.update(attrs)
    layers.append(layer)
    return name


def conv_bn(conv, bn, inp, filters, kernel, stride, padding):
    add("conv2d", conv, [inp], filters=filters, kernel=kernel, stride=stride, padding=padding, use_bias=False)
    return add("batchnorm", bn)


def basic_block(p, inp, filters, stride):
    conv_bn(p + "conv1", p + "bn1", inp, filters, 3, stride, 1)
    add("relu", p + "relu")
    main = conv_bn(p + "conv2", p + "bn2", p + "relu", filters, 3, 1, 1)
    shortcut = inp
    if stride != 1:  # torchvision: downsample = Sequential(conv1x1 stride 2, BatchNorm2d)
        shortcut = conv_bn(p + "downsample_0", p + "downsample_1", inp, filters, 1, stride, 0)
    add("add", p + "add", [main, shortcut])
    return add("relu", p + "out")


add("conv2d", "conv1", filters=64, kernel=7, stride=2, padding=3, use_bias=False)
add("batchnorm", "bn1")
add("relu", "relu")
x = add("maxpool2d", "maxpool", size=3, stride=2, padding=1)
for stage, filters in enumerate([64, 128, 256, 512], start=1):
    for index in range(2):
        stride = 2 if stage > 1 and index == 0 else 1
        x = basic_block("layer%d_%d_" % (stage, index), x, filters, stride)
add("global_avgpool2d", "avgpool")
add("dense", "fc", units=1000)

text = """{
  "nncc": 1,
  "name": "resnet18",
  "inputs": [{"name": "image", "shape": [3, 224, 224]}],
  "preprocess": {"image": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}},
  "layers": [
%s
  ],
  "outputs": ["fc"],
  "max_batch": 8,
  "init": {"seed": 0, "weights": "he_normal"}
}
""" % ",\n".join("    " + json.dumps(l) for l in layers)
json.loads(text)  # valid JSON
out = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resnet18.json")
with open(out, "w") as f:
    f.write(text)
