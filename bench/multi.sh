#!/usr/bin/env bash
# Multi-machine `up`: 1, 2 and 4 machines with the bound `up` chooses, then 2 and 4 with
# --parallel N, and `status` of 4 running machines. Prints each N's time over N times
# one machine's, the bound `up` chose, and Caravan's own time per machine (its `up` minus
# the wait for the guest's SSH, from --events), which must not grow with N.
# usage: multi.sh CARAVAN BOXFILE (as root, libvirtd running: scripts/libvirt-env.sh)
set -euo pipefail
caravan=${1:?usage: multi.sh CARAVAN BOXFILE}
box=${2:?usage: multi.sh CARAVAN BOXFILE}
source "$(dirname "$0")/../scripts/sandbox.sh"

"$caravan" box add caravan/debian-12 "$box" >/dev/null
cd "$work/hello"
machines() {
  echo 'box "caravan/debian-12"'
  echo 'memory 512MiB'
  for i in $(seq 1 "$1"); do printf 'machine "m%s" {\n  cpus 1\n}\n' "$i"; done
}
run() { # N LABEL [up options…]: one timed `up` of N new machines, then destroy
  local n=$1 label=$2
  shift 2
  machines "$n" >Machinefile
  rm -f "$work/$label.jsonl"
  local start end
  start=$(date +%s.%N)
  local outcome=ok
  "$caravan" up --no-provision --events "$work/$label.jsonl" "$@" >"$work/$label.log" 2>&1 || outcome=failed
  end=$(date +%s.%N)
  echo "$label $n $start $end $outcome" >>"$work/times"
  [ $outcome = ok ] || tail -5 "$work/$label.log" >&2
  if [ "$label" = auto4 ]; then
    hyperfine --warmup 3 --runs 30 -N --export-json "$work/status.json" "$caravan status" >/dev/null
  fi
  "$caravan" destroy -f >/dev/null
}
run 1 auto1
run 2 auto2
run 4 auto4
run 2 par2 --parallel 2
run 4 par4 --parallel 4
python3 - "$work" <<'PY'
import json, sys, datetime
work = sys.argv[1]
times = {}
for line in open(f"{work}/times"):
    label, n, start, end, outcome = line.split()
    times[label] = (int(n), float(end) - float(start), outcome)
def own(label):
    """Per machine: its `up` minus its wait for SSH (what Caravan itself spent)."""
    spans = {}
    for line in open(f"{work}/{label}.jsonl"):
        e = json.loads(line)
        if e.get("phase") == "end" and e["step"] in ("up", "wait_ssh"):
            spans.setdefault(e["machine"], {})[e["step"]] = e["duration_s"]
    values = [s["up"] - s.get("wait_ssh", 0) for s in spans.values() if "up" in s]
    return sum(values) / len(values)
def bound(label):
    for line in open(f"{work}/{label}.log"):
        if "bringing up" in line:
            return line.strip().removeprefix("==> ")
    return "one machine"
one = times["auto1"][1]
print(f"up of 1 machine: {one:.1f} s; Caravan's own time {own('auto1'):.2f} s")
for label in ("auto2", "auto4", "par2", "par4"):
    n, seconds, outcome = times[label]
    if outcome != "ok":
        print(f"up of {n} ({label}): FAILED after {seconds:.1f} s; {bound(label)}")
        continue
    print(f"up of {n} ({label}): {seconds:.1f} s = {seconds / (n * one):.2f} x N times one; "
          f"Caravan's own time per machine {own(label):.2f} s; {bound(label)}")
status = json.load(open(f"{work}/status.json"))["results"][0]["mean"]
print(f"status of 4 running machines: {status * 1000:.1f} ms")
PY
