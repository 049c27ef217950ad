#!/usr/bin/env python3
"""Writes filters.safetensors beside this script: the weight [3, 1, 3, 3] of
the conv2d layer "filters" in filters.json (no bias). Standard library only.

  filter 0: edge detection  [-1 -1 -1; -1 8 -1; -1 -1 -1]
  filter 1: sharpen         [ 0 -1  0; -1 5 -1;  0 -1  0]
  filter 2: Gaussian blur   1/16 [1 2 1; 2 4 2; 1 2 1]

nncc's conv2d is a cross-correlation (as PyTorch's); these kernels are
symmetric, so it is also the convolution.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from safetensors_file import write_safetensors  # noqa: E402

EDGE = [-1, -1, -1, -1, 8, -1, -1, -1, -1]
SHARPEN = [0, -1, 0, -1, 5, -1, 0, -1, 0]
BLUR = [v / 16.0 for v in (1, 2, 1, 2, 4, 2, 1, 2, 1)]

tensors = {"filters.weight": ([3, 1, 3, 3], [float(v) for v in EDGE + SHARPEN + BLUR])}
write_safetensors(os.path.join(os.path.dirname(os.path.abspath(__file__)), "filters.safetensors"), tensors)
