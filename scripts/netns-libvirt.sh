#!/usr/bin/env bash
# A second libvirtd (with its virtlogd) inside a network namespace of its own, for
# tests that need libvirt networks, bridges, DHCP and private addresses without
# touching the host's network or the host's libvirtd. With --ssh it also stands
# for a shared virtualisation host: an sshd inside, reached from the main
# namespace over a veth pair as `qemu+ssh://root@ADDR/system`. Everything it
# makes lives in the namespace and in a state folder, and `stop` removes both.
#
#   netns-libvirt.sh start NAME [--ssh]    make namespace NAME (loopback up) and start the daemons in it
#   netns-libvirt.sh exec NAME CMD [ARG…]  run CMD inside: its network namespace and its mount namespace,
#                                          where qemu:///system is this libvirtd
#   netns-libvirt.sh client NAME CMD [ARG…]
#                                          (--ssh) run CMD in the main network namespace with the state's
#                                          home folder as /root: the key root logs in with and the sshd's
#                                          host key are there, so root's real ~/.ssh is never used
#   netns-libvirt.sh stop NAME             stop the daemons, end every process left in the namespace
#                                          (guests, dnsmasq), delete the namespace, the veth pair and the
#                                          state folder; also after a start that failed half way
#
# How: `ip netns exec NAME unshare -m --propagation private` gives a mount namespace
# in which private folders are bind-mounted over /run/libvirt, /var/lib/libvirt,
# /etc/libvirt (a copy of the host's *.conf and nwfilter, without its domains,
# networks or pools), /var/log/libvirt and /var/cache/libvirt; the cgroup
# hierarchies, which `ip netns exec` loses when it remounts /sys, are mounted
# again as the host has them. A holder process keeps both namespaces; `exec`
# enters them with nsenter. sshd runs there too, so its sessions (libvirt's
# virt-ssh-helper) reach this libvirtd. Needs root. State: $CARAVAN_NETNS_STATE/NAME
# (default /var/tmp/caravan-netns/NAME): the pools' images are there, and with
# --ssh the file `env` (ADDR=…, URI=…).
#
# Addresses (--ssh): the veth pair gets 198.18.X.1 (main side) and 198.18.X.2
# (inside) from 198.18.0.0/15, the range RFC 2544 sets aside for network tests:
# none of the private ranges (10/8, 172.16/12, 192.168/16), which tests must not
# send traffic to from the main namespace, not routed on the internet, and unlike
# 169.254/16 no cloud metadata address. X comes from NAME (CARAVAN_NETNS_OCTET
# overrides it).
set -euo pipefail
me=netns-libvirt.sh
die() { echo "$me: $*" >&2; exit 1; }
usage() { die "usage: $me start NAME [--ssh] | exec NAME CMD… | client NAME CMD… | stop NAME"; }
[ $# -ge 2 ] || usage
action=$1 name=$2
shift 2
case $name in *[!A-Za-z0-9_-]* | "") die "NAME may hold letters, digits, - and _ only: '$name'" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, mounts, libvirtd)"
state=${CARAVAN_NETNS_STATE:-/var/tmp/caravan-netns}/$name
dirs="run:/run/libvirt lib:/var/lib/libvirt etc:/etc/libvirt log:/var/log/libvirt cache:/var/cache/libvirt"
veth_out="${name:0:12}-o" # the main side (interface names have 15 bytes at most)
veth_in="${name:0:12}-i"
octet=${CARAVAN_NETNS_OCTET:-$(($(printf '%s' "$name" | cksum | cut -d' ' -f1) % 200 + 20))}
outside="198.18.$octet.1"
inside="198.18.$octet.2"

