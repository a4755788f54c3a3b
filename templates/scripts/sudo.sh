#!/bin/sh
# sudo.sh: passwordless sudo for the box user. Installs sudo when it is missing
# (apt-get or dnf), writes /etc/sudoers.d/vagrant (mode 0440, checked with
# `visudo -cf` before it replaces the old one), makes sure /etc/sudoers reads
# /etc/sudoers.d, and adds the user to the admin group when it exists
# (sudo on Debian, wheel on RHEL).
#
# Env: BUILD_USER (default vagrant).
# Runs as root, in a booted guest (over sudo) or in a chroot of the target root
# file system; Debian and RHEL families alike. Idempotent.
set -eu

me=sudo.sh
user=${BUILD_USER:-vagrant}
file=/etc/sudoers.d/vagrant

say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }
# same_file A B: A and B have the same bytes (cmp is not on every minimal system).
same_file() { [ -f "$1" ] && [ -f "$2" ] && [ "$(cat "$1"; echo .)" = "$(cat "$2"; echo .)" ]; }

[ "$(id -u)" = 0 ] || die "must run as root (use sudo)"

# sudo itself
if command -v sudo >/dev/null 2>&1; then
  say "sudo is installed"
elif command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q sudo >/dev/null
  say "installed sudo (apt-get)"
elif command -v dnf >/dev/null 2>&1; then
  dnf install -y -q sudo >/dev/null
  say "installed sudo (dnf)"
elif command -v yum >/dev/null 2>&1; then
  yum install -y -q sudo >/dev/null
  say "installed sudo (yum)"
else
  die "sudo is missing and there is neither apt-get nor dnf to install it"
fi

# /etc/sudoers must read /etc/sudoers.d (both families do by default).
if grep -Eq '^[@#]includedir[[:space:]]+/etc/sudoers.d[[:space:]]*$' /etc/sudoers; then
  say "/etc/sudoers reads /etc/sudoers.d"
else
  printf '\n@includedir /etc/sudoers.d\n' >> /etc/sudoers
  say "added @includedir /etc/sudoers.d to /etc/sudoers"
fi
[ -d /etc/sudoers.d ] || install -d -m 0750 /etc/sudoers.d

# The rule. sudo ignores files in sudoers.d whose name holds a dot, so the
# candidate can sit beside the real one until it has been checked.
tmp=$file.caravan-new
trap 'rm -f "$tmp"' EXIT
printf '%s ALL=(ALL) NOPASSWD: ALL\nDefaults:%s !requiretty\n' "$user" "$user" > "$tmp"
chmod 0440 "$tmp"
chown root:root "$tmp"
if command -v visudo >/dev/null 2>&1; then
  visudo -cf "$tmp" >/dev/null || die "visudo rejected the rule for $user: $(cat "$tmp")"
  say "visudo accepts the rule for $user"
else
  say "visudo is missing; the rule is not checked"
fi
if same_file "$tmp" "$file"; then
  rm -f "$tmp"
  say "$file is already current"
else
  mv -f "$tmp" "$file"
  say "wrote $file: $user may run anything without a password"
fi
chmod 0440 "$file"
chown root:root "$file"
say "$file is 0440 root:root"

# Membership of the admin group, for tools that look at groups instead of rules.
admin=""
for g in sudo wheel; do
  if getent group "$g" >/dev/null 2>&1; then admin=$g; break; fi
done
if ! getent passwd "$user" >/dev/null 2>&1; then
  say "user $user does not exist (yet); group membership skipped (run vagrant.sh first)"
elif [ -z "$admin" ]; then
  say "neither a sudo nor a wheel group exists; group membership skipped"
elif id -nG "$user" | tr ' ' '\n' | grep -qx "$admin"; then
  say "$user is in group $admin"
else
  usermod -a -G "$admin" "$user"
  say "added $user to group $admin"
fi

if command -v visudo >/dev/null 2>&1; then
  visudo -c >/dev/null || die "visudo -c finds the sudoers configuration invalid"
  say "visudo -c: the whole sudoers configuration is valid"
fi
