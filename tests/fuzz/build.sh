#!/bin/sh
# Builds the libFuzzer targets fuzz_model, fuzz_safetensors and fuzz_npy into
# tests/fuzz/out/ (or $NNCC_FUZZ_OUT) with clang++-14, libFuzzer, ASan and
# UBSan, compiling the readers' sources directly (not compiler/lower or
# compiler/reference, which need Halide). Needs Debian's libclang-rt-14-dev.
# Incremental: a source is recompiled when it or any project header is newer
# than its object. See docs/fuzzing.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${NNCC_FUZZ_OUT:-$here/out}
cxx=${CXX_FUZZ:-clang++-14}
flags="-std=c++17 -g -O1 -fno-omit-frame-pointer -I$root"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
mkdir -p "$out/obj"

# The newest project header: a change to any header rebuilds everything.
newest_header=$(ls -t "$root"/frontend/*.h "$root"/compiler/ir/*.h "$root"/compiler/ir/*.def \
  "$root"/compiler/weights/*.h "$root"/runtime/*.h | head -n 1)

objs=""
pids=""
for src in "$root"/frontend/*.cpp "$root"/compiler/ir/*.cpp "$root"/compiler/weights/*.cpp "$root"/runtime/*.cpp; do
  rel=${src#"$root"/}
  obj="$out/obj/$(echo "$rel" | tr / _).o"
  objs="$objs $obj"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_header" -nt "$obj" ]; then
    echo "compile $rel"
    $cxx $flags $san -fsanitize=fuzzer-no-link -c "$src" -o "$obj" &
    pids="$pids $!"
  fi
done
for p in $pids; do wait "$p"; done

for t in fuzz_model fuzz_safetensors fuzz_npy; do
  bin="$out/$t"
  need=0
  if [ ! -f "$bin" ] || [ "$here/$t.cpp" -nt "$bin" ]; then need=1; fi
  for o in $objs; do
    if [ "$o" -nt "$bin" ]; then need=1; fi
  done
  if [ $need = 1 ]; then
    echo "link $t"
    # shellcheck disable=SC2086
    $cxx $flags $san -fsanitize=fuzzer "$here/$t.cpp" $objs -o "$bin"
  fi
done
echo "fuzzers in $out"
