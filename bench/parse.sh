#!/usr/bin/env bash
# Parse and validate a generated Machinefile of 1,000 machines with
# `caravan validate`, against `cat` of the same file, in one hyperfine run.
# Prints the time per machine and the ratio (goal: the whole file < 50 ms).
# usage: parse.sh CARAVAN   (a release build is what the goal is about)
set -euo pipefail
caravan=${1:?usage: parse.sh CARAVAN}
work=$(mktemp -d /tmp/caravan-parse.XXXXXX)
trap 'rm -rf "$work"' EXIT
file="$work/Machinefile"
{
  echo 'version 1'
  echo 'box "caravan/debian-12", version: "~> 12.0"'
  echo 'memory 1GiB'
  for i in $(seq 1 1000); do
    cat <<M
machine "m$i" {
  hostname "m$i.local"
  cpus $(( i % 4 + 1 ))
  forward $(( 10000 + i )) -> 80
  provision shell, name: "setup", inline: """
    echo machine \${name} > /etc/role
    """
}
M
  done
} > "$file"
printf 'version 1\nbox "caravan/debian-12"\n' > "$work/One"
"$caravan" validate "$file" >/dev/null
hyperfine --warmup 3 --runs 30 -N --export-json "$work/parse.json" \
  "cat $file" "$caravan validate $work/One" "$caravan validate $file"
python3 - "$work/parse.json" <<'PY'
import json, sys
cat, one, caravan = [x["mean"] for x in json.load(open(sys.argv[1]))["results"]]
print(f"caravan validate, 1,000 machines: {caravan*1000:.1f} ms in all; a 2-line file: {one*1000:.1f} ms (process start-up); "
      f"so parse + validate + lower: {(caravan-one)*1000:.1f} ms, {(caravan-one)*1e6/1000:.1f} us per machine "
      f"(goal: whole file < 50 ms); cat of the file: {cat*1000:.2f} ms, ratio {caravan/cat:.1f}x")
PY
