#!/usr/bin/env bash
# One machine through its lifecycle, each step timed in this one run, with
# ratios against the goals of the lifecycle issue:
#   up, split into Caravan's own work and the guest's boot (domain running ->
#   SSH banner on the forwarded port, both polled every 0.1 s)   own <= 1.5 s
#   status vs virsh list --all (1 and 20 machines)               <= 1.3x
#   caravan ssh -c true vs plain ssh, cold                       <= 1.5x
#   caravan ssh -c true right after another caravan command      <= 0.2x plain ssh
#   halt vs the guest's own poweroff                             <= poweroff + 1 s
#   destroy                                                      < 0.5 s
#   peak RSS of each command                                     < 30 MB
# usage: lifecycle.sh CARAVAN BOXFILE
set -euo pipefail
caravan=${1:?usage: lifecycle.sh CARAVAN BOXFILE}
box=${2:?usage: lifecycle.sh CARAVAN BOXFILE}
source "$(dirname "$0")/../scripts/sandbox.sh"
uri=qemu:///system
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
rss_log="$work/rss.txt"
# Runs a caravan command under GNU time, noting its peak RSS.
timed() {
  local name=$1; shift
  /usr/bin/time -f "$name %M" -a -o "$rss_log" "$caravan" "$@"
}

"$caravan" box add caravan/debian-12 "$box" >/dev/null
cd "$work/hello"
domain_prefix="caravan-hello-default-"

# up, with the boot polled from outside.
t0=$(now)
timed up up --no-provision >"$work/up.log" 2>&1 &
up_pid=$!
t_running="" t_banner="" port=""
while kill -0 "$up_pid" 2>/dev/null; do
  if [ -z "$t_running" ]; then
    domain=$(virsh -c $uri list --name | grep "^$domain_prefix" || true)
    [ -n "$domain" ] && t_running=$(now)
  elif [ -z "$t_banner" ]; then
    [ -z "$port" ] && port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sshPort"])' \
      .caravan/machines/default/state.json 2>/dev/null || true)
    if [ -n "$port" ] && timeout 0.5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; head -c 4 <&3" 2>/dev/null | grep -q SSH-; then
      t_banner=$(now)
    fi
  fi
  sleep 0.1
done
wait "$up_pid"
t_up=$(now)
total=$(elapsed "$t0" "$t_up")
boot=$(elapsed "$t_running" "$t_banner")
own=$(python3 -c "print(f'{$total - $boot:.2f}')")
echo "up: $total s in all; guest boot (running -> SSH banner) $boot s; Caravan's own share $own s (goal <= 1.5 s)"

port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sshPort"])' .caravan/machines/default/state.json)
key=$PWD/.caravan/machines/default/id_ed25519
plain="ssh -p $port -i $key -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
-o LogLevel=ERROR -o BatchMode=yes -o ControlMaster=no -o ControlPath=none vagrant@127.0.0.1 true"
# The machine's shared connection, as `caravan ssh` uses it (ssh -G prints it).
control=$("$caravan" ssh -- -G | awk '$1 == "controlpath" {print $2}')
stop_master="ssh -o ControlPath=$control -O exit vagrant@127.0.0.1 >/dev/null 2>&1 || true"

hyperfine --warmup 3 --runs 20 --export-json "$work/status.json" -N "virsh -c $uri list --all" "$caravan status" >/dev/null
hyperfine --warmup 1 --runs 10 --export-json "$work/ssh-cold.json" --prepare "$stop_master" \
  "$plain" "$caravan ssh -c true" >/dev/null
"$caravan" status >/dev/null
hyperfine --warmup 1 --runs 10 --export-json "$work/ssh-warm.json" "$caravan ssh -c true" >/dev/null
timed status status >/dev/null
timed ssh ssh -c true >/dev/null

# halt, against the guest's own poweroff (measured on the same machine afterwards).
t0=$(now); timed halt halt >/dev/null; t_halt=$(elapsed "$t0" "$(now)")
t0=$(now); timed up-halted up --no-provision >/dev/null; t_uphalted=$(elapsed "$t0" "$(now)")
domain=$(virsh -c $uri list --name | grep "^$domain_prefix")
t0=$(now)
ssh -p "$port" -i "$key" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
  -o LogLevel=ERROR -o BatchMode=yes -o ControlMaster=no -o ControlPath=none vagrant@127.0.0.1 \
  'sudo -n systemctl poweroff' >/dev/null 2>&1 || true
