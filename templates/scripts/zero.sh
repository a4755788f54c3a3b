#!/bin/sh
# zero.sh: fills the free space of / (and of /boot when it is a file system of
# its own) with zeros, deletes the fill file and syncs, so that the disk image
# compacts when it is converted or compressed. Running out of space is the
# point, not an error. In a chroot it does nothing but say so: the free space
# there is the host's.
#
# Env: CARAVAN_CHROOT (1: this is a chroot, as Caravan's rootfs builds say;
# otherwise / is compared with /proc/1/root).
# Runs as root in a booted guest (over sudo), last of all the build's scripts.
# Idempotent.
set -eu

me=zero.sh

say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (use sudo)"

# In a chroot when CARAVAN_CHROOT=1 or / is not the root of process 1; Debian's ischroot as a second
# opinion; when neither can tell (no /proc), assume a chroot: filling the host's
# disk is the worse mistake.
in_chroot() {
  [ "${CARAVAN_CHROOT:-0}" = 1 ] && return 0
  if root_id=$(stat -c %d:%i / 2>/dev/null) && init_id=$(stat -L -c %d:%i /proc/1/root 2>/dev/null); then
    [ "$root_id" != "$init_id" ]
    return
  fi
  if command -v ischroot >/dev/null 2>&1; then
    rc=0; ischroot || rc=$?
    [ "$rc" != 1 ]
    return
  fi
  return 0
}

if in_chroot; then
  say "running in a chroot (or / cannot be compared with /proc/1/root): nothing zeroed"
  exit 0
fi

fill() {
  file=$1/.caravan-zero.fill
  rm -f "$file"
  trap 'rm -f "$file"' EXIT INT TERM
  if out=$(dd if=/dev/zero of="$file" bs=1M 2>&1); then
    say "$1: dd stopped without filling the disk: $(printf '%s' "$out" | tail -n 1)"
  elif printf '%s' "$out" | grep -qi 'no space left'; then
    :
  else
    rm -f "$file"
    die "$1: dd failed: $out"
  fi
  size=$(du -m "$file" 2>/dev/null | cut -f1)
  sync
  rm -f "$file"
  sync
  trap - EXIT INT TERM
  say "$1: wrote ${size:-?} MiB of zeros into the free space, removed them, synced"
}

fill /
if [ -d /boot ] && [ "$(stat -c %d /boot)" != "$(stat -c %d /)" ]; then
  fill /boot
fi
