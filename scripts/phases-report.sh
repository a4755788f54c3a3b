#!/usr/bin/env bash
# Prints the phases phase.sh recorded (name, minutes:seconds, FAILED where one
# failed, and the phases it ran beside), and the total: the wall clock from the first
# phase's start to the last one's end. A phase named OUTER.INNER ran inside OUTER.
# usage: phases-report.sh [FILE]   (default out/phases.txt)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
log=${1:-${CARAVAN_PHASES:-$top/out/phases.txt}}
[ -f "$log" ] || { echo "==> phases: none recorded ($log)"; exit 0; }
echo "==> phases (wall clock):"
awk '{ name[NR] = $1; secs[NR] = $2; status[NR] = $3; start[NR] = ($4 == "") ? 0 : $4
       if (NR == 1 || start[NR] < first) first = start[NR]
       if (start[NR] + $2 > last) last = start[NR] + $2
       summed += (index($1, ".") == 0) ? $2 : 0 }
     END {
       for (i = 1; i <= NR; i++) {
         flag = (status[i] == 0) ? "" : "  FAILED (exit " status[i] ")"
         beside = ""
         for (j = 1; j <= NR; j++)
           if (j != i && index(name[i], ".") == 0 && index(name[j], ".") == 0 && start[i] > 0 && start[j] > 0 &&
               start[i] < start[j] + secs[j] && start[j] < start[i] + secs[i])
             beside = beside (beside == "" ? "  beside " : ", ") name[j]
         printf "    %-18s %3d:%02d%s%s\n", name[i], secs[i] / 60, secs[i] % 60, flag, beside
       }
       total = (first > 0) ? last - first : summed
       printf "    %-18s %3d:%02d\n", "total", total / 60, total % 60
     }' "$log"
