#!/bin/sh
# cpp_diff.sh MODEL.json DIR "BxT ...": compiles MODEL to DIR/m.cpp, builds it
# with c++ -O2 and the codegen-e2e driver, and compares with the interpreter.
set -e
model=$1 dir=$2 runs=$3
here=$(dirname "$0")
e2e=$here/../../codegen-e2e/Inputs
mkdir -p "$dir"
nncc "$model" -o "$dir/m.cpp"
nncc "$model" --emit=ir -o "$dir/m.ir"
python3 "$e2e/make_driver.py" "$dir/m.h" "$dir/m.ir" > "$dir/driver.c"
c++ -std=c++17 -O2 -c "$dir/m.cpp" -o "$dir/m.o"
cc -std=c99 -Wall -Werror -c "$dir/driver.c" -I"$dir" -o "$dir/driver.o"
c++ "$dir/driver.o" "$dir/m.o" -o "$dir/driver" -lpthread -ldl -lm
# shellcheck disable=SC2086
python3 "$e2e/diff_run.py" "$model" "$dir/m.ir" "$dir/driver" "$dir/out" $runs --rtol 1e-4 --atol 1e-4
