#!/usr/bin/env bash
# The inner loop's end-to-end check: one machine from the test box's warm state,
# `up --warm`, `ssh -c`, `destroy -f`, and nothing left in libvirt. The box and its
# saved state live in a CARAVAN_HOME kept beside the cached test box (made once,
# about 90 s under TCG; then the smoke takes seconds, not a boot).
# usage: smoke.sh CARAVAN BOXFILE
set -euo pipefail
caravan=$(realpath "${1:?usage: smoke.sh CARAVAN BOXFILE}")
box=$(realpath "${2:?usage: smoke.sh CARAVAN BOXFILE}")
uri=${CARAVAN_LIBVIRT_URI:-qemu:///system}
# One home per box file: a rebuilt box gets a new home (and the old one is removed).
home_root=${CARAVAN_TEST_CACHE:-/var/tmp/caravan-test}
export CARAVAN_HOME="$home_root/smoke-home-$(basename "$box" .box)"
export CARAVAN_LIBVIRT_URI=$uri CARAVAN_NAT_RESTRICT=1
for old in "$home_root"/smoke-home-*; do
  [ -d "$old" ] && [ "$old" != "$CARAVAN_HOME" ] && CARAVAN_HOME=$old "$caravan" box remove caravan/debian-12 --force >/dev/null 2>&1
  [ -d "$old" ] && [ "$old" != "$CARAVAN_HOME" ] && rm -rf "$old"
done
"$caravan" box list | grep -q '^caravan/debian-12 ' || "$caravan" box add caravan/debian-12 "$box"
"$caravan" box warm caravan/debian-12 --memory 768MiB --cpus 1
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
