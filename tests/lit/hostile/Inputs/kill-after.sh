#!/bin/sh
# kill-after.sh SECONDS REFERENCE COMMAND...: starts COMMAND (which writes
# out.*), kills it with SIGKILL after SECONDS, and checks the folder: either
# the command was killed and no out.* and no .*nncc-tmp* file exists, or it had
# finished and out.o equals REFERENCE (when not "-"). Cleans up after itself.
secs=$1 ref=$2
shift 2
"$@" 2>/dev/null &
pid=$!
sleep "$secs"
kill -9 "$pid" 2>/dev/null
wait "$pid"
status=$?
leftovers=$(ls -A | grep -e 'nncc-tmp' -e '\.tmp\.')
if [ -n "$leftovers" ]; then
  echo "kill-after.sh: temporary files left: $leftovers" >&2
  exit 1
fi
if [ "$status" -eq 137 ]; then
  if ls out.* >/dev/null 2>&1; then
    # Killed after the object's rename but before the header's: the object is complete.
    if [ -e out.o ] && [ "$ref" != "-" ] && ! cmp -s out.o "$ref"; then
      echo "kill-after.sh: killed, and out.o is not complete" >&2
      exit 1
    fi
  fi
  echo "killed after $secs s: nothing partial left"
elif [ "$status" -eq 0 ]; then
  if [ "$ref" != "-" ] && ! cmp -s out.o "$ref"; then
    echo "kill-after.sh: finished, but out.o differs from $ref" >&2
    exit 1
  fi
  echo "finished before $secs s: complete outputs"
else
  echo "kill-after.sh: the command exited with $status" >&2
  exit 1
fi
rm -f out.*
exit 0
