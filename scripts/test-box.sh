#!/usr/bin/env bash
# Makes out/debian-12.box with boxes/debian-12/build.sh, once: the result is
# cached (by default in /var/tmp/caravan-test) under a hash of the recipe, and
# reused while the recipe is unchanged.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${CARAVAN_TEST_CACHE:-/var/tmp/caravan-test}
hash=$(cd "$top/boxes/debian-12" && find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
cached="$cache/debian-12-$hash.box"
mkdir -p "$cache" "$top/out"
if [ ! -f "$cached" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo "$top/boxes/debian-12/build.sh" "$cached"
  find "$cache" -name 'debian-12-*.box' ! -name "$(basename "$cached")" -delete
fi
ln -sf "$cached" "$top/out/debian-12.box"
echo "$top/out/debian-12.box"
