#!/bin/sh
# expect-exit.sh STATUS COMMAND [ARG...]
# Runs COMMAND (its stdout and stderr pass through) and succeeds only when it
# exits with exactly STATUS; lit's `not` accepts any non-zero status, and a
# crash or an internal error (status 2) must not pass for a reported error.
want=$1
shift
"$@"
got=$?
if [ "$got" -ne "$want" ]; then
  echo "expect-exit.sh: '$1' exited with status $got, expected $want" >&2
  exit 1
fi
exit 0
