#!/usr/bin/env bash
# `caravan rsync` of a 10,000-file tree against plain `rsync -e ssh` of the same tree
# to the same guest, in one hyperfine run; each run copies the whole tree (the guest's
# copies are removed before each run); prints the ratio (goal: <= 1.1x).
# usage: rsync.sh CARAVAN BOXFILE
set -euo pipefail
caravan=${1:?usage: rsync.sh CARAVAN BOXFILE}
box=${2:?usage: rsync.sh CARAVAN BOXFILE}
source "$(dirname "$0")/../scripts/sandbox.sh"
cd "$work/hello"
# 100 folders of 100 small files each.
python3 - <<'PY'
import os
for d in range(100):
    os.makedirs(f"tree/d{d:03}", exist_ok=True)
    for f in range(100):
        with open(f"tree/d{d:03}/f{f:03}.txt", "w") as out:
            out.write(f"file {d}/{f}\n" * 8)
PY
echo 'sync "./tree" -> "/home/vagrant/by-caravan"' >> Machinefile
"$caravan" box add caravan/debian-12 "$box" >/dev/null
"$caravan" up --no-provision >/dev/null
"$caravan" ssh-config > "$work/ssh-config"
clean="ssh -F $work/ssh-config default rm -rf by-caravan plain"
hyperfine --warmup 1 --runs 3 --export-json "$work/rsync.json" --prepare "$clean" \
  -n plain "rsync -a --delete -e 'ssh -F $work/ssh-config' tree/ default:plain/" \
  -n caravan "$caravan rsync"
python3 - "$work/rsync.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
ratio = r["caravan"] / r["plain"]
print(f"caravan rsync: {r['caravan']:.2f} s, plain rsync -e ssh: {r['plain']:.2f} s, ratio {ratio:.2f}x (goal <= 1.1x), 10,000 files")
PY