until [ "$(virsh -c $uri domstate "$domain" 2>/dev/null)" = "shut off" ]; do sleep 0.1; done
t_poweroff=$(elapsed "$t0" "$(now)")
echo "halt: $t_halt s; the guest's own poweroff: $t_poweroff s (goal: halt <= poweroff + 1 s)"
echo "up from halted: $t_uphalted s"
"$caravan" up --no-provision >/dev/null
t0=$(now); timed suspend suspend >/dev/null; t_suspend=$(elapsed "$t0" "$(now)")
t0=$(now); timed resume resume >/dev/null; t_resume=$(elapsed "$t0" "$(now)")
echo "suspend: $t_suspend s, resume (to SSH): $t_resume s"

# 20 machines: the running one plus 19 defined (not started) copies of its XML.
xml=$(virsh -c $uri dumpxml --inactive "$domain")
cat >"$work/hello/Machinefile.20" <<EOF
box "caravan/debian-12"
memory 768MiB
machine "default" {}
machine "m", count: 19 {}
EOF
hash=${domain##*-}
for i in $(seq 1 19); do
  name="caravan-hello-m-$i-$hash"
  echo "$xml" | sed -e "s|<name>$domain</name>|<name>$name</name>|" -e '/<uuid>/d' >"$work/m.xml"
  virsh -c $uri define "$work/m.xml" >/dev/null
done
CARAVAN_MACHINEFILE="$work/hello/Machinefile.20" "$caravan" status | grep -c "m-" >/dev/null
hyperfine --warmup 3 --runs 20 --export-json "$work/status20.json" -N "virsh -c $uri list --all" \
  "env CARAVAN_MACHINEFILE=$work/hello/Machinefile.20 $caravan status" "$caravan global-status" >/dev/null
CARAVAN_MACHINEFILE="$work/hello/Machinefile.20" /usr/bin/time -f "status-20 %M" -a -o "$rss_log" "$caravan" status >/dev/null
for i in $(seq 1 19); do virsh -c $uri undefine "caravan-hello-m-$i-$hash" >/dev/null; done

t0=$(now); timed destroy destroy -f >/dev/null; t_destroy=$(elapsed "$t0" "$(now)")
echo "destroy: $t_destroy s (goal < 0.5 s)"

python3 - "$work" "$rss_log" <<'PY'
import json, sys
work, rss = sys.argv[1], sys.argv[2]
def means(name):
    return [x["mean"] for x in json.load(open(f"{work}/{name}.json"))["results"]]
virsh, status = means("status")
print(f"status: {status*1000:.1f} ms vs virsh list --all {virsh*1000:.1f} ms: {status/virsh:.2f}x (goal <= 1.3x)")
virsh20, status20, global20 = means("status20")
print(f"status of 20 machines: {status20*1000:.1f} ms vs virsh {virsh20*1000:.1f} ms: {status20/virsh20:.2f}x (goal <= 1.3x); "
      f"global-status {global20*1000:.1f} ms: {global20/virsh20:.2f}x")
plain, cold = means("ssh-cold")
warm, = means("ssh-warm")
print(f"ssh -c true cold: caravan {cold*1000:.0f} ms vs plain ssh {plain*1000:.0f} ms: {cold/plain:.2f}x (goal <= 1.5x)")
print(f"ssh -c true after another command: {warm*1000:.0f} ms: {warm/plain:.2f}x plain ssh (goal <= 0.2x)")
peaks = {}
for line in open(rss):
    parts = line.split()
    if len(parts) == 2 and parts[1].isdigit():
        peaks[parts[0]] = max(peaks.get(parts[0], 0), int(parts[1]))
print("peak RSS (MB): " + ", ".join(f"{k} {v/1024:.1f}" for k, v in peaks.items()) + " (goal < 30 MB each)")
PY
