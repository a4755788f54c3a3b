#!/usr/bin/env bash
# Prepares the CARAVAN_HOME that end-to-end suites and the smoke test start guests
# from, as a CI cache step would: the test box added as caravan/debian-12 and its
# saved running state for 1 CPU and 768 MiB (`caravan box warm`, one boot, about
# 90 s under TCG). It lives beside the cached test box, one per box file, so it is
# made once and kept between runs; a home of an older box is removed (its box and
# state volumes with it). Prints the home's path on the last line.
# usage: warm-home.sh CARAVAN BOXFILE
set -euo pipefail
caravan=$(realpath "${1:?usage: warm-home.sh CARAVAN BOXFILE}")
box=$(realpath "${2:?usage: warm-home.sh CARAVAN BOXFILE}")
cache=${CARAVAN_TEST_CACHE:-/var/tmp/caravan-test}
home="$cache/warm-home-$(basename "$box" .box)"
export CARAVAN_LIBVIRT_URI=${CARAVAN_LIBVIRT_URI:-qemu:///system} CARAVAN_NAT_RESTRICT=1
mkdir -p "$cache"
exec {lock}>"$cache/warm-home.lock"
flock "$lock"
for old in "$cache"/warm-home-* "$cache"/smoke-home-*; do
  [ -d "$old" ] && [ "$old" != "$home" ] || continue
  CARAVAN_HOME=$old "$caravan" box remove caravan/debian-12 --force >&2 || true
  rm -rf "$old"
done
export CARAVAN_HOME=$home
"$caravan" box list 2>/dev/null | grep -q '^caravan/debian-12 ' || "$caravan" box add caravan/debian-12 "$box" >&2
"$caravan" box warm caravan/debian-12 --memory 768MiB --cpus 1 >&2
echo "$home"
