#!/bin/sh
# cleanup.sh: leaves nothing in the box that belongs to the build or should
# differ between machines: package caches and lists (apt or dnf/yum), log files
# truncated (rotated ones removed, the journal vacuumed or emptied), an empty
# /etc/machine-id (systemd makes a new one at first boot), the random seed,
# /tmp and /var/tmp, shell histories, DHCP leases, and the build's package
# proxy (an Acquire::*::Proxy line in /etc/apt/apt.conf, proxy= in dnf.conf).
#
# Env: CLEANUP_KEEP_PROXY (default 0; 1 keeps the package manager's proxy),
# CARAVAN_CHROOT (1: this is a chroot; otherwise / is compared with /proc/1/root).
# Runs as root, in a booted guest (over sudo) or in a chroot of the target root
# file system; Debian and RHEL families alike. Meant to run last but for zero.sh.
# Idempotent.
set -eu

me=cleanup.sh
keep_proxy=${CLEANUP_KEEP_PROXY:-0}

say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (use sudo)"

# True when CARAVAN_CHROOT=1, in a chroot, and when it cannot be told (no /proc).
in_chroot() {
  [ "${CARAVAN_CHROOT:-0}" = 1 ] && return 0
  if root_id=$(stat -c %d:%i / 2>/dev/null) && init_id=$(stat -L -c %d:%i /proc/1/root 2>/dev/null); then
    [ "$root_id" != "$init_id" ]
    return
  fi
  return 0
}

# rm -rf the contents of a directory, not the directory.
empty_dir() {
  dir=$1; shift
  [ -d "$dir" ] || return 0
  find "$dir" -mindepth 1 -maxdepth 1 "$@" -exec rm -rf {} + 2>/dev/null || true
}

if in_chroot; then booted=""; else booted=1; fi

# Packages
if command -v apt-get >/dev/null 2>&1; then
  apt-get clean
  rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
  say "apt: cache and package lists removed (apt-get update brings the lists back)"
fi
if command -v dnf >/dev/null 2>&1; then
  dnf clean all >/dev/null 2>&1 || true
  rm -rf /var/cache/dnf/*
  say "dnf: caches removed"
elif command -v yum >/dev/null 2>&1; then
  yum clean all >/dev/null 2>&1 || true
  rm -rf /var/cache/yum/*
  say "yum: caches removed"
fi
rm -f /var/cache/debconf/*-old /var/lib/dpkg/*-old
say "old debconf and dpkg database copies removed"

# The build's package proxy (Debian's installer writes mirror/http/proxy into
# /etc/apt/apt.conf) means nothing to the machines made from the box.
if [ "$keep_proxy" = 1 ]; then
  say "CLEANUP_KEEP_PROXY=1: package manager proxy settings kept"
else
  seen=""
  for f in /etc/apt/apt.conf /etc/dnf/dnf.conf /etc/yum.conf; do
    [ -f "$f" ] || continue
    seen=1
    if grep -Eqi '^[[:space:]]*(Acquire::[a-z]+::Proxy[[:space:]]|proxy[[:space:]]*=)' "$f"; then
      tmp=$(mktemp)
      grep -Evi '^[[:space:]]*(Acquire::[a-z]+::Proxy[[:space:]]|proxy[[:space:]]*=)' "$f" > "$tmp" || true
      cat "$tmp" > "$f"
      rm -f "$tmp"
      say "removed the build's proxy setting from $f"
    else
      say "no proxy setting in $f"
    fi
  done
  [ -n "$seen" ] || say "no apt.conf, dnf.conf or yum.conf; no proxy setting to remove"
fi

# Logs
if [ -d /var/log ]; then
  find /var/log -type f \( -name '*.gz' -o -name '*.xz' -o -name '*.[0-9]' -o -name '*.old' -o -name '*-[0-9]*[0-9]' \) \
    ! -path '/var/log/journal/*' -exec rm -f {} + 2>/dev/null || true
  find /var/log -type f ! -path '/var/log/journal/*' -exec sh -c 'for f; do : > "$f"; done' sh {} +
  say "log files in /var/log truncated, rotated ones removed"
fi
if [ -d /var/log/journal ]; then
  if [ -n "$booted" ] && command -v journalctl >/dev/null 2>&1; then
    journalctl --rotate >/dev/null 2>&1 || true
    journalctl --vacuum-time=1s >/dev/null 2>&1 || true
    say "journal rotated and vacuumed (journalctl)"
  else
    find /var/log/journal -type f -name '*.journal*' -exec rm -f {} + 2>/dev/null || true
    say "journal files removed"
  fi
fi

# Identity
: > /etc/machine-id
chmod 0444 /etc/machine-id
say "/etc/machine-id emptied (a new one at first boot)"
if [ -f /var/lib/dbus/machine-id ] && [ ! -L /var/lib/dbus/machine-id ]; then
  rm -f /var/lib/dbus/machine-id
  ln -s /etc/machine-id /var/lib/dbus/machine-id
  say "/var/lib/dbus/machine-id now links to /etc/machine-id"
fi
rm -f /var/lib/systemd/random-seed
say "systemd random seed removed"

# Temporary files. In a booted guest, the private /tmp directories of running
# services stay.
if [ -n "$booted" ]; then
  empty_dir /tmp ! -name 'systemd-private-*'
  empty_dir /var/tmp ! -name 'systemd-private-*'
else
  empty_dir /tmp
  empty_dir /var/tmp
fi
say "/tmp and /var/tmp emptied"

# Shell histories
rm -f /root/.bash_history /root/.zsh_history /root/.ash_history /root/.python_history /root/.lesshst \
  /home/*/.bash_history /home/*/.zsh_history /home/*/.ash_history /home/*/.python_history /home/*/.lesshst
say "shell histories removed"

# DHCP leases
rm -f /var/lib/dhcp/*.leases /var/lib/dhcp/*.lease /var/lib/dhclient/* \
  /var/lib/NetworkManager/*.lease /var/lib/NetworkManager/*.leases /var/lib/systemd/network/*.lease 2>/dev/null || true
say "DHCP leases removed"
