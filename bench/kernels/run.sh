#!/usr/bin/env bash
# Per-layer GFLOP/s of the conv2d and dense kernels of vgg_cifar, lenet5 and
# resnet18's 3x3 convs, at batch 1 and 32, with 1 and 2 threads.
#   bench/kernels/run.sh [BUILD_DIR] [kernel_bench options, e.g. --baseline]
set -euo pipefail
build=${1:-build}; shift || true
cd "$(dirname "$0")/../.."
bin=$build/bench-kernels/kernel_bench
mkdir -p "$(dirname "$bin")"
if [ ! -x "$bin" ] || [ bench/kernels/kernel_bench.cpp -nt "$bin" ] || [ "$build/compiler/libnncc_lower.a" -nt "$bin" ]; then
  g++ -O2 -std=c++17 -I. -I/usr/include/halide14 bench/kernels/kernel_bench.cpp -o "$bin" \
    "$build/frontend/libnncc_frontend.a" "$build/compiler/libnncc_lower.a" "$build/compiler/libnncc_passes.a" \
    "$build/compiler/libnncc_reference.a" "$build/compiler/libnncc_weights.a" "$build/compiler/libnncc_ir.a" \
    $(ls "$build"/*/libnncc_support.a 2>/dev/null) -lHalide14 -lpthread -ldl
fi
layers=(
  vgg.conv1_1:conv:3:32:32:64:3:1:1 vgg.conv1_2:conv:64:32:32:64:3:1:1
  vgg.conv2_1:conv:64:16:16:128:3:1:1 vgg.conv2_2:conv:128:16:16:128:3:1:1
  vgg.conv3_1:conv:128:8:8:256:3:1:1 vgg.conv3_2:conv:256:8:8:256:3:1:1
  vgg.fc1:dense:4096:256 vgg.logits:dense:256:10
  lenet.conv1:conv:1:28:28:6:5:1:2 lenet.conv2:conv:6:14:14:16:5:1:0
  lenet.fc1:dense:400:120 lenet.fc2:dense:120:84 lenet.logits:dense:84:10
  r18.l1_3x3:conv:64:56:56:64:3:1:1 r18.l2_0_conv1_s2:conv:64:56:56:128:3:2:1 r18.l2_3x3:conv:128:28:28:128:3:1:1
  r18.l3_0_conv1_s2:conv:128:28:28:256:3:2:1 r18.l3_3x3:conv:256:14:14:256:3:1:1
  r18.l4_0_conv1_s2:conv:256:14:14:512:3:2:1 r18.l4_3x3:conv:512:7:7:512:3:1:1
)
echo "# $(uptime)"
for thr in 1 2; do
  HL_NUM_THREADS=$thr "$bin" --batch 1,32 "$@" "${layers[@]}"
done
