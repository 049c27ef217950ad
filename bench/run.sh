#!/usr/bin/env bash
# The benchmark (not a test): for each example network, compile time, object
# size, and forward latency of the compiled object (median, ms) at batch 1 and
# a larger batch, with 1 and 2 threads; the baseline measured in the same run
# is the reference interpreter (nncc-run) on the same batch.
#   bench/run.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
nncc=$build/tools/nncc
run=$build/tools/nncc-run
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
printf '%-10s %9s %9s %6s %6s %10s %10s %12s %9s\n' model compile_s object_MB batch thr compiled_ms interp_ms interp/compiled
# model input output big-batch
for spec in "lenet5 image probs 32" "vgg_cifar image logits 32" "resnet18 image fc 8"; do
  set -- $spec
  m=$1 in=$2 out=$3 big=$4
  s=$(date +%s.%N)
  "$nncc" "examples/$m.json" -o "$work/$m.o"
  e=$(date +%s.%N)
  up=$(echo "$m" | tr a-z A-Z); uin=$(echo "$in" | tr a-z A-Z); uout=$(echo "$out" | tr a-z A-Z)
  cc -O2 -std=c99 -D_POSIX_C_SOURCE=199309L -DMODEL="$m" -DUMODEL="$up" -DIN="$uin" -DOUT="$uout" \
     -include "$work/$m.h" bench/forward.c "$work/$m.o" -o "$work/$m.bench" -lpthread -ldl -lm
  size=$(stat -c %s "$work/$m.o")
  shape=$(grep -o '"shape": *\[[0-9, ]*\]' "examples/$m.json" | head -1 | grep -o '\[.*\]' | tr -d '[] ')
  for batch in 1 "$big"; do
    python3 tests/lit/passes/Inputs/write_npy.py "$work/x.npy" "$batch,$shape" 1
    si=$(date +%s.%N)
    "$run" "examples/$m.json" --input "$in=$work/x.npy" --output-dir "$work/out" > /dev/null
    ei=$(date +%s.%N)
    interp=$(echo "($ei - $si) * 1000" | bc -l)
    for thr in 1 2; do
      ms=$("$work/$m.bench" "$batch" "$thr" 10)
      printf '%-10s %9.2f %9.2f %6s %6s %10.3f %10.1f %12.0fx\n' "$m" "$(echo "$e - $s" | bc -l)" \
        "$(echo "$size / 1048576" | bc -l)" "$batch" "$thr" "$ms" "$interp" "$(echo "$interp / $ms" | bc -l)"
    done
  done
done
echo "(interp_ms is one whole nncc-run process, parsing and weight initialization included: an upper bound)"
