#!/usr/bin/env bash
# Makes out/debian-12.box with `caravan build boxes/debian-12` (the rootfs
# strategy), once: the result is cached (by default in /var/tmp/caravan-test)
# under a hash of the recipe (the Boxfile, the template scripts and the rootfs
# strategy's source, the extra packages), and reused while the recipe is unchanged.
# usage: test-box.sh [CARAVAN]   (default .build/debug/caravan)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
caravan=${1:-$top/.build/debug/caravan}
cache=${CARAVAN_TEST_CACHE:-/var/tmp/caravan-test}
# The provisioner tests need Puppet in the guest; the published box does not carry it.
extra_packages=puppet
hash=$( (cd "$top" && find boxes/debian-12 templates/scripts Sources/Builder/RootfsStrategy.swift Sources/Builder/RootfsNetwork.swift Sources/Builder/BuildSpec+Hostname.swift -type f \
  | LC_ALL=C sort | xargs sha256sum; echo "extra_packages=$extra_packages") | sha256sum | cut -c1-16)
cached="$cache/debian-12-$hash.box"
mkdir -p "$cache" "$top/out"
if [ ! -f "$cached" ]; then
  [ -x "$caravan" ] || (cd "$top" && swift build)
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo "$caravan" build "$top/boxes/debian-12" --force --var output="$cached" --var catalog="${cached%.box}.json" \
    --var extra_packages="$extra_packages"
  find "$cache" -name 'debian-12-*' ! -name "$(basename "$cached")" ! -name "$(basename "${cached%.box}.json")" -delete
fi
ln -sf "$cached" "$top/out/debian-12.box"
ln -sf "${cached%.box}.json" "$top/out/debian-12.json"
echo "$top/out/debian-12.box"
