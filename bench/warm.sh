#!/usr/bin/env bash
# Warm `up` against cold `up`, for the same box in one run: a new machine brought up to
# SSH-ready and provisioned (one shell provisioner), cold, then warm from the box's saved
# state, `runs` times each (default 3), alternating; also the first warm `up`, which makes
# the state (one boot), the size of the state, and from --events the time to SSH-ready
# (the `up` until its wait for SSH ended) and each step's time (restore, the wait for SSH,
# the identity, the key, the hostname, the provisioner …). Prints the ratios; goal: warm
# under 3 s here and at least 10x faster than cold.
# usage: warm.sh CARAVAN BOXFILE [RUNS] (as root, libvirtd running: scripts/libvirt-env.sh)
set -euo pipefail
caravan=${1:?usage: warm.sh CARAVAN BOXFILE [RUNS]}
box=${2:?usage: warm.sh CARAVAN BOXFILE [RUNS]}
runs=${3:-3}
source "$(dirname "$0")/../scripts/sandbox.sh"

"$caravan" box add caravan/debian-12 "$box" >/dev/null
cd "$work/hello"
cat >Machinefile <<'MF'
box "caravan/debian-12"
memory 768MiB
provision shell, name: "hello", inline: "echo provisioned > /var/tmp/hello"
MF
run() { # LABEL [up options…]: one timed `up` of a new machine, then destroy
  local label=$1
  shift
  rm -f "$work/$label.jsonl"
  local start end
  start=$(date +%s.%N)
  "$caravan" up --events "$work/$label.jsonl" "$@" >"$work/$label.log" 2>&1 || {
    tail -5 "$work/$label.log" >&2
    exit 1
  }
  end=$(date +%s.%N)
  [ "$("$caravan" ssh -c 'cat /var/tmp/hello')" = provisioned ] || { echo "$label: not provisioned" >&2; exit 1; }
  echo "$label $start $end" >>"$work/times"
  "$caravan" destroy -f >/dev/null
}
run first-warm --warm
"$caravan" box list --json >"$work/boxes.json"
for i in $(seq 1 "$runs"); do
  run "cold$i" --no-warm
  run "warm$i" --warm
done
python3 - "$work" "$runs" <<'PY'
import json, sys, statistics
work, runs = sys.argv[1], int(sys.argv[2])
times = {}
for line in open(f"{work}/times"):
    label, start, end = line.split()
    times[label] = float(end) - float(start)
def ssh_ready(label):
    """Seconds from the `up` event's start to the end of its wait for SSH."""
    start = end = None
    for line in open(f"{work}/{label}.jsonl"):
        e = json.loads(line)
        if e["step"] == "up" and e["phase"] == "start":
            start = e["time"]
        if e["step"] == "wait_ssh" and e["phase"] == "end":
            end = e["time"]
    from datetime import datetime
    parse = lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
    return (parse(end) - parse(start)).total_seconds()
cold = [times[f"cold{i}"] for i in range(1, runs + 1)]
warm = [times[f"warm{i}"] for i in range(1, runs + 1)]
cold_ssh = [ssh_ready(f"cold{i}") for i in range(1, runs + 1)]
warm_ssh = [ssh_ready(f"warm{i}") for i in range(1, runs + 1)]
state = json.load(open(f"{work}/boxes.json"))[0]["warm"][0]
print(f"saved state: {state['size'] / 2**20:.0f} MiB for {state['memory_mib']} MiB of RAM")
print(f"first warm up (makes the state): {times['first-warm']:.1f} s")
print(f"cold up, provisioned: median {statistics.median(cold):.1f} s {['%.1f' % c for c in cold]}")
print(f"warm up, provisioned: median {statistics.median(warm):.1f} s {['%.1f' % w for w in warm]}")
print(f"  ratio cold/warm: {statistics.median(cold) / statistics.median(warm):.1f}x (goal >= 10x; warm < 3 s)")
print(f"cold up to SSH-ready: median {statistics.median(cold_ssh):.1f} s; warm: {statistics.median(warm_ssh):.1f} s; "
      f"ratio {statistics.median(cold_ssh) / statistics.median(warm_ssh):.1f}x")
def steps(label):
    """Each step's duration in one `up`, from its end events (a step seen twice is added up)."""
    found = {}
    for line in open(f"{work}/{label}.jsonl"):
        e = json.loads(line)
        if e["phase"] == "end" and "duration_s" in e and e["step"] != "up":
            found[e["step"]] = found.get(e["step"], 0) + e["duration_s"]
    return found
for kind in ["warm", "cold"]:
    per_run = [steps(f"{kind}{i}") for i in range(1, runs + 1)]
    order = list(dict.fromkeys(step for run in per_run for step in run))
    print(f"where a {kind} up goes (--events; median, min-max of {runs} runs):")
    for step in order:
        values = [run[step] for run in per_run if step in run]
        print(f"  {step}: {statistics.median(values):.1f} s ({min(values):.1f}-{max(values):.1f})")
PY
