#!/usr/bin/env bash
# Runs a command with libvirtd and virtlogd up: starts whichever is not
# running (as `libvirtd -d` / `virtlogd -d`, for machines without systemd),
# and stops only what it started, whatever the command's outcome.
# usage: libvirt-env.sh COMMAND [ARGS…]
set -uo pipefail
started=()
pidfile_dir=$(mktemp -d /tmp/caravan-libvirt.XXXXXX)
running() {  # name: its socket in this mount namespace answers (a daemon of another
  # namespace, such as a test's libvirtd in `ip netns`, does not count)
  case $1 in
    libvirtd) virsh -c qemu:///system uri >/dev/null 2>&1 ;;
    virtlogd) python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' \
      /run/libvirt/virtlogd-sock 2>/dev/null ;;
  esac
}
start() {  # name
  if running "$1"; then return; fi
  if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
    systemctl start "$1" && return
  fi
  "$1" -d -p "$pidfile_dir/$1.pid" && started+=("$1")
}
# Runs of this script at the same time share the daemons: each holds a shared
# lock while it runs, and the one that started them stops them only when no
# other run holds it any more (else they are left running for the others).
exec {shared_lock}>/tmp/caravan-libvirt-env.lock
flock -s "$shared_lock"
stop() {
  local name pid
  flock -u "$shared_lock"
  if [ ${#started[@]} -gt 0 ] && ! flock -x -n "$shared_lock"; then
    echo "==> libvirt-env: another run still uses libvirtd; leaving it running" >&2
    started=()
  fi
  for name in "${started[@]}"; do
    [ -f "$pidfile_dir/$name.pid" ] || continue
    pid=$(cat "$pidfile_dir/$name.pid")
    kill "$pid" 2>/dev/null
    # Wait until it is gone, so a run right after this one starts its own
    # daemon instead of finding one that is still shutting down.
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$pidfile_dir"
}
trap stop EXIT
# Without udev (containers, some CI hosts) /dev/kvm stays root-only. libvirt
# then finds KVM "not available" for its QEMU user on every lookup, throws its
# capability cache away and probes QEMU again: ~4 s each, ~48 s per define.
# udev's usual setting (root:kvm 0660) ends that.
if [ -c /dev/kvm ] && getent group kvm >/dev/null && [ "$(stat -c %G /dev/kvm)" != kvm ]; then
  chgrp kvm /dev/kvm 2>/dev/null && chmod 0660 /dev/kvm 2>/dev/null || true
fi
start virtlogd
start libvirtd
for _ in $(seq 1 50); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
"$@"
