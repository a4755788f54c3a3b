#!/bin/sh
# network.sh: DHCP on the first NIC, under a name that does not depend on the
# PCI slot: net.ifnames=0 biosdevname=0 on the kernel command line (GRUB's
# /etc/default/grub, grubby's boot loader entries, extlinux.conf; grub.cfg
# regenerated as in serial-console.sh), so the first NIC is eth0 on every
# machine, then DHCP on eth0 with whatever manages the network:
#   - systemd-networkd when it is enabled, or when nothing else is installed:
#     /etc/systemd/network/10-dhcp.network (DHCP on eth* and en*), networkd
#     enabled (and systemd-resolved when it is installed);
#   - NetworkManager (RHEL): /etc/NetworkManager/system-connections/eth0.nmconnection;
#   - ifupdown (Debian's installer): "allow-hotplug eth0 / iface eth0 inet dhcp"
#     in /etc/network/interfaces, replacing the installer's plain DHCP stanza
#     for its en* name.
# The new name takes effect at the next boot.
#
# Env: CARAVAN_CHROOT (1: this is a chroot, as Caravan's rootfs builds say;
# otherwise / is compared with /proc/1/root).
# Runs as root, in a booted guest (over sudo) or in a chroot of the target root
# file system; Debian and RHEL families alike. Never starts or restarts a
# service. Idempotent.
set -eu

me=network.sh
args="net.ifnames=0 biosdevname=0"

say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }
# same_file A B: A and B have the same bytes (cmp is not on every minimal system).
same_file() { [ -f "$1" ] && [ -f "$2" ] && [ "$(cat "$1"; echo .)" = "$(cat "$2"; echo .)" ]; }

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

# edit_args "OLD ARGS" "NEW ARGS": OLD unchanged when its arguments with NEW's
# keys are NEW already, in order; else OLD without them, then NEW.
edit_args() {
  printf '%s\n' "$1" | awk -v new="$2" '{
    n = split(new, add, " "); for (i = 1; i <= n; i++) { k = add[i]; sub(/=.*/, "", k); drop[k] = 1 }
    out = ""; have = ""; m = split($0, old, " ")
    for (i = 1; i <= m; i++) {
      k = old[i]; sub(/=.*/, "", k)
      if (k in drop) have = have (have == "" ? "" : " ") old[i]; else out = out (out == "" ? "" : " ") old[i]
    }
    if (have == new) print $0; else print out (out == "" ? "" : " ") new
  }'
}

# write_file PATH MODE CONTENT: writes CONTENT (plus a newline) when PATH differs.
# Prints "changed" or "same".
write_file() {
  if [ -f "$1" ] && [ "$(cat "$1")" = "$3" ]; then
    echo same
  else
    printf '%s\n' "$3" > "$1"
    echo changed
  fi
  chmod "$2" "$1"
}

unit_exists() {
  [ -f "/lib/systemd/system/$1" ] || [ -f "/usr/lib/systemd/system/$1" ] || [ -f "/etc/systemd/system/$1" ]
}

