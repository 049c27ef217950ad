#!/usr/bin/env bash
# Training-step time of lenet5 and vgg_cifar (their training sections) at
# batch 32 on 1 and 2 threads, compiled by the nncc binary NNCC:
#   bench/train_kernels/run.sh [NNCC] [REPEATS_LENET] [REPEATS_VGG]
# The machine is shared: the load average is printed before each model.
set -euo pipefail
nncc=$(realpath "${1:-build/tools/nncc}")
cd "$(dirname "$0")/../.."
out=$(mktemp -d /tmp/train-bench-XXXXXX)
trap 'rm -rf "$out"' EXIT
cc -O2 -o "$out/train_bench" bench/train_kernels/train_bench.c -ldl
run() {  # model input-floats classes repeats
  "$nncc" "examples/$1.json" -o "$out/$1.o"
  cc -shared -o "$out/$1.so" "$out/$1.o" -lpthread -ldl -lm
  for thr in 1 2; do
    echo "# $1 $(uptime)"
    "$out/train_bench" "$out/$1.so" "$1" "$2" "$3" 32 "$thr" "$4"
  done
}
run lenet5 784 10 "${2:-40}"
run vgg_cifar 3072 10 "${3:-5}"
