#!/usr/bin/env bash
# A stand-in for a shared virtualisation host, for the remote-libvirt test:
# a network namespace with its own libvirtd, virtlogd and sshd, reached from
# the main namespace over a veth pair, as `qemu+ssh://root@ADDR/system`.
#
# usage: netns-sshd.sh start NAME DIR   set it up; DIR (new or empty) keeps its
#                                       state and gets DIR/env (ADDR, URI, HOME_DIR)
#        netns-sshd.sh stop NAME DIR    tear down what `start` made (also half
#                                       made), whatever state it is in
#        netns-sshd.sh exec NAME DIR CMD…  run CMD inside (network and mounts)
#
# Addresses: the veth pair gets 198.18.X.1 (main side) and 198.18.X.2 (inside)
# from 198.18.0.0/15, the range RFC 2544 sets aside for network tests: it is
# none of the private ranges (10/8, 172.16/12, 192.168/16), which tests must not
# send traffic to from the main namespace, it is not routed on the internet,
# and unlike 169.254/16 it collides with no cloud metadata address. X comes
# from NAME (CARAVAN_NETNS_OCTET overrides it).
#
# Inside, a private mount namespace (`unshare -m`) gets its own /run (tmpfs)
# and private /var/lib/libvirt, /etc/libvirt, /var/log/libvirt and
# /var/cache/libvirt (bind mounts of folders in DIR), so the main namespace's
# libvirtd is not disturbed, and sshd's sessions (libvirt's virt-ssh-helper)
# reach this libvirtd's socket. The cgroup hierarchies are remounted (`ip netns
# exec` remounts /sys and loses them).
#
# The client side lives in DIR/home: the key root logs in with (.ssh/id_ed25519)
# and the sshd's host key (.ssh/known_hosts). Clients run with that folder
# bind-mounted over /root in a mount namespace of their own
# (`netns-sshd.sh client DIR CMD…`), so root's real ~/.ssh is never read or written.
#
#        netns-sshd.sh client DIR CMD…  run CMD in the main network namespace
#                                       with DIR/home as /root
set -uo pipefail
cmd=${1:-}; name=${2:-}; dir=${3:-}
[ -n "$cmd" ] && [ -n "$name" ] || { echo "usage: $0 start|stop|exec NAME DIR | client DIR CMD…" >&2; exit 2; }

if [ "$cmd" = client ]; then
  dir=$name; shift 2
  exec unshare -m --propagation private sh -c 'mount --bind "$0/home" /root && exec "$@"' "$dir" "$@"
fi
[ -n "$dir" ] || { echo "usage: $0 $cmd NAME DIR" >&2; exit 2; }
veth_out="${name:0:10}-o"   # main side (interface names are 15 bytes at most)
veth_in="${name:0:10}-i"
octet=${CARAVAN_NETNS_OCTET:-$(( $(printf '%s' "$name" | cksum | cut -d' ' -f1) % 200 + 20 ))}
outside="198.18.$octet.1"
inside="198.18.$octet.2"

inside_pid() { [ -f "$dir/libvirtd.pid" ] && cat "$dir/libvirtd.pid"; }