# 1. The kernel command line
boot_config=""
if [ -f /etc/default/grub ]; then
  boot_config=1
  current=$(sed -n 's/^GRUB_CMDLINE_LINUX=//p' /etc/default/grub | tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/")
  wanted=$(edit_args "$current" "$args")
  line="GRUB_CMDLINE_LINUX=\"$wanted\""
  if grep -qxF "$line" /etc/default/grub && [ "$(grep -c '^GRUB_CMDLINE_LINUX=' /etc/default/grub)" = 1 ]; then
    grub_changed=""
    say "GRUB_CMDLINE_LINUX in /etc/default/grub already has $args"
  else
    tmp=$(mktemp)
    awk -v line="$line" '
      { lines[NR] = $0; if (index($0, "GRUB_CMDLINE_LINUX=") == 1) last = NR }
      END {
        for (i = 1; i <= NR; i++) if (index(lines[i], "GRUB_CMDLINE_LINUX=") != 1) print lines[i]; else if (i == last) print line
        if (!last) print line
      }
    ' /etc/default/grub > "$tmp"
    cat "$tmp" > /etc/default/grub
    rm -f "$tmp"
    grub_changed=1
    say "$line in /etc/default/grub"
  fi

  cfg="" tool=""
  if command -v update-grub >/dev/null 2>&1; then tool=update-grub cfg=/boot/grub/grub.cfg
  elif command -v grub2-mkconfig >/dev/null 2>&1; then tool=grub2-mkconfig cfg=/boot/grub2/grub.cfg
  elif command -v grub-mkconfig >/dev/null 2>&1; then tool=grub-mkconfig cfg=/boot/grub/grub.cfg
  fi
  if [ -z "$tool" ]; then
    say "no update-grub or grub2-mkconfig; grub.cfg not regenerated"
  elif in_chroot && [ ! -f "$cfg" ]; then
    say "chroot without $cfg (no /boot?): grub.cfg not regenerated; the installer's boot loader step makes it"
  elif [ -z "$grub_changed" ] && [ -f "$cfg" ] && grep -q "net.ifnames=0" "$cfg"; then
    say "$cfg already has $args"
  else
    if [ "$tool" = update-grub ]; then set -- update-grub; else set -- "$tool" -o "$cfg"; fi
    if "$@" >/dev/null 2>&1; then
      say "regenerated $cfg ($tool)"
    elif in_chroot; then
      say "warning: $tool failed in this chroot (are /dev, /sys and /boot mounted?); run it at first boot"
    else
      die "$tool failed; run '$*' to see why"
    fi
  fi
fi
if command -v grubby >/dev/null 2>&1 && ls /boot/loader/entries/*.conf >/dev/null 2>&1; then
  boot_config=1
  grubby --update-kernel=ALL --args="$args" >/dev/null
  say "grubby: $args on every boot loader entry"
fi
if [ -f /etc/kernel/cmdline ]; then
  current=$(cat /etc/kernel/cmdline)
  wanted=$(edit_args "$current" "$args")
  if [ "$current" = "$wanted" ]; then
    say "/etc/kernel/cmdline already has $args"
  else
    printf '%s\n' "$wanted" > /etc/kernel/cmdline
    say "$args in /etc/kernel/cmdline (for kernels installed later)"
  fi
fi
for f in /boot/extlinux/extlinux.conf /boot/extlinux.conf /extlinux.conf /boot/syslinux/syslinux.cfg; do
  [ -f "$f" ] || continue
  boot_config=1
  tmp=$(mktemp)
  awk -v args="$args" '
    function edit(old, new,    n, add, i, k, drop, out, have, m, parts) {
      n = split(new, add, " "); for (i = 1; i <= n; i++) { k = add[i]; sub(/=.*/, "", k); drop[k] = 1 }
      out = ""; have = ""; m = split(old, parts, " ")
      for (i = 1; i <= m; i++) {
        k = parts[i]; sub(/=.*/, "", k)
        if (k in drop) have = have (have == "" ? "" : " ") parts[i]; else out = out (out == "" ? "" : " ") parts[i]
      }
      if (have == new) return old
      return out (out == "" ? "" : " ") new
    }
    toupper($1) == "APPEND" {
      match($0, /^[ \t]*/); indent = substr($0, 1, RLENGTH)
      rest = $0; sub(/^[ \t]*[Aa][Pp][Pp][Ee][Nn][Dd][ \t]*/, "", rest)
      print indent "APPEND " edit(rest, args); next
    }
    { print }
  ' "$f" > "$tmp"
  if same_file "$tmp" "$f"; then
    say "$f already has $args"
  else
    cat "$tmp" > "$f"
    say "$args on every APPEND line of $f"
  fi
  rm -f "$tmp"
done
[ -n "$boot_config" ] || say "warning: no GRUB, grubby or extlinux configuration found; the boot loader must pass $args itself"

# 2. DHCP on eth0
manager=""
if command -v systemctl >/dev/null 2>&1 && systemctl is-enabled systemd-networkd.service >/dev/null 2>&1; then
  manager=networkd
elif [ -x /usr/sbin/NetworkManager ] || [ -x /sbin/NetworkManager ]; then
  manager=NetworkManager
elif [ -x /sbin/ifup ] || [ -x /usr/sbin/ifup ]; then
  manager=ifupdown
