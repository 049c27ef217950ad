#!/usr/bin/env bash
# The benchmark (not a test), one command: bench/run.sh [BUILD_DIR] [options]
# For mlp, lenet5, vgg_cifar and resnet18: the FMA peak, compile time, object
# size, forward latency at batch 1 and 32 (resnet18: 8) with 1 and 2 threads,
# the peers (PyTorch, ONNX Runtime; n/a when missing) on the same weights,
# and per-layer GFLOP/s; the training step (NAME_train_step, batch 32, sgd
# with momentum) of mlp, lenet5 and vgg_cifar against PyTorch's, and an epoch
# of examples/fashion_mnist (--no-train: without them; --train-only: only
# them). Prints the tables and writes bench/results/latest.md.
# Options: bench/bench.py --help. Peers: bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/bench.py "$@"
