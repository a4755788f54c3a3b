#!/usr/bin/env bash
# Builds the Machinefile fuzzer (libFuzzer + AddressSanitizer) and runs it for
# SECONDS (default 60) from a seed corpus of the examples and golden files.
# usage: fuzz/run.sh [SECONDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
out="$top/.build-fuzz"
mkdir -p "$out/corpus" "$out/seeds"
cp "$top"/Tests/MachinefileTests/Golden/*.machinefile "$out/seeds/"
find "$top/examples" -name Machinefile | while read -r f; do cp "$f" "$out/seeds/$(echo "$f" | tr / _)"; done
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name MachinefileFuzz \
  "$top"/Sources/Machinefile/*.swift "$top/fuzz/MachinefileFuzz.swift" -o "$out/machinefile-fuzz"
"$out/machinefile-fuzz" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=8192 \
  -print_final_stats=1 "$out/corpus" "$out/seeds" 2>&1 | tail -n 25
echo "fuzz: no crash, hang or memory blow-up in ${seconds} s"
