#!/usr/bin/env bash
# The inner loop's end-to-end check: one machine from the test box's warm state,
# `up --warm`, `ssh -c`, `destroy -f`, and nothing left in libvirt. The box and its
# saved state live in the CARAVAN_HOME that warm-home.sh keeps beside the cached
# test box (made once, about 90 s under TCG; then the smoke takes seconds).
# usage: smoke.sh CARAVAN BOXFILE
set -euo pipefail
caravan=$(realpath "${1:?usage: smoke.sh CARAVAN BOXFILE}")
box=$(realpath "${2:?usage: smoke.sh CARAVAN BOXFILE}")
uri=${CARAVAN_LIBVIRT_URI:-qemu:///system}
CARAVAN_HOME=$("$(dirname "$0")/warm-home.sh" "$caravan" "$box" | tail -n 1)
export CARAVAN_HOME CARAVAN_LIBVIRT_URI=$uri CARAVAN_NAT_RESTRICT=1
project=$(mktemp -d /tmp/caravan-smoke.XXXXXX)
cleanup() { (cd "$project" && "$caravan" destroy -f >/dev/null 2>&1); rm -rf "$project"; }
trap cleanup EXIT
printf 'box "caravan/debian-12"\nmemory 768MiB\ncpus 1\nprovision shell, inline: "echo smoke > /var/tmp/smoke"\n' \
  >"$project/Machinefile"
cd "$project"
start=$(date +%s.%N)
"$caravan" up --warm
out=$("$caravan" ssh -c 'cat /var/tmp/smoke; cat /etc/machine-id')
echo "$out"
[ "$(echo "$out" | head -1)" = smoke ] || { echo "smoke: the provisioner's file is not there" >&2; exit 1; }
name=$(basename "$project" | tr . -)  # as the domain name holds it
domain=$(virsh -c "$uri" list --all --name | grep -F "$name" || true)
"$caravan" destroy -f
left=$(virsh -c "$uri" list --all --name | grep -F "$name" || true)
[ -n "$domain" ] && [ -z "$left" ] || { echo "smoke: domain '$domain' before destroy, '$left' after" >&2; exit 1; }
printf 'smoke: up --warm, ssh, destroy in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
