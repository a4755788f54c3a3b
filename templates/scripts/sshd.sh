#!/bin/sh
# sshd.sh: the box's SSH server. Installs openssh-server when it is missing,
# writes /etc/ssh/sshd_config.d/10-caravan.conf (UseDNS no, GSSAPIAuthentication
# no; "10-" sorts before RHEL's 50-redhat.conf, and sshd keeps the first value it
# reads), checks the configuration with `sshd -t`, enables the service, removes
# the host keys and makes sure every machine made from the box generates its own
# at first boot: on RHEL sshd-keygen@.service does that already; elsewhere (Debian)
# a oneshot ssh-host-keys.service making the ed25519 and ECDSA keys before
# ssh.service. An RSA host key costs 10-15 s of CPU at every machine's first boot
# without KVM (a tenth of a second with it), and every OpenSSH client since 6.5
# (2014) takes an ed25519 one: the drop-in names the two keys as sshd's HostKeys, and
# SSHD_RSA_HOST_KEY=1 adds the RSA key (ssh-host-keys-rsa.service, `ssh-keygen -A`
# once sshd runs, so SSH answers without waiting for it).
#
# Env: SSHD_KEEP_HOST_KEYS (default 0; 1 keeps the host keys). Removing them in a
# booted guest is meant for the end of a build: sshd reads its host keys for
# every new connection, so until the next boot new SSH connections fail, while
# connections already open (a ControlMaster) go on working.
# SSHD_RSA_HOST_KEY (default 0; 1: the machine has an RSA host key too).
# Runs as root, in a booted guest (over sudo) or in a chroot of the target root
# file system; Debian and RHEL families alike. Never starts or restarts a service.
# Idempotent.
set -eu

me=sshd.sh
keep_keys=${SSHD_KEEP_HOST_KEYS:-0}
rsa_key=${SSHD_RSA_HOST_KEY:-0}
conf_dir=/etc/ssh/sshd_config.d
conf=$conf_dir/10-caravan.conf
unit=/etc/systemd/system/ssh-host-keys.service
rsa_unit=/etc/systemd/system/ssh-host-keys-rsa.service

