#!/usr/bin/env bash
# A second libvirtd (with its virtlogd) inside a network namespace of its own, for
# tests that need libvirt networks, bridges, DHCP and private addresses without
# touching the host's network or the host's libvirtd. Everything it makes lives
# in the namespace and in a state folder, and `stop` removes both.
#
#   netns-libvirt.sh start NAME            make namespace NAME (loopback up) and start the daemons in it
#   netns-libvirt.sh exec NAME CMD [ARG…]  run CMD inside: its network namespace and its mount namespace,
#                                          where qemu:///system is this libvirtd
#   netns-libvirt.sh stop NAME             stop the daemons, end every process left in the namespace
#                                          (guests, dnsmasq), delete the namespace and the state folder
#
# How: `ip netns exec NAME unshare -m --propagation private` gives a mount namespace
# in which private folders are bind-mounted over /run/libvirt, /var/lib/libvirt,
# /etc/libvirt (a copy of the host's *.conf and nwfilter, without its domains,
# networks or pools), /var/log/libvirt and /var/cache/libvirt; the cgroup
# hierarchies, which `ip netns exec` loses when it remounts /sys, are mounted
# again as the host has them. A holder process keeps both namespaces; `exec`
# enters them with nsenter. Needs root. State: $CARAVAN_NETNS_STATE/NAME
# (default /var/tmp/caravan-netns/NAME): the pools' images are there.
set -euo pipefail
me=netns-libvirt.sh
die() { echo "$me: $*" >&2; exit 1; }
usage() { die "usage: $me start|exec|stop NAME [COMMAND…]"; }
[ $# -ge 2 ] || usage
action=$1 name=$2
shift 2
case $name in *[!A-Za-z0-9_-]* | "") die "NAME may hold letters, digits, - and _ only: '$name'" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, mounts, libvirtd)"
state=${CARAVAN_NETNS_STATE:-/var/tmp/caravan-netns}/$name
dirs="run:/run/libvirt lib:/var/lib/libvirt etc:/etc/libvirt log:/var/log/libvirt cache:/var/cache/libvirt"

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

start() {
  [ ! -e "/run/netns/$name" ] || die "network namespace '$name' exists already; \`$me stop $name\` removes it"
  rm -rf "$state"
  mkdir -p "$state"
  local pair
  for pair in $dirs; do mkdir -p "$state/${pair%%:*}" "${pair#*:}"; done
  # Where QEMU's console logs go (the package makes it; libvirtd does not).
  mkdir -p "$state/log/qemu"
  cp /etc/libvirt/*.conf "$state/etc/" 2>/dev/null || true
  [ ! -d /etc/libvirt/nwfilter ] || cp -r /etc/libvirt/nwfilter "$state/etc/"
  awk '$2 ~ "^/sys/fs/cgroup" { print $1, $2, $3, $4 }' /proc/self/mounts >"$state/cgroup-mounts"
  ip netns add "$name"
  ip netns exec "$name" ip link set lo up
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
      echo $$ > "$state/holder.pid"
      exec sleep infinity
    ' sh "$state" "$dirs"
  ) </dev/null >"$state/holder.log" 2>&1 &
  local _
  for _ in $(seq 1 150); do
    if holder >/dev/null && [ -s "$state/libvirtd.pid" ] \
      && nsenter -t "$(holder)" -m -n -- virsh -c qemu:///system version >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "$me: libvirtd did not answer in namespace '$name' within 30 s:" >&2
  cat "$state/holder.log" >&2 || true
  stop
  exit 1
}

stop() {
  local pid daemon _ pids
  if pid=$(holder); then
    # Guests first, so that QEMU ends as libvirt expects.
    for domain in $(nsenter -t "$pid" -m -n -- timeout 20 virsh -c qemu:///system list --name 2>/dev/null); do
      nsenter -t "$pid" -m -n -- timeout 20 virsh -c qemu:///system destroy "$domain" >/dev/null 2>&1 || true
    done
  fi
  for daemon in libvirtd virtlogd; do
    pid=$(cat "$state/$daemon.pid" 2>/dev/null) || continue
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
  rm -rf "$state"
}

case $action in
start) start ;;
exec) [ $# -ge 1 ] || usage; enter "$@" ;;
stop) stop ;;
*) usage ;;
esac
