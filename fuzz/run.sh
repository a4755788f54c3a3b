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
# The parser and what it stands on (Spec, and Support but for its child
# processes) compiled as one module, their imports of each other dropped.
rm -rf "$out/src" && mkdir -p "$out/src"
for f in "$top"/Sources/Support/*.swift "$top"/Sources/Spec/*.swift "$top"/Sources/Machinefile/*.swift; do
  grep -q -E "import Subprocess|ChildProcess|ChildEvents|ChildExecutor" "$f" && continue
  grep -v -E '^(internal |public )?import (Spec|Support)$' "$f" >"$out/src/$(basename "$(dirname "$f")")-$(basename "$f")"
done
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name MachinefileFuzz \
  "$out"/src/*.swift "$top/fuzz/MachinefileFuzz.swift" -o "$out/machinefile-fuzz"
"$out/machinefile-fuzz" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=8192 \
  -print_final_stats=1 "$out/corpus" "$out/seeds" 2>&1 | tail -n 25
echo "fuzz: no crash, hang or memory blow-up in ${seconds} s"