holder() {
  local pid
  pid=$(cat "$state/holder.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

enter() {
  local pid
  pid=$(holder) || die "namespace '$name' is not running (\`$me start $name\` starts it)"
  # Entering the mount namespace would start it in /: keep the caller's folder.
  exec nsenter -t "$pid" -m -n --wd="$PWD" -- "$@"
}

# sshd's keys and settings, the client's home folder and `env`, in the state folder.
ssh_files() {
  mkdir -p "$state/home/.ssh"
  chmod 700 "$state/home/.ssh"
  ssh-keygen -q -t ed25519 -N "" -f "$state/ssh_host_ed25519_key" -C "$name host"
  ssh-keygen -q -t ed25519 -N "" -f "$state/home/.ssh/id_ed25519" -C "$name client"
  cp "$state/home/.ssh/id_ed25519.pub" "$state/authorized_keys"
  echo "$inside $(cut -d' ' -f1,2 "$state/ssh_host_ed25519_key.pub")" >"$state/home/.ssh/known_hosts"
  cat >"$state/sshd_config" <<EOF
ListenAddress $inside
HostKey $state/ssh_host_ed25519_key
PidFile $state/sshd.pid
AuthorizedKeysFile $state/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
Subsystem sftp internal-sftp
EOF
  printf 'ADDR=%s\nURI=qemu+ssh://root@%s/system\n' "$inside" "$inside" >"$state/env"
}

# The veth pair between the main namespace and NAME's, with the addresses above.
veth() {
  ! ip -o addr | grep -q " $outside/" || die "$outside is in use already (CARAVAN_NETNS_OCTET=N picks another)"
  ip link add "$veth_out" type veth peer name "$veth_in"
  ip link set "$veth_in" netns "$name"
  ip addr add "$outside/30" dev "$veth_out"
  ip link set "$veth_out" up
  ip netns exec "$name" ip addr add "$inside/30" dev "$veth_in"
  ip netns exec "$name" ip link set "$veth_in" up
}

start() {
  local ssh=${1:-}
  [ -z "$ssh" ] || [ "$ssh" = --ssh ] || usage
  [ ! -e "/run/netns/$name" ] || die "network namespace '$name' exists already; \`$me stop $name\` removes it"
  # Whatever fails below (set -e, die) tears down what was made so far.
  trap 'echo "$me: starting namespace '"'"'$name'"'"' failed; removing what was made" >&2; stop' EXIT
  rm -rf "$state"
  mkdir -p "$state"
  local pair
  for pair in $dirs; do mkdir -p "$state/${pair%%:*}" "${pair#*:}"; done
  # Where QEMU's console logs go (the package makes it; libvirtd does not), and libvirt's default pool folder.
  mkdir -p "$state/log/qemu" "$state/lib/images"
  cp /etc/libvirt/*.conf "$state/etc/" 2>/dev/null || true
  [ ! -d /etc/libvirt/nwfilter ] || cp -r /etc/libvirt/nwfilter "$state/etc/"
  awk '$2 ~ "^/sys/fs/cgroup" { print $1, $2, $3, $4 }' /proc/self/mounts >"$state/cgroup-mounts"
  ip netns add "$name"
  ip netns exec "$name" ip link set lo up
  if [ -n "$ssh" ]; then
    ssh_files
    veth
    mkdir -p /run/sshd # sshd's privilege separation folder (made at boot where sshd is a service)
  fi
  # The holder and the daemons keep no descriptor but 0-2 of whoever ran this
  # script: a caller that waits for a pipe or socket it gave us to close (as
  # Foundation's Process does to see its child end) would wait for them forever.
  (
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] 2>/dev/null || continue
      eval "exec $fd>&-" 2>/dev/null || true
    done
    # shellcheck disable=SC2016 # expanded by the inner shell
    exec setsid ip netns exec "$name" unshare -m --propagation private sh -c '
      set -e
      state=$1 dirs=$2
      while read -r source target type options; do
        mkdir -p "$target"
        mount -t "$type" -o "$options" "$source" "$target"
      done < "$state/cgroup-mounts"
      for pair in $dirs; do mount --bind "$state/${pair%%:*}" "${pair#*:}"; done
      virtlogd -d -p "$state/virtlogd.pid"
      libvirtd -d -p "$state/libvirtd.pid"
      [ ! -f "$state/sshd_config" ] || /usr/sbin/sshd -f "$state/sshd_config" -E "$state/sshd.log"
      echo $$ > "$state/holder.pid"
      exec sleep infinity
    ' sh "$state" "$dirs"
  ) </dev/null >"$state/holder.log" 2>&1 &
  local _
  for _ in $(seq 1 150); do
    if holder >/dev/null && [ -s "$state/libvirtd.pid" ] && { [ -z "$ssh" ] || [ -s "$state/sshd.pid" ]; } \
      && nsenter -t "$(holder)" -m -n -- virsh -c qemu:///system version >/dev/null 2>&1; then
      trap - EXIT
      return 0
    fi
    sleep 0.2
  done
  echo "$me: libvirtd${ssh:+ or sshd} did not answer in namespace '$name' within 30 s:" >&2
  cat "$state/holder.log" "$state/sshd.log" >&2 2>/dev/null || true
  exit 1
}

client() {
  [ -f "$state/home/.ssh/id_ed25519" ] || die "namespace '$name' has no sshd (\`$me start $name --ssh\` starts one)"
  # shellcheck disable=SC2016 # expanded by the inner shell
  exec unshare -m --propagation private sh -c 'mount --bind "$0/home" /root && exec "$@"' "$state" "$@"
}

stop() {
  local pid daemon _ pids
  if pid=$(holder); then
    # Guests first, so that QEMU ends as libvirt expects.
    for domain in $(nsenter -t "$pid" -m -n -- timeout 20 virsh -c qemu:///system list --name 2>/dev/null); do
      nsenter -t "$pid" -m -n -- timeout 20 virsh -c qemu:///system destroy "$domain" >/dev/null 2>&1 || true
    done
  fi
  for daemon in sshd libvirtd virtlogd; do
    pid=$(cat "$state/$daemon.pid" 2>/dev/null) || continue
    # Only a process of this namespace: a stale PID file must not end anything else.
    [ "$(ip netns identify "$pid" 2>/dev/null)" = "$name" ] || continue
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  if [ -e "/run/netns/$name" ]; then
    # Whatever is left in the namespace (QEMU, dnsmasq, the holder, commands run inside) was started through this script.
    pids=$(ip netns pids "$name" 2>/dev/null || true)
    if [ -n "$pids" ]; then
      # shellcheck disable=SC2086 # one PID a word
      kill $pids 2>/dev/null || true
      for _ in $(seq 1 50); do
        pids=$(ip netns pids "$name" 2>/dev/null || true)
        [ -n "$pids" ] || break
        sleep 0.1
      done
      # shellcheck disable=SC2086
      [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
      sleep 0.2
    fi
    ip netns del "$name"
  fi
  # Gone with the namespace, unless a start failed before moving its other end there.
  ip link delete "$veth_out" 2>/dev/null || true
  rm -rf "$state"
}

case $action in
start) start "$@" ;;
exec) [ $# -ge 1 ] || usage; enter "$@" ;;
client) [ $# -ge 1 ] || usage; client "$@" ;;
stop) stop ;;
*) usage ;;
esac
