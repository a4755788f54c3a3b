#!/usr/bin/env bash
# Runs one phase of the build or test run and records how long it took, so that
# .ci/run can say where its minutes went: appends "NAME SECONDS STATUS START" (START
# in seconds since the epoch) to $CARAVAN_PHASES (default out/phases.txt).
# usage: phase.sh NAME COMMAND [ARGS…]
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
name=$1
shift
log=${CARAVAN_PHASES:-$top/out/phases.txt}
mkdir -p "$(dirname "$log")"
start=$(date +%s)
echo "==> phase $name: $(date -u +%T)"
"$@"
status=$?
printf '%s %d %d %d\n' "$name" $(($(date +%s) - start)) "$status" "$start" >>"$log"
exit "$status"
