#!/usr/bin/env bash
# `caravan box add` of a 1 GiB box from a catalog on a local HTTP server
# (download, sha256, extraction) against `curl -o /dev/null` of the same URL,
# in one hyperfine run; prints the ratio (goal: within 1.2x of curl). Also
# against `curl -o FILE`, since storing the box costs what writing 1 GiB costs.
# usage: box-add.sh CARAVAN
set -euo pipefail
caravan=${1:?usage: box-add.sh CARAVAN}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /var/tmp/caravan-boxadd.XXXXXX)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/served" "$work/box"
# Incompressible, like a real qcow2 image's data.
head -c 1G /dev/urandom > "$work/box/box.img"
printf '{"provider":"libvirt","format":"qcow2","virtual_size":2}' > "$work/box/metadata.json"
echo '# bench' > "$work/box/Vagrantfile"
tar -C "$work/box" -cf "$work/served/big.box" metadata.json Vagrantfile box.img
rm -rf "$work/box"
sha=$(sha256sum "$work/served/big.box" | cut -d' ' -f1)
printf '{"name":"bench/big","versions":[{"version":"1.0.0","providers":[{"name":"libvirt","url":"big.box","checksum_type":"sha256","checksum":"%s"}]}]}' \
  "$sha" > "$work/served/catalog.json"
coproc SERVER { exec python3 "$top/scripts/box-server.py" "$work/served"; }
server=$SERVER_PID
read -r ready port <&"${SERVER[0]}"
[ "$ready" = READY ] || { echo "bench: the box server did not start" >&2; exit 1; }
url="http://127.0.0.1:$port"
export CARAVAN_HOME="$work/home"
hyperfine --warmup 1 --runs 5 -N --export-json "$work/add.json" \
  --prepare "rm -rf $work/home $work/curl.box" \
  "curl -s -o /dev/null $url/big.box" \
  "curl -s -o $work/curl.box $url/big.box" \
  "$caravan box add $url/catalog.json"
python3 - "$work/add.json" <<'PY'
import json, sys
null, disk, caravan = [x["mean"] for x in json.load(open(sys.argv[1]))["results"]]
print(f"caravan box add (1 GiB, sha256, extraction): {caravan:.2f} s; curl -o /dev/null: {null:.2f} s, ratio {caravan/null:.2f}x (goal <= 1.2x); "
      f"curl -o FILE (what storing 1 GiB costs here): {disk:.2f} s, ratio {caravan/disk:.2f}x")
PY
