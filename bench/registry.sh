#!/usr/bin/env bash
# `caravan box push` and `box add oci://…` of a 1 GiB box against Debian's docker-registry on
# 127.0.0.1 (plain HTTP, the filesystem driver), beside curl moving the same blob by the same
# API (POST an upload, PUT it whole; GET it), in one run, alternating, `runs` times each
# (default 3). Each push goes to an empty repository, so every byte is sent. Prints the means
# and Caravan's ratio to curl. Goal: at most 1.2x for both.
# usage: registry.sh CARAVAN [RUNS] [SIZE_MIB]
set -euo pipefail
caravan=${1:?usage: registry.sh CARAVAN [RUNS] [SIZE_MIB]}
runs=${2:-3}
size=${3:-1024}
command -v docker-registry >/dev/null || { echo "bench: docker-registry is missing (Debian package docker-registry)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/caravan-registry.XXXXXX)
export CARAVAN_HOME="$work/home"
registry=""
cleanup() { [ -n "$registry" ] && kill "$registry" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/config.yml" <<YML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port}
YML
docker-registry serve "$work/config.yml" >"$work/registry.log" 2>&1 &
registry=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done

# A box of SIZE_MIB MiB of incompressible bytes.
mkdir -p "$work/box"
head -c "$((size << 20))" /dev/urandom >"$work/box/box.img"
printf '{"provider":"libvirt","format":"qcow2","virtual_size":1}' >"$work/box/metadata.json"
tar -cf "$work/bench.box" -C "$work/box" metadata.json box.img
"$caravan" box add bench/box "$work/bench.box" >/dev/null
blob=$(find "$CARAVAN_HOME/boxes" -name box.img | head -n 1)
digest=sha256:$(sha256sum "$blob" | cut -d' ' -f1)
api=http://127.0.0.1:$port/v2

now() { date +%s.%N; }
seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
curl_push() {  # repository
  local location
  location=$(curl -sS -X POST -D - -o /dev/null "$api/$1/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case "$location" in http*) ;; *) location="http://127.0.0.1:$port$location" ;; esac
  curl -sSf -X PUT -H 'Content-Type: application/octet-stream' -T "$blob" "$location&digest=$digest" -o /dev/null
}
declare -a caravan_push=() curl_push_s=() caravan_pull=() curl_pull=()
for run in $(seq 1 "$runs"); do
  start=$(now); "$caravan" box push bench/box "oci://127.0.0.1:$port/c$run/box:1" >/dev/null; caravan_push+=("$(seconds "$start" "$(now)")")
  start=$(now); curl_push "k$run/box"; curl_push_s+=("$(seconds "$start" "$(now)")")
  "$caravan" box remove bench/box --force >/dev/null
  rm -rf "$CARAVAN_HOME/boxes/.oci-partial"
  start=$(now); "$caravan" box add bench/box "oci://127.0.0.1:$port/c$run/box:1" >/dev/null; caravan_pull+=("$(seconds "$start" "$(now)")")
  start=$(now); curl -sSf -o "$work/pulled" "$api/k$run/box/blobs/$digest"; curl_pull+=("$(seconds "$start" "$(now)")")
  rm -f "$work/pulled"
  blob=$(find "$CARAVAN_HOME/boxes" -name box.img | head -n 1)
done
mean() { python3 -c "import sys; v=[float(x) for x in sys.argv[1:]]; print(f'{sum(v)/len(v):.2f}')" "$@"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }
cp=$(mean "${caravan_push[@]}"); kp=$(mean "${curl_push_s[@]}"); cl=$(mean "${caravan_pull[@]}"); kl=$(mean "${curl_pull[@]}")
echo "push of a $size MiB box: caravan ${cp} s (${caravan_push[*]}), curl ${kp} s (${curl_push_s[*]}): $(ratio "$cp" "$kp")x (goal <= 1.2x)"
echo "pull of a $size MiB box: caravan ${cl} s (${caravan_pull[*]}), curl ${kl} s (${curl_pull[*]}): $(ratio "$cl" "$kl")x (goal <= 1.2x)"
echo "  (caravan's pull also checks the sha256 and installs the box; curl only writes the file)"