stop() {
  local pidfile pid
  for pidfile in "$dir/sshd.pid" "$dir/libvirtd.pid" "$dir/virtlogd.pid"; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    # Only a process of this setup: its network namespace is NAME's.
    if [ -n "$pid" ] && [ "$(ip netns identify "$pid" 2>/dev/null)" = "$name" ]; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
  done
  # Guests (QEMU) still running in the namespace die with it: kill them first.
  if ip netns list | grep -qx "$name\( (id: [0-9]*)\)\?"; then
    for pid in $(ip netns pids "$name" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    sleep 0.2
    ip netns delete "$name"
  fi
  ip link delete "$veth_out" 2>/dev/null
  rm -rf "$dir"
  return 0
}

start() {
  # The daemons must not keep any descriptor this script was handed beyond the
  # standard three: a caller waiting for the script's end may be told of it only
  # when the last holder of one closes it (Foundation's Process does so).
  local fd
  for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd)
  if ip netns list | grep -q "^$name\b"; then echo "netns-sshd: namespace $name exists" >&2; return 1; fi
  if ip -o addr | grep -q " $outside/"; then echo "netns-sshd: $outside is in use" >&2; return 1; fi
  mkdir -p "$dir"/{lib,etc,log,cache,home/.ssh} && chmod 700 "$dir/home/.ssh"
  # The daemons' settings, not the main namespace's domains, pools and networks.
  cp -a /etc/libvirt/*.conf "$dir/etc/" && mkdir -p "$dir/etc/qemu" || return 1
  ssh-keygen -q -t ed25519 -N "" -f "$dir/ssh_host_ed25519_key" -C "$name host" || return 1
  ssh-keygen -q -t ed25519 -N "" -f "$dir/home/.ssh/id_ed25519" -C "$name client" || return 1
  cp "$dir/home/.ssh/id_ed25519.pub" "$dir/authorized_keys"
  echo "$inside $(cut -d' ' -f1,2 "$dir/ssh_host_ed25519_key.pub")" >"$dir/home/.ssh/known_hosts"
  cat >"$dir/sshd_config" <<EOF
ListenAddress $inside
HostKey $dir/ssh_host_ed25519_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowTcpForwarding yes
Subsystem sftp internal-sftp
EOF

  ip netns add "$name" || return 1
  ip link add "$veth_out" type veth peer name "$veth_in" || return 1
  ip link set "$veth_in" netns "$name" || return 1
  ip addr add "$outside/30" dev "$veth_out" && ip link set "$veth_out" up || return 1
  ip netns exec "$name" ip addr add "$inside/30" dev "$veth_in" || return 1
  ip netns exec "$name" ip link set "$veth_in" up || return 1
  ip netns exec "$name" ip link set lo up || return 1

  # The daemons keep the private mount namespace alive after this shell ends. They
  # get none of this script's output streams, which a caller may read to the end.
  ip netns exec "$name" unshare -m --propagation private sh -ec '
    dir=$1
    mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup
    for controller in cpu cpuacct cpuset memory devices freezer blkio pids; do
      mkdir -p /sys/fs/cgroup/$controller
      mount -t cgroup -o $controller cgroup /sys/fs/cgroup/$controller 2>/dev/null || rmdir /sys/fs/cgroup/$controller
    done
    mkdir -p /sys/fs/cgroup/systemd && mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd || true
    mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 none /sys/fs/cgroup/unified || true
    mount -t tmpfs -o mode=755 tmpfs /run
    mkdir -p /run/libvirt /run/sshd /run/lock
    mount --bind "$dir/lib" /var/lib/libvirt 2>/dev/null || { mkdir -p "$dir/lib"; mount --bind "$dir/lib" /var/lib/libvirt; }
    mount --bind "$dir/etc" /etc/libvirt
    mount --bind "$dir/log" /var/log/libvirt
    mount --bind "$dir/cache" /var/cache/libvirt
    mkdir -p /var/lib/libvirt/images /var/log/libvirt/qemu
    virtlogd -d -p "$dir/virtlogd.pid"
    libvirtd -d -p "$dir/libvirtd.pid"
    /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
  ' sh "$dir" </dev/null >>"$dir/daemons.log" 2>&1 || return 1
  for _ in $(seq 1 100); do
    [ -f "$dir/libvirtd.pid" ] && [ -f "$dir/sshd.pid" ] \
      && nsenter -t "$(inside_pid)" -m -n virsh -c qemu:///system version >/dev/null 2>&1 && break
    sleep 0.2
  done
  nsenter -t "$(inside_pid)" -m -n virsh -c qemu:///system version >/dev/null 2>&1 || {
    echo "netns-sshd: libvirtd in $name did not answer" >&2; return 1; }
  cat >"$dir/env" <<EOF
ADDR=$inside
URI=qemu+ssh://root@$inside/system
HOME_DIR=$dir/home
EOF
}

case "$cmd" in
  start) start || { echo "netns-sshd: start failed; tearing down" >&2; stop; exit 1; } ;;
  stop) stop ;;
  exec) shift 3; exec nsenter -t "$(inside_pid)" -m -n "$@" ;;
  *) echo "usage: $0 start|stop|exec NAME DIR | client DIR CMD…" >&2; exit 2 ;;
esac
