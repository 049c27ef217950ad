#!/bin/sh
# parallel.sh FILE: runs every line of FILE as a shell command, all at once,
# and succeeds only when every one of them exits 0.
pids=""
while IFS= read -r line; do
  [ -z "$line" ] && continue
  sh -c "$line" &
  pids="$pids $!"
done < "$1"
status=0
for p in $pids; do
  wait "$p" || status=1
done
exit $status
