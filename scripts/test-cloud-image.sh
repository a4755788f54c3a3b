#!/usr/bin/env bash
# Boots the image scripts/cloud-image.sh makes, under plain QEMU (TCG, user-mode network, SSH
# through a hostfwd on 127.0.0.1), with a NoCloud seed that makes a user `vagrant` with a fresh
# ed25519 key, on a qcow2 overlay grown to 8 GiB (the image itself stays untouched), and checks:
# SSH with the key, `cloud-init status --wait` done, passwordless sudo, / grown to ~8 GiB
# (growpart + resize2fs), host keys and a machine-id made at first boot, the firmware the guest
# sees (/sys/firmware/efi only under UEFI), and with uefi-tpm a TPM 2.0 (swtpm, tpm-crb) as
# /dev/tpmrm0. One guest at a time, each killed after its checks or after TIMEOUT seconds.
# usage: [TIMEOUT=240] [LOGDIR=DIR] test-cloud-image.sh QCOW2 [bios|uefi|uefi-tpm]...   (default: all three)
# Needs: qemu-system-x86, qemu-utils, genisoimage, openssh-client; ovmf for uefi; swtpm for uefi-tpm.
set -euo pipefail
image=$(readlink -f "${1:?usage: $0 QCOW2 [bios|uefi|uefi-tpm]...}")
shift
modes=("$@"); [ ${#modes[@]} -gt 0 ] || modes=(bios uefi uefi-tpm)
timeout=${TIMEOUT:-240}
tmp=$(mktemp -d)
qemu_pid="" swtpm_pid=""
stop() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
  [ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null && wait "$swtpm_pid" 2>/dev/null
  qemu_pid="" swtpm_pid=""
}
trap 'stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
logdir=${LOGDIR:-}   # where to keep each boot's serial console log, MODE.console.log
keep_log() { [ -z "$logdir" ] || [ ! -f "$tmp/console.log" ] || cp "$tmp/console.log" "$logdir/$mode.console.log"; }
fail() {
  echo "test-cloud-image: FAIL: $*" >&2
  stop; keep_log
  [ -f "$tmp/console.log" ] && tail -40 "$tmp/console.log" >&2
  exit 1
}

ssh-keygen -q -t ed25519 -N '' -C caravan-test -f "$tmp/key"
mkdir "$tmp/seed"
cat >"$tmp/seed/user-data" <<EOF
#cloud-config
users:
  - name: vagrant
    shell: /bin/bash
    sudo: ALL=(ALL) NOPASSWD:ALL
    ssh_authorized_keys:
      - $(cat "$tmp/key.pub")
EOF
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

for mode in "${modes[@]}"; do
  echo "==> test-cloud-image: $mode"
  printf 'instance-id: iid-%s-%s\nlocal-hostname: cloudimg-%s\n' "$mode" "$$" "$mode" >"$tmp/seed/meta-data"
  genisoimage -quiet -output "$tmp/seed.iso" -volid cidata -joliet -rock "$tmp/seed/user-data" "$tmp/seed/meta-data"
  rm -f "$tmp/overlay.qcow2" "$tmp/console.log"
  qemu-img create -q -f qcow2 -F qcow2 -b "$image" "$tmp/overlay.qcow2"
  qemu-img resize -q "$tmp/overlay.qcow2" 8G
  firmware=()
  case $mode in
    bios) ;;
    uefi|uefi-tpm)
      cp /usr/share/OVMF/OVMF_VARS_4M.fd "$tmp/vars.fd"
      firmware=(-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
        -drive "if=pflash,format=raw,file=$tmp/vars.fd") ;;
    *) fail "unknown mode $mode (bios, uefi or uefi-tpm)" ;;
  esac
  tpm=()
  if [ "$mode" = uefi-tpm ]; then
    rm -rf "$tmp/tpm"; mkdir "$tmp/tpm"
    swtpm socket --tpm2 --tpmstate "dir=$tmp/tpm" --ctrl "type=unixio,path=$tmp/tpm/sock" &
    swtpm_pid=$!
    for _ in $(seq 50); do [ -S "$tmp/tpm/sock" ] && break; sleep 0.1; done
    tpm=(-chardev "socket,id=chrtpm,path=$tmp/tpm/sock" -tpmdev emulator,id=tpm0,chardev=chrtpm -device tpm-crb,tpmdev=tpm0)
  fi
  port=$(free_port)
  started=$(date +%s)
  qemu-system-x86_64 -accel tcg -m 1024 -smp 2 -display none -monitor none "${firmware[@]}" \
    -drive "file=$tmp/overlay.qcow2,if=virtio" -cdrom "$tmp/seed.iso" \
    -nic "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:$port-:22" \
    -serial "file:$tmp/console.log" "${tpm[@]}" &
  qemu_pid=$!
  ssh_opts=(-p "$port" -i "$tmp/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
    -o LogLevel=ERROR -o ConnectTimeout=5 -o BatchMode=yes)
  until ssh "${ssh_opts[@]}" vagrant@127.0.0.1 true 2>/dev/null; do
    kill -0 "$qemu_pid" 2>/dev/null || fail "$mode: QEMU exited"
    [ $(( $(date +%s) - started )) -lt "$timeout" ] || fail "$mode: no SSH after $timeout s"
    sleep 3
  done
  ssh_at=$(( $(date +%s) - started ))
  # shellcheck disable=SC2016
  out=$(timeout $(( timeout > ssh_at + 30 ? timeout - ssh_at : 30 )) ssh "${ssh_opts[@]}" vagrant@127.0.0.1 '
    cloud-init status --wait >/dev/null; cloud-init status; sudo -n true && echo sudo=ok
    echo root_kib=$(df -k --output=size / | tail -1)
    df -h / | tail -1; ls /dev/disk/by-id
    echo host_keys=$(ls /etc/ssh/ssh_host_*_key | wc -l) machine_id=$(cat /etc/machine-id)
    [ -d /sys/firmware/efi ] && echo efi=yes || echo efi=no
    [ -e /dev/tpmrm0 ] && echo tpm=yes || echo tpm=no
    uname -r; hostname; cat /proc/cmdline
    echo "--- cloud-init warnings:"; sudo grep -E "WARNING|ERROR|Traceback" /var/log/cloud-init.log
    echo "--- failed units:"; systemctl --failed --no-legend
    echo "--- network:"; ls /etc/systemd/network; grep -v "^#" /etc/resolv.conf | grep .
    systemd-analyze || true; systemd-analyze blame | head -8' ) || fail "$mode: the checks over SSH failed"
  done_at=$(( $(date +%s) - started ))
  echo "$out" | sed 's/^/    /'
  stop; keep_log
  echo "$out" | grep -q '^status: done' || fail "$mode: cloud-init not done"
  echo "$out" | grep -q '^sudo=ok' || fail "$mode: no passwordless sudo"
  kib=$(echo "$out" | sed -n 's/^root_kib= *//p')
  [ "$kib" -gt $((7 * 1024 * 1024)) ] || fail "$mode: / is $kib KiB, not grown to ~8 GiB"
  echo "$out" | grep -q '^host_keys=[1-9]' || fail "$mode: no SSH host keys"
  echo "$out" | grep -Eq 'machine_id=[0-9a-f]{32}$' || fail "$mode: no machine-id"
  case $mode in bios) want_efi=no ;; *) want_efi=yes ;; esac
  echo "$out" | grep -q "^efi=$want_efi" || fail "$mode: /sys/firmware/efi is not what $mode boots with"
  [ "$mode" != uefi-tpm ] || echo "$out" | grep -q '^tpm=yes' || fail "$mode: no /dev/tpmrm0"
  echo "==> test-cloud-image: $mode ok: SSH after ${ssh_at} s, cloud-init done after ${done_at} s"
done
