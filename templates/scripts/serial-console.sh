#!/bin/sh
# serial-console.sh: kernel and login console on the first serial port (ttyS0,
# 115200 8N1) as well as the screen. Puts console=tty0 console=ttyS0,115200n8 on
# the kernel command line (any other console= is dropped) in GRUB's
# /etc/default/grub (with GRUB's own terminal on the serial port too) and in
# extlinux.conf when they exist, regenerates grub.cfg (update-grub or
# grub2-mkconfig; grubby for RHEL's boot loader entries) unless this is a chroot
# without a grub.cfg in /boot, and enables serial-getty@ttyS0.service.
#
# Env: CARAVAN_CHROOT (1: this is a chroot, as Caravan's rootfs builds say;
# otherwise / is compared with /proc/1/root).
# Runs as root, in a booted guest (over sudo) or in a chroot of the target root
# file system; Debian and RHEL families alike. Never starts a service. Idempotent.
set -eu

me=serial-console.sh
args="console=tty0 console=ttyS0,115200n8"

say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }
# same_file A B: A and B have the same bytes (cmp is not on every minimal system).
same_file() { [ -f "$1" ] && [ -f "$2" ] && [ "$(cat "$1"; echo .)" = "$(cat "$2"; echo .)" ]; }

[ "$(id -u)" = 0 ] || die "must run as root (use sudo)"

# True when CARAVAN_CHROOT=1, in a chroot (/ is not the root of process 1), and
# when it cannot be told (no /proc).
in_chroot() {
  [ "${CARAVAN_CHROOT:-0}" = 1 ] && return 0
  if root_id=$(stat -c %d:%i / 2>/dev/null) && init_id=$(stat -L -c %d:%i /proc/1/root 2>/dev/null); then
    [ "$root_id" != "$init_id" ]
    return
  fi
  return 0
}

# edit_args "OLD ARGS" "NEW ARGS": OLD unchanged when its arguments with NEW's
# keys (the part before '=') are NEW already, in order; else OLD without them,
# then NEW.
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

# set_grub_var NAME VALUE: NAME="VALUE" in /etc/default/grub (the last such line
# replaced, or one appended). Prints "changed" or "same".
set_grub_var() {
  f=/etc/default/grub
  line="$1=\"$2\""
  if grep -qxF "$line" "$f" && [ "$(grep -c "^$1=" "$f")" = 1 ]; then echo same; return; fi
  if grep -q "^$1=" "$f"; then
    tmp=$(mktemp)
    awk -v name="$1" -v line="$line" '
      { lines[NR] = $0; if (index($0, name "=") == 1) last = NR }
      END { for (i = 1; i <= NR; i++) if (index(lines[i], name "=") != 1) print lines[i]; else if (i == last) print line }
    ' "$f" > "$tmp"
    cat "$tmp" > "$f"
    rm -f "$tmp"
  else
    printf '%s\n' "$line" >> "$f"
  fi
  echo changed
}

# The value of NAME in /etc/default/grub, quotes removed (last assignment wins).
grub_var() {
  sed -n "s/^$1=//p" /etc/default/grub | tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/"
}

grub_changed=""
if [ -f /etc/default/grub ]; then
  current=$(grub_var GRUB_CMDLINE_LINUX)
  wanted=$(edit_args "$current" "$args")
  if [ "$(set_grub_var GRUB_CMDLINE_LINUX "$wanted")" = changed ]; then
    grub_changed=1
    say "GRUB_CMDLINE_LINUX=\"$wanted\" in /etc/default/grub"
  else
    say "GRUB_CMDLINE_LINUX in /etc/default/grub already has $args"
  fi
  r1=$(set_grub_var GRUB_TERMINAL "console serial")
  r2=$(set_grub_var GRUB_SERIAL_COMMAND "serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1")
  if [ "$r1" = changed ] || [ "$r2" = changed ]; then
    grub_changed=1
    say "GRUB's menu on the screen and on ttyS0 (GRUB_TERMINAL, GRUB_SERIAL_COMMAND)"
  else
    say "GRUB's menu is already on the screen and on ttyS0"
  fi
else
  say "no /etc/default/grub; GRUB left alone"
fi

# RHEL 9 boots from boot loader entries (BLS) that hold their own command line.
if command -v grubby >/dev/null 2>&1 && ls /boot/loader/entries/*.conf >/dev/null 2>&1; then
  grubby --update-kernel=ALL --remove-args=console >/dev/null 2>&1 || true
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

# grub.cfg
if [ -f /etc/default/grub ]; then
  cfg="" tool=""
  if command -v update-grub >/dev/null 2>&1; then tool=update-grub cfg=/boot/grub/grub.cfg
  elif command -v grub2-mkconfig >/dev/null 2>&1; then tool=grub2-mkconfig cfg=/boot/grub2/grub.cfg
  elif command -v grub-mkconfig >/dev/null 2>&1; then tool=grub-mkconfig cfg=/boot/grub/grub.cfg
  fi
  if [ -z "$tool" ]; then
    say "no update-grub or grub2-mkconfig; grub.cfg not regenerated"
  elif in_chroot && [ ! -f "$cfg" ]; then
    say "chroot without $cfg (no /boot?): grub.cfg not regenerated; the installer's boot loader step makes it"
  elif [ -z "$grub_changed" ] && [ -f "$cfg" ] && grep -q "ttyS0,115200n8" "$cfg"; then
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

# extlinux
for f in /boot/extlinux/extlinux.conf /boot/extlinux.conf /extlinux.conf /boot/syslinux/syslinux.cfg; do
  [ -f "$f" ] || continue
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
    NR == 1 && toupper($1) != "SERIAL" { print "SERIAL 0 115200" }
    toupper($1) == "APPEND" {
      match($0, /^[ \t]*/); indent = substr($0, 1, RLENGTH)
      rest = $0; sub(/^[ \t]*[Aa][Pp][Pp][Ee][Nn][Dd][ \t]*/, "", rest)
      print indent "APPEND " edit(rest, args); next
    }
    { print }
  ' "$f" > "$tmp"
  if same_file "$tmp" "$f"; then
    say "$f already has $args and SERIAL 0 115200"
  else
    cat "$tmp" > "$f"
    say "$args on every APPEND line of $f, SERIAL 0 115200 first"
  fi
  rm -f "$tmp"
done

# A login prompt on ttyS0 (systemd would start one for the last console= anyway).
if command -v systemctl >/dev/null 2>&1; then
  if systemctl enable serial-getty@ttyS0.service >/dev/null 2>&1; then
    say "enabled serial-getty@ttyS0.service"
  else
    die "systemctl enable serial-getty@ttyS0.service failed"
  fi
else
  say "no systemd; no serial getty enabled"
fi
