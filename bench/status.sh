#!/usr/bin/env bash
# `caravan status` on a project with one running machine against
# `virsh list --all`, in one hyperfine run; prints the ratio (goal: <= 2x).
# usage: status.sh CARAVAN BOXFILE
set -euo pipefail
caravan=${1:?usage: status.sh CARAVAN BOXFILE}
box=${2:?usage: status.sh CARAVAN BOXFILE}
source "$(dirname "$0")/../scripts/sandbox.sh"
"$caravan" box add caravan/debian-12 "$box" >/dev/null
(cd "$work/hello" && "$caravan" up --no-provision >/dev/null)
cd "$work/hello"
"$caravan" status | grep -q running || { echo "bench: the machine is not running" >&2; exit 1; }
hyperfine --warmup 5 --runs 100 --export-json "$work/status.json" -N \
  "virsh -c qemu:///system list --all" "$caravan status"
python3 - "$work/status.json" <<'PY'
import json, sys
r = {x["command"].split()[0].rsplit("/", 1)[-1]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
ratio = r["caravan"] / r["virsh"]
print(f"caravan status: {r['caravan']*1000:.1f} ms, virsh list --all: {r['virsh']*1000:.1f} ms, ratio {ratio:.2f}x (goal <= 2x)")
PY
