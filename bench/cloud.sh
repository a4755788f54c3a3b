#!/usr/bin/env bash
# `caravan up` of the test cloud image (scripts/cloud-image.sh) to provisioned (one shell
# provisioner), against the same image booted by hand: qemu-system-x86_64 on a qcow2 overlay
# with a `cloud-localds` NoCloud seed (the same user, key and hostname), to the point where
# SSH answers and `cloud-init status --wait` has returned; `runs` times each (default 2),
# alternating, in one run. Caravan's own share is the difference of the means: what `up`
# adds to the guest's boot and cloud-init (the seed, the volumes, libvirt, the waits).
# Goal: at most 1.5 s. Both run under TCG with 768 MiB and one CPU, user-mode networking.
# usage: cloud.sh CARAVAN IMAGE_FOLDER [RUNS] (as root, libvirtd running: scripts/libvirt-env.sh)
set -euo pipefail
caravan=${1:?usage: cloud.sh CARAVAN IMAGE_FOLDER [RUNS]}
images=$(cd "${2:?usage: cloud.sh CARAVAN IMAGE_FOLDER [RUNS]}" && pwd)
runs=${3:-2}
command -v cloud-localds >/dev/null || { echo "bench: cloud-localds is missing (Debian package cloud-image-utils)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/caravan-cloud.XXXXXX)
export CARAVAN_HOME="$work/home" CARAVAN_NAT_RESTRICT=1
server="" qemu=""
cleanup() {
  [ -n "$qemu" ] && kill "$qemu" 2>/dev/null
  (cd "$work/proj" 2>/dev/null && "$caravan" destroy -f >/dev/null 2>&1) || true
  "$caravan" box remove debian/12 --force >/dev/null 2>&1 || true
  [ -n "$server" ] && kill "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
top=$(cd "$(dirname "$0")/.." && pwd)
# The image and its checksum file are links into cloud-image.sh's cache: serve the cache's folder.
served=$(readlink -f "$images/images/cloud/bookworm/latest/SHA512SUMS")
served=${served%/images/cloud/bookworm/latest/SHA512SUMS}
coproc SERVER { exec python3 "$top/scripts/box-server.py" "$served"; }
server=$SERVER_PID
read -r ready port <&"${SERVER[0]}"
[ "$ready" = READY ] || { echo "bench: the image server did not start" >&2; exit 1; }
sed "s/PORT/$port/g" "$images/index.json" >"$work/index.json"
export CARAVAN_IMAGE_INDEX="$work/index.json"
"$caravan" box add debian/12 >/dev/null
image=$(find "$CARAVAN_HOME/boxes" -name box.img | head -n 1)

mkdir -p "$work/proj"
cat >"$work/proj/Machinefile" <<'MF'
box "debian/12"
memory 768MiB
cpus 1
libvirt { accel tcg }
provision shell, name: "hello", inline: "echo provisioned > /var/tmp/hello"
MF
by_caravan() {
  local start end
  start=$(date +%s.%N)
  (cd "$work/proj" && "$caravan" up >"$work/up.log" 2>&1) || { tail -5 "$work/up.log" >&2; exit 1; }
  end=$(date +%s.%N)
  [ "$(cd "$work/proj" && "$caravan" ssh -c 'cat /var/tmp/hello')" = provisioned ] || { echo "bench: not provisioned" >&2; exit 1; }
  (cd "$work/proj" && "$caravan" destroy -f >/dev/null)
  echo "caravan $start $end" >>"$work/times"
}

ssh-keygen -q -t ed25519 -N '' -f "$work/key"
cat >"$work/user-data" <<UD
#cloud-config
users:
  - name: vagrant
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    shell: /bin/bash
    lock_passwd: true
    ssh_authorized_keys: ["$(cat "$work/key.pub")"]
hostname: default
ssh_pwauth: false
UD
by_hand() {
  local start end i
  start=$(date +%s.%N)
  printf 'instance-id: bench-%s\nlocal-hostname: default\n' "$start" >"$work/meta-data"
  cloud-localds "$work/seed.iso" "$work/user-data" "$work/meta-data"
  qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$work/overlay.qcow2"
  local ssh_port=$((20000 + RANDOM % 20000))
  qemu-system-x86_64 -accel tcg -m 768 -smp 1 -display none -serial "file:$work/console.log" \
    -drive "file=$work/overlay.qcow2,if=virtio" -drive "file=$work/seed.iso,media=cdrom,readonly=on" \
    -nic "user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:$ssh_port-:22" &
  qemu=$!
  for i in $(seq 1 1200); do
    if ssh -q -p "$ssh_port" -i "$work/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
      -o ConnectTimeout=2 -o BatchMode=yes vagrant@127.0.0.1 'cloud-init status --wait >/dev/null'; then
      break
    fi
    sleep 0.3
  done
  end=$(date +%s.%N)
  kill "$qemu"
  wait "$qemu" 2>/dev/null || true
  qemu=""
  rm -f "$work/overlay.qcow2" "$work/seed.iso"
  echo "by-hand $start $end" >>"$work/times"
}

for _ in $(seq 1 "$runs"); do
  by_caravan
  by_hand
done
python3 - "$work/times" <<'PY'
import sys
times = {}
for line in open(sys.argv[1]):
    label, start, end = line.split()
    times.setdefault(label, []).append(float(end) - float(start))
mean = {k: sum(v) / len(v) for k, v in times.items()}
share = mean["caravan"] - mean["by-hand"]
runs = ", ".join(f"{t:.1f}" for t in times["caravan"])
hand = ", ".join(f"{t:.1f}" for t in times["by-hand"])
print(f"cloud image up to provisioned: caravan {mean['caravan']:.1f} s ({runs}); by hand to SSH and cloud-init done "
      f"{mean['by-hand']:.1f} s ({hand}); ratio {mean['caravan'] / mean['by-hand']:.2f}x; "
      f"Caravan's own share {share:.1f} s (goal <= 1.5 s)")
PY
