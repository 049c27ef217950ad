#!/bin/sh
# ctest trainer-package: installs nncc from the build tree into a scratch
# prefix, builds the user project beside this script against it (nncc::trainer
# + nncc_add_model) and runs it.  run.sh BUILD_DIR SCRATCH_DIR EXAMPLES_DIR
set -eu
build=$1 scratch=$2 examples=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$scratch" && mkdir -p "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" > "$scratch/install.log"
test -f "$scratch/prefix/lib/cmake/nncc/nnccTargets.cmake"
test -f "$scratch/prefix/include/nncc/runtime/trainer/Trainer.h"
cmake -S "$here" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" -DMODELS="$examples" > "$scratch/configure.log"
cmake --build "$scratch/build" > "$scratch/build.log"
status=0
"$scratch/build/app" "$scratch" > "$scratch/app.log" || status=$?
cat "$scratch/app.log"
test "$status" -eq 0
test "$(grep -c '^xor ' "$scratch/app.log")" -eq 4
test "$(wc -l < "$scratch/xor.csv")" -ge 2
grep -q '</svg>' "$scratch/xor.svg"
