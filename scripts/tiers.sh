#!/usr/bin/env bash
# `make test` after the unit tier: the end-to-end tier, with the release build beside
# it at the lowest CPU priority (it gets the CPU time the guests leave idle, and the
# tier's guests keep theirs), then side by side the fuzz run (one core), the install-deps
# test and, once the release binary is there, the package (`make deb`) and its test. Each
# is a phase (phase.sh); what ran beside the tier or each other is logged to
# out/logs/NAME.log and printed when it ends. Stops at the first failure; Ctrl-C
# or a failure stops what runs beside.
# usage: tiers.sh   (from the Makefile, with the end-to-end environment set)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
logs=$top/out/logs
mkdir -p "$logs"
declare -A job  # phase name -> pid
# Each job runs in a session of its own (setsid): stopping it stops the compilers and
# chroots it started.
stop() {
  for pid in "${job[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
}
trap 'stop; exit 130' INT TERM

# Runs phase NAME (COMMAND…) in the background, its output to out/logs/NAME.log.
beside() {
  local name=$1
  shift
  setsid scripts/phase.sh "$name" "$@" >"$logs/$name.log" 2>&1 </dev/null &
  job[$name]=$!
}

# Waits for phase NAME started by `beside`, prints its log (its tail when long and
# green), and returns its status.
finish() {
  local name=$1 status
  wait "${job[$name]}"
  status=$?
  local lines
  lines=$(wc -l <"$logs/$name.log")
  if [ "$status" = 0 ] && [ "$lines" -gt 40 ]; then
    echo "==> $name: the last 15 of its $lines lines (all in $logs/$name.log)"
    tail -n 15 "$logs/$name.log"
  else
    echo "==> $name: its output ($logs/$name.log)"
    cat "$logs/$name.log"
  fi
  [ "$status" = 0 ] || echo "==> $name FAILED (exit $status)"
  return "$status"
}

fail() {
  stop
  wait 2>/dev/null
  exit 1
}

# The lowest priority is its session's autogroup's (nice 19): with autogroups (Linux's
# default), each session shares the CPU as one, whatever its tasks' nice, and setsid made it
# a session; `nice` alone would not do, as swift-build starts its compilers at nice 0.
beside release sh -c '{ echo 19 >/proc/self/autogroup; } 2>/dev/null; exec nice -n 19 scripts/release.sh'
scripts/phase.sh e2e scripts/libvirt-env.sh scripts/e2e.sh || fail

# What needs no release binary starts now; the release build, if not done, shares the CPU
# with it as an equal from here.
beside fuzz fuzz/run.sh 60
beside install-deps-test scripts/test-install-deps.sh
{ echo 0 >"/proc/${job[release]}/autogroup"; } 2>/dev/null
finish release || fail
scripts/phase.sh deb scripts/make-deb.sh || fail
scripts/phase.sh package-test scripts/test-deb.sh || fail
finish fuzz || fail
finish install-deps-test || fail
