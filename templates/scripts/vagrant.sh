#!/bin/sh
# vagrant.sh: the box contract's user. Creates the user if it is missing (home
# directory, user-private group, bash when present), sets its password, and adds
# Vagrant's insecure public keys (RSA and ed25519) to ~/.ssh/authorized_keys,
# keeping any other keys already there; ~/.ssh is 0700, the file 0600, both owned
# by the user.
#
# Env: BUILD_USER (default vagrant), BUILD_PASSWORD (default vagrant).
# Runs as root, in a booted guest (over sudo) or in a chroot of the target root
# file system; Debian and RHEL families alike. Idempotent.
set -eu

me=vagrant.sh
user=${BUILD_USER:-vagrant}
password=${BUILD_PASSWORD:-vagrant}

say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (use sudo)"

# Vagrant's published insecure public keys (keys/vagrant.pub in hashicorp/vagrant).
keys='ssh-rsa AAAAB3NzaC1yc2EAAAABIwAAAQEA6NF8iallvQVp22WDkTkyrtvp9eWW6A8YVr+kz4TjGYe7gHzIw+niNltGEFHzD8+v1I2YJ6oXevct1YeS0o9HZyN1Q9qgCgzUFtdOKLv6IedplqoPkcmF0aYet2PkEDo3MlTBckFXPITAMzF8dJSIFo9D8HfdOV0IAdx4O7PtixWKn5y2hMNG0zQPyUecp4pzC6kivAIhyfHilFR61RGL+GPXQ2MWZWFYbAGjyiYJnAmCP3NOTd0jMZEnDkbUvxhMmBYSdETk1rRgm+R4LOzFUGaHqHDLKLX+FIPKcF96hrucXzcWyLbIbEgE98OHlnVYCzRdK8jlqm8tehUc9c9WhQ== vagrant insecure public key
ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIN1YdxBpNlzxDqfJyw/QKow1F+wvG9hXGoqiysfJOn5Y vagrant insecure public key'

# The user
if getent passwd "$user" >/dev/null 2>&1; then
  say "user $user exists"
else
  command -v useradd >/dev/null 2>&1 || die "useradd is missing (Debian: passwd, RHEL: shadow-utils)"
  shell=/bin/sh
  [ -x /bin/bash ] && shell=/bin/bash
  useradd --create-home --shell "$shell" --user-group "$user"
  say "created user $user (shell $shell)"
fi
printf '%s:%s\n' "$user" "$password" | chpasswd
say "set the password of $user"

home=$(getent passwd "$user" | cut -d: -f6)
group=$(id -gn "$user")
[ -n "$home" ] || die "user $user has no home directory in /etc/passwd"
if [ ! -d "$home" ]; then
  install -d -m 0755 -o "$user" -g "$group" "$home"
  say "created $home"
fi

# ~/.ssh/authorized_keys
install -d -m 0700 -o "$user" -g "$group" "$home/.ssh"
say "$home/.ssh is 0700 $user:$group"
auth=$home/.ssh/authorized_keys
[ -f "$auth" ] || : > "$auth"
# A file without a final newline would glue the next key onto its last line.
if [ -n "$(tail -c 1 "$auth")" ]; then
  echo >> "$auth"
fi
echo "$keys" | while IFS= read -r key; do
  kind=${key%% *}
  if grep -qxF "$key" "$auth"; then
    say "insecure $kind key already in $auth"
  else
    printf '%s\n' "$key" >> "$auth"
    say "added the insecure $kind key to $auth"
  fi
done
chown "$user:$group" "$auth"
chmod 0600 "$auth"
say "$auth is 0600 $user:$group"

# SELinux (RHEL family): the files need their ssh_home_t label, or sshd will not
# read them. restorecon needs a loaded policy; in a chroot, a relabel at first
# boot (autorelabel) or the installer's own relabel covers it.
if command -v restorecon >/dev/null 2>&1; then
  if restorecon -R "$home/.ssh" 2>/dev/null; then
    say "restored the SELinux labels of $home/.ssh"
  else
    say "restorecon failed (no SELinux policy loaded?); labels left as they are"
  fi
fi
