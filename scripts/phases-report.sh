#!/usr/bin/env bash
# Prints the phases phase.sh recorded (name, minutes:seconds, and FAILED where one
# failed), and the total; a phase named OUTER.INNER ran inside OUTER and is not
# counted twice.
# usage: phases-report.sh [FILE]   (default out/phases.txt)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
log=${1:-${CARAVAN_PHASES:-$top/out/phases.txt}}
[ -f "$log" ] || { echo "==> phases: none recorded ($log)"; exit 0; }
echo "==> phases (wall clock):"
awk '{ if (index($1, ".") == 0) total += $2; flag = ($3 == 0) ? "" : "  FAILED (exit " $3 ")";
       printf "    %-14s %3d:%02d%s\n", $1, $2 / 60, $2 % 60, flag }
     END { printf "    %-14s %3d:%02d\n", "total", total / 60, total % 60 }' "$log"
