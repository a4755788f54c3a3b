#!/usr/bin/env bash
# `caravan rsync` of a 10,000-file tree against plain `rsync -e ssh` of the same tree
# to the same guest, in one hyperfine run; each run copies the whole tree (the guest's
# copies are removed before each run); prints each one's mean ± standard deviation, min
# and max, and the ratio of the means and of the best runs (goal: <= 1.1x).
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
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
for name in ["caravan", "plain"]:
    x = r[name]
    print(f"{name}: {x['mean']:.2f} s ± {x['stddev'] or 0:.2f} s (min {x['min']:.2f} s, max {x['max']:.2f} s, "
          f"{len(x['times'])} runs)")
print(f"caravan rsync / plain rsync -e ssh, 10,000 files: {r['caravan']['mean'] / r['plain']['mean']:.2f}x of the means, "
      f"{r['caravan']['min'] / r['plain']['min']:.2f}x of the best runs (goal <= 1.1x)")
PY
