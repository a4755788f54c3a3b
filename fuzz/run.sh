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
# processes) compiled as one module, their imports of each other dropped; Yams beside it.
rm -rf "$out/src" && mkdir -p "$out/src"
for f in "$top"/Sources/Support/*.swift "$top"/Sources/Spec/*.swift "$top"/Sources/Machinefile/*.swift; do
  grep -q -E "import Subprocess|ChildProcess|ChildEvents|ChildExecutor" "$f" && continue
  grep -v -E '^(internal |public )?import (Spec|Support)$' "$f" >"$out/src/$(basename "$(dirname "$f")")-$(basename "$f")"
done
# Yams (the validator parses cloud-configs with it) as its own module, as SwiftPM builds it
# (its names, Parser among them, would clash in the one module): libyaml's C with the fuzzer's
# coverage, then the Swift, from the checkout `swift package resolve` makes.
yams="$top/.build/checkouts/Yams/Sources"
[ -d "$yams" ] || (cd "$top" && swift package resolve >/dev/null)
rm -rf "$out/yams" && mkdir -p "$out/yams"
for c in "$yams"/CYaml/src/*.c; do
  clang -O1 -fsanitize=fuzzer-no-link,address -DYAML_DECLARE_STATIC -I "$yams/CYaml/include" \
    -c "$c" -o "$out/yams/$(basename "$c" .c).o"
done
yaml_flags=(-I "$yams/CYaml/include" -Xcc -DYAML_DECLARE_STATIC)
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name Yams -D SWIFT_PACKAGE "${yaml_flags[@]}" \
  -emit-module -emit-module-path "$out/yams/Yams.swiftmodule" -wmo -c "$yams"/Yams/*.swift -o "$out/yams/Yams.o"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name MachinefileFuzz -I "$out/yams" "${yaml_flags[@]}" \
  "$out"/src/*.swift "$top/fuzz/MachinefileFuzz.swift" "$out"/yams/*.o -o "$out/machinefile-fuzz"
"$out/machinefile-fuzz" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=8192 \
  -print_final_stats=1 "$out/corpus" "$out/seeds" 2>&1 | tail -n 25
echo "fuzz: no crash, hang or memory blow-up in ${seconds} s"
