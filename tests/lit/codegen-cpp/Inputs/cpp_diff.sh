#!/bin/sh
# cpp_diff.sh MODEL.json DIR CC CXX [NNCC OPTIONS...]: compiles MODEL to
# DIR/m.cpp (+ m.h), builds it with CXX -O2 (lit's %cxx: g++, with the
# sanitizer flags in a sanitizer build) and, when present, with clang++-14
# -O2, links each with the same C driver as the object tests
# (codegen-e2e/Inputs/make_driver.py, compiled with CC) and compares every
# output with the interpreter at batch 1 (1 thread), a middle batch and
# MAX_BATCH (2 threads). Prints "<compiler> BxT: match: ..." per run; exits
# non-zero on any failure or mismatch.
set -e
model=$1 dir=$2 cc=$3 cxx=$4
shift 4
here=$(dirname "$0")
e2e=$here/../../codegen-e2e/Inputs
mkdir -p "$dir"
nncc "$model" "$@" -o "$dir/m.cpp"
nncc "$model" "$@" --emit=ir -o "$dir/m.ir"
max=$(sed -n 's/^#define [A-Za-z0-9_]*_MAX_BATCH \([0-9]*\).*/\1/p' "$dir/m.h")
mid=$(( (max + 1) / 2 ))
python3 "$e2e/make_driver.py" "$dir/m.h" "$dir/m.ir" > "$dir/driver.c"
$cc -std=c99 -Wall -Werror -c "$dir/driver.c" -I"$dir" -o "$dir/driver.o"
run() {  # run NAME COMPILER...
  name=$1
  shift
  "$@" -std=c++17 -O2 -c "$dir/m.cpp" -o "$dir/m_$name.o"
  $cxx "$dir/driver.o" "$dir/m_$name.o" -o "$dir/driver_$name" -lpthread -ldl -lm
  status=0
  python3 "$e2e/diff_run.py" "$model" "$dir/m.ir" "$dir/driver_$name" "$dir/out_$name" 1x1 "${mid}x2" "${max}x2" \
    --rtol 1e-4 --atol 1e-4 > "$dir/diff_$name.txt" || status=$?
  sed "s/^/$name /" "$dir/diff_$name.txt"
  return $status
}
# shellcheck disable=SC2086
run gcc $cxx
if command -v clang++-14 > /dev/null; then
  run clang clang++-14
else
  echo "clang++-14 not found: skipped"
fi