elif unit_exists systemd-networkd.service; then
  manager=networkd
else
  die "nothing manages the network: no systemd-networkd, NetworkManager or ifupdown"
fi
say "the network is managed by $manager"

case $manager in
networkd)
  install -d -m 0755 /etc/systemd/network
  r=$(write_file /etc/systemd/network/10-dhcp.network 0644 '[Match]
Name=eth* en*

[Network]
DHCP=yes

[DHCPv4]
UseDomains=true')
  if [ "$r" = changed ]; then say "wrote /etc/systemd/network/10-dhcp.network (DHCP on eth* and en*)"
  else say "/etc/systemd/network/10-dhcp.network is already current"; fi
  systemctl enable systemd-networkd.service >/dev/null 2>&1 || die "systemctl enable systemd-networkd.service failed"
  say "enabled systemd-networkd.service"
  if unit_exists systemd-resolved.service; then
    systemctl enable systemd-resolved.service >/dev/null 2>&1 || die "systemctl enable systemd-resolved.service failed"
    say "enabled systemd-resolved.service"
  else
    say "systemd-resolved is not installed; /etc/resolv.conf stays as it is"
  fi
  ;;
NetworkManager)
  dir=/etc/NetworkManager/system-connections
  install -d -m 0755 "$dir"
  # No uuid: NetworkManager derives a stable one from the file name.
  r=$(write_file "$dir/eth0.nmconnection" 0600 '[connection]
id=eth0
type=ethernet
interface-name=eth0
autoconnect=true

[ipv4]
method=auto

[ipv6]
method=auto')
  chown root:root "$dir/eth0.nmconnection"
  if [ "$r" = changed ]; then say "wrote $dir/eth0.nmconnection (DHCP on eth0, mode 0600)"
  else say "$dir/eth0.nmconnection is already current"; fi
  if command -v restorecon >/dev/null 2>&1; then restorecon "$dir/eth0.nmconnection" 2>/dev/null || true; fi
  if command -v systemctl >/dev/null 2>&1; then
    systemctl enable NetworkManager.service >/dev/null 2>&1 || die "systemctl enable NetworkManager.service failed"
    say "enabled NetworkManager.service"
  fi
  ;;
ifupdown)
  f=/etc/network/interfaces
  [ -f "$f" ] || printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n' > "$f"
  tmp=$(mktemp)
  # Drops the installer's stanzas for en* names when they are plain DHCP or
  # SLAAC without options (a line of its own each, as Debian's installer writes
  # them); anything else is left for a person to judge.
  # Comment lines right above a dropped line go with it.
  awk '
    { line[NR] = $0 }
    END {
      for (i = 1; i <= NR; i++) {
        if (line[i] ~ /^iface[ \t]+en[a-z0-9]+[ \t]+inet6?[ \t]+(dhcp|auto)[ \t]*$/ && line[i + 1] !~ /^[ \t]+[^ \t]/) {
          split(line[i], w, /[ \t]+/); plain[w[2]] = 1; skip[i] = 1
        }
      }
      for (i = 1; i <= NR; i++) {
        if (line[i] ~ /^(auto|allow-hotplug)[ \t]+en[a-z0-9]+[ \t]*$/) { split(line[i], w, /[ \t]+/); if (w[2] in plain) skip[i] = 1 }
      }
      for (i = NR - 1; i >= 1; i--) if (line[i] ~ /^#/ && (i + 1) in skip) skip[i] = 1
      for (i = 1; i <= NR; i++) if (!(i in skip)) print line[i]
    }
  ' "$f" > "$tmp"
  if ! grep -Eq '^iface[[:space:]]+eth0[[:space:]]+inet[[:space:]]' "$tmp"; then
    printf '\n# The first NIC (net.ifnames=0), by Caravan'"'"'s network.sh\nallow-hotplug eth0\niface eth0 inet dhcp\n' >> "$tmp"
  fi
  if same_file "$tmp" "$f"; then
    say "$f already has DHCP on eth0"
  else
    cat "$tmp" > "$f"
    say "DHCP on eth0 in $f (the installer's en* DHCP stanzas removed)"
  fi
  rm -f "$tmp"
  ;;
esac
