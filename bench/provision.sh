#!/usr/bin/env bash
# 50 inline shell provisioners against one running guest (`caravan provision`, one
# process) vs 50 plain `ssh … true` calls over the machine's own ControlMaster
# connection, in one hyperfine run; prints the ratio (goal <= 1.2x) and the cost of one
# call of each: ssh, ssh with sudo, a root provisioner, an unprivileged one
# (`privileged: false`), and the unprivileged one's upload-run-remove done by hand
# (one ssh round trip that writes, runs and removes the script).
# usage: provision.sh CARAVAN BOXFILE (as root, libvirtd running: scripts/libvirt-env.sh)
set -euo pipefail
caravan=${1:?usage: provision.sh CARAVAN BOXFILE}
box=${2:?usage: provision.sh CARAVAN BOXFILE}
source "$(dirname "$0")/../scripts/sandbox.sh"

"$caravan" box add caravan/debian-12 "$box" >/dev/null
cd "$work/hello"
{
  echo 'version 1'
  echo 'box "caravan/debian-12"'
  for i in $(seq 1 50); do echo "provision shell, name: \"p$i\", run: always, inline: \"true\""; done
  for i in $(seq 1 50); do
    echo "provision shell, name: \"u$i\", run: always, privileged: false, inline: \"true\""
  done
} >Machinefile
root_names=$(seq -s, -f 'p%g' 1 50)
user_names=$(seq -s, -f 'u%g' 1 50)
"$caravan" up --no-provision >/dev/null
control=$("$caravan" ssh -- -G | awk '$1 == "controlpath" {print $2}')
port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sshPort"])' .caravan/machines/default/state.json)
key=$PWD/.caravan/machines/default/id_ed25519
ssh_loop="for i in \$(seq 1 50); do ssh -p $port -i $key -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ControlMaster=auto -o ControlPath=$control \
-o ControlPersist=60 vagrant@127.0.0.1 true; done"
"$caravan" ssh -c true >/dev/null   # the shared connection is up for both
# The same 50 calls as root (`sudo -n`), as a shell provisioner runs by default: sudo's own
# cost in the guest, which no provisioner runner can avoid, separated from Caravan's.
sudo_loop=${ssh_loop/vagrant@127.0.0.1 true/vagrant@127.0.0.1 sudo -n true}
# What an unprivileged provisioner does, by hand: the script written, run and removed in one round trip.
printf '#!/bin/sh\ntrue\n' >"$work/p.sh"
hand_loop=${ssh_loop/vagrant@127.0.0.1 true/vagrant@127.0.0.1 \'f=\$(mktemp) \&\& cat \>\$f \&\& chmod +x \$f \&\& \$f\; rm -f \$f\' \<$work/p.sh}
hyperfine --warmup 1 --runs 5 --export-json "$work/provision.json" \
  -n "50 x ssh true" "$ssh_loop" -n "50 x ssh sudo -n true" "$sudo_loop" \
  -n "caravan provision (50 provisioners)" "$caravan provision --provision-with $root_names" \
  -n "caravan provision (50 unprivileged)" "$caravan provision --provision-with $user_names" \
  -n "50 x upload-run-remove by hand" "$hand_loop" >/dev/null
python3 - "$work/provision.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
ssh, sudo, cv = r["50 x ssh true"], r["50 x ssh sudo -n true"], r["caravan provision (50 provisioners)"]
user, hand = r["caravan provision (50 unprivileged)"], r["50 x upload-run-remove by hand"]
print(f"50 x ssh true over the ControlMaster: {ssh:.2f} s; 50 x ssh sudo -n true: {sudo:.2f} s; "
      f"caravan provision with 50 inline provisioners (as root): {cv:.2f} s")
print(f"ratio {cv / ssh:.2f}x plain ssh (goal <= 1.2x), {cv / sudo:.2f}x ssh with sudo")
print("one call (mean of 5 runs / 50):")
for label, total in [("ssh true", ssh), ("ssh sudo -n true", sudo), ("a root provisioner through caravan", cv),
                     ("an unprivileged provisioner through caravan", user),
                     ("the same upload-run-remove by hand (one ssh)", hand)]:
    print(f"  {label}: {total / 50:.2f} s")
PY
