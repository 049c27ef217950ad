#!/bin/sh
# run.sh TARGET SECONDS [LIBFUZZER-OPTION...]
# Builds the fuzzers if needed (build.sh) and runs fuzz_TARGET (model,
# safetensors or npy) for SECONDS on one core. New inputs go to
# tests/fuzz/work/TARGET/ (the checked-in seeds in tests/fuzz/corpus/TARGET/
# are read, never written), crashes, timeouts, OOMs and leaks to
# tests/fuzz/work/artifacts/. Ends with libFuzzer's final stats (executions,
# cov:, ft:). See docs/fuzzing.md.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: run.sh model|safetensors|npy SECONDS [LIBFUZZER-OPTION...]" >&2
  exit 2
fi
target=$1
seconds=$2
shift 2
case $target in
  model) max_len=65536 ;;
  safetensors) max_len=16384 ;;
  npy) max_len=4096 ;;
  *) echo "run.sh: unknown target '$target' (model, safetensors or npy)" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
out=${NNCC_FUZZ_OUT:-$here/out}
"$here/build.sh" >&2
work=$here/work
mkdir -p "$work/$target" "$work/artifacts"
exec "$out/fuzz_$target" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/$target-" "$@" "$work/$target" "$here/corpus/$target"