say() { printf '%s: %s\n' "$me" "$*"; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (use sudo)"

# openssh-server
sshd=""
for candidate in /usr/sbin/sshd /sbin/sshd; do
  if [ -x "$candidate" ]; then sshd=$candidate; break; fi
done
if [ -n "$sshd" ]; then
  say "openssh-server is installed ($sshd)"
elif command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server >/dev/null
  sshd=/usr/sbin/sshd
  say "installed openssh-server (apt-get)"
elif command -v dnf >/dev/null 2>&1; then
  dnf install -y -q openssh-server >/dev/null
  sshd=/usr/sbin/sshd
  say "installed openssh-server (dnf)"
else
  die "openssh-server is missing and there is neither apt-get nor dnf to install it"
fi

# sshd_config must read sshd_config.d, before anything else it sets.
[ -f /etc/ssh/sshd_config ] || die "/etc/ssh/sshd_config is missing"
if grep -Eqi '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/' /etc/ssh/sshd_config; then
  say "/etc/ssh/sshd_config includes $conf_dir"
else
  tmp=$(mktemp)
  { echo "Include $conf_dir/*.conf"; cat /etc/ssh/sshd_config; } > "$tmp"
  cat "$tmp" > /etc/ssh/sshd_config   # keeps the file's mode, owner and label
  rm -f "$tmp"
  say "added 'Include $conf_dir/*.conf' at the top of /etc/ssh/sshd_config"
fi

# The drop-in
[ -d "$conf_dir" ] || install -d -m 0755 "$conf_dir"
want='UseDNS no
GSSAPIAuthentication no
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key'
keys_said="ed25519 and ECDSA host keys"
if [ "$rsa_key" = 1 ]; then
  want="$want
HostKey /etc/ssh/ssh_host_rsa_key"
  keys_said="ed25519, ECDSA and RSA host keys"
fi
if [ -f "$conf" ] && [ "$(cat "$conf")" = "$want" ]; then
  say "$conf is already current (UseDNS no, GSSAPIAuthentication no, $keys_said)"
else
  printf '%s\n' "$want" > "$conf"
  say "wrote $conf (UseDNS no, GSSAPIAuthentication no, $keys_said)"
fi
# The mode of sshd_config itself: 0644 on Debian, 0600 on RHEL.
chmod "$(stat -c %a /etc/ssh/sshd_config)" "$conf"

# Check the whole configuration with a throwaway host key (the real ones may be
# gone already), and the privilege separation directory sshd -t insists on.
check=$(mktemp -d)
made_run=""
if [ ! -d /run/sshd ]; then mkdir -p /run/sshd && made_run=1; fi
ssh-keygen -q -t ed25519 -N '' -C check -f "$check/key" >/dev/null
if out=$("$sshd" -t -f /etc/ssh/sshd_config -h "$check/key" 2>&1); then ok=1; else ok=""; fi
rm -rf "$check"
[ -z "$made_run" ] || rmdir /run/sshd 2>/dev/null || true
[ -n "$ok" ] || die "sshd -t rejects the configuration: $out"
say "sshd -t accepts the configuration"

# The service, enabled (systemctl enable works in a chroot; nothing is started)
if command -v systemctl >/dev/null 2>&1; then
  for service in ssh.service sshd.service; do
    if systemctl cat "$service" >/dev/null 2>&1 || [ -f "/lib/systemd/system/$service" ] || [ -f "/usr/lib/systemd/system/$service" ]; then
      systemctl enable "$service" >/dev/null 2>&1 || die "systemctl enable $service failed"
      say "enabled $service"
      break
    fi
  done
fi

# Host keys: generated at first boot
keygen_unit=""
for dir in /usr/lib/systemd/system /lib/systemd/system; do
  if [ -f "$dir/sshd-keygen@.service" ] || [ -f "$dir/sshd-keygen.service" ]; then keygen_unit=1; fi
done
if [ -n "$keygen_unit" ]; then
  say "sshd-keygen generates missing host keys at boot (RHEL family); no unit needed"
elif command -v systemctl >/dev/null 2>&1; then
  # ed25519 and ECDSA before sshd starts; RSA, when asked for (seconds of CPU, tens of
  # them without KVM), after it, so the machine answers SSH that much sooner. sshd loads
  # its host keys for every new connection, so the RSA key serves from the next one on.
  want_unit='[Unit]
Description=Generate this machine'"'"'s SSH host keys (ed25519, ECDSA)
Before=ssh.service sshd.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/bin/sh -c '"'"'for t in ed25519 ecdsa; do [ -e /etc/ssh/ssh_host_$${t}_key ] || /usr/bin/ssh-keygen -q -t $$t -N "" -f /etc/ssh/ssh_host_$${t}_key; done'"'"'

[Install]
WantedBy=multi-user.target'
  want_rsa_unit='[Unit]
Description=Generate this machine'"'"'s remaining SSH host keys (RSA), once sshd runs
After=ssh.service sshd.service ssh-host-keys.service
ConditionPathExists=!/etc/ssh/ssh_host_rsa_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target'
  units="$unit:want_unit"
  if [ "$rsa_key" = 1 ]; then
    units="$units $rsa_unit:want_rsa_unit"
  elif [ -f "$rsa_unit" ]; then
    systemctl disable "${rsa_unit##*/}" >/dev/null 2>&1 || true
    rm -f "$rsa_unit"
    say "removed $rsa_unit (no RSA host key; SSHD_RSA_HOST_KEY=1 keeps it)"
  fi
  for pair in $units; do
    path=${pair%%:*}
    eval "text=\$${pair#*:}"
    if [ -f "$path" ] && [ "$(cat "$path")" = "$text" ]; then
      say "$path is already current"
    else
      printf '%s\n' "$text" > "$path"
      chmod 0644 "$path"
      say "wrote $path"
    fi
    systemctl enable "${path##*/}" >/dev/null 2>&1 || die "systemctl enable ${path##*/} failed"
    say "enabled ${path##*/}"
  done
else
  say "warning: no systemd; generate the host keys at boot yourself (ssh-keygen -A)"
fi

if [ "$keep_keys" = 1 ]; then
  say "SSHD_KEEP_HOST_KEYS=1: host keys kept"
else
  found=""
  for key in /etc/ssh/ssh_host_*; do
    [ -e "$key" ] || continue
    rm -f "$key"
    found=1
  done
  if [ -n "$found" ]; then
    say "removed the host keys /etc/ssh/ssh_host_* (new ones at first boot)"
  else
    say "no host keys to remove"
  fi
fi
