#!/bin/bash
# verify-qemu.sh OUTDIR [WORKDIR] [TESTS...]
#
# Checks the fixtures made by make-fixtures.sh with plain QEMU (TCG, user
# networking, no libvirt). TESTS (default: all, in this order):
#
#   kernel   -kernel/-initrd with a preseed.cfg appended as a gzipped cpio
#            (preseed/file=/preseed.cfg): installs onto a blank 4 GiB qcow2 and
#            powers off; then boots that disk alone and logs in over ssh as
#            vagrant with Vagrant's insecure key (hostname, sudo, root UUID).
#   failure  a kickstart ks.cfg appended as a plain (uncompressed) newc cpio
#            (inst.ks=file:/ks.cfg) naming a rootfs URL that does not exist:
#            must print "installer: FAILED: rootfs" and hang (still running).
#   keys     -kernel/-initrd with "keytest=30 onfail=poweroff" and no answer file:
#            sends tab, f5, ctrl-c, (3 s), shift-a, shift-comma, spc, ret, then 20
#            letters back to back with the monitor's sendkey; checks the 30
#            "installer: key" presses, then "FAILED: answer" and the power-off.
#   iso      boots installer.iso, types "mini keytest=3 url=http://10.0.2.2:PORT/preseed.cfg"
#            at the boot: prompt with the QEMU monitor's sendkey, then types
#            a, b, c and checks the "installer: key" lines; the answer file says
#            "poweroff no", so it installs and must print "not powering off"
#            and keep running; then boots that disk and logs in over ssh.
#
# Serial logs and disks are kept in WORKDIR (default: a new /var/tmp folder).
# Only loopback is used: the guests reach the host's 127.0.0.1 as 10.0.2.2.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [WORKDIR] [kernel|failure|keys|iso]..." >&2; exit 2; }
OUT=$(cd "$1" && pwd)
WORK=${2:-}
shift $(( $# >= 2 ? 2 : 1 ))
TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=(kernel failure keys iso)
[ -n "$WORK" ] || WORK=$(mktemp -d /var/tmp/caravan-installer-verify.XXXXXX)
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
INSTALL_TIMEOUT=${INSTALL_TIMEOUT:-1200}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-600}
QEMU=(qemu-system-x86_64 -accel tcg -m 1024 -no-reboot)

say() { echo "verify: $*" >&2; }
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  exec 9>&- 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# ------------------------------------------------------------ http server
SERVE=$WORK/http
mkdir -p "$SERVE"
for f in vmlinuz initrd.gz rootfs.tar installer.iso; do ln -sf "$OUT/$f" "$SERVE/$f"; done
PORT=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$SERVE" "$PORT" >"$WORK/http.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/vmlinuz" && break; sleep 0.2; done
say "serving $OUT on 127.0.0.1:$PORT (guests: http://10.0.2.2:$PORT/)"

# ------------------------------------------------------------ insecure key
KEYS=()
for k in ed25519 rsa; do
  awk -v k="$k" '
    $0 ~ "static let " k " = \"\"\"" { on = 1; next }
    on && /"""/ { exit }
    on { sub(/^ +/, ""); print }
  ' "$REPO/Sources/SSH/InsecureKeys.swift" >"$WORK/insecure_$k"
  chmod 600 "$WORK/insecure_$k"
  [ -s "$WORK/insecure_$k" ] && KEYS+=(-i "$WORK/insecure_$k")
done
SSH_OPTS=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o ConnectTimeout=10 -o LogLevel=ERROR -o IdentitiesOnly=yes "${KEYS[@]}")

# ---------------------------------------------------------------- helpers
# wait_line FILE REGEX TIMEOUT [PID]: waits for an extended regex in FILE.
wait_line() {
  local file=$1 re=$2 limit=$3 pid=${4:-} t=0
  while [ $t -lt $(( limit * 2 )) ]; do
    grep -a -q -E "$re" "$file" 2>/dev/null && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      grep -a -q -E "$re" "$file" 2>/dev/null && return 0
      say "QEMU exited before '$re' appeared in $file"; return 1
    fi
    sleep 0.5; t=$(( t + 1 ))
  done
  say "timeout (${limit}s) waiting for '$re' in $file"; return 1
}
# wait_exit PID TIMEOUT: waits for a process to end.
wait_exit() {
  local pid=$1 limit=$2 t=0
  while kill -0 "$pid" 2>/dev/null; do
    [ $t -ge $(( limit * 2 )) ] && { say "timeout (${limit}s) waiting for QEMU $pid to exit"; return 1; }
    sleep 0.5; t=$(( t + 1 ))
  done
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
show() { grep -a 'installer:' "$1" | sed 's/\r$//' | sed 's/^/    /' >&2; }

# boot_disk DISK NAME EXPECTED_HOSTNAME EXPECTED_UUID: boots the installed disk and logs in.
boot_disk() {
  local disk=$1 name=$2 host=$3 uuid=$4 sshport log pid t0 ok=0 out
  sshport=$(free_port)
  log=$WORK/$name-boot.serial
  t0=$(date +%s)
  "${QEMU[@]}" -display none -serial "file:$log" -monitor none \
    -drive "file=$disk,if=virtio" \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$sshport-:22" -device virtio-net-pci,netdev=n0 &
  pid=$!; PIDS+=("$pid")
  while [ $(( $(date +%s) - t0 )) -lt "$BOOT_TIMEOUT" ]; do
    kill -0 "$pid" 2>/dev/null || { say "$name: the installed system's QEMU exited"; break; }
    if out=$(ssh "${SSH_OPTS[@]}" -p "$sshport" vagrant@127.0.0.1 \
        'echo "hostname=$(hostname) uuid=$(findmnt -no UUID /) sudo=$(sudo -n true && echo ok) sudo_mode=$(stat -c %a /usr/bin/sudo)"; cat /proc/cmdline' 2>/dev/null); then
      ok=1; break
    fi
    sleep 3
  done
  if [ $ok = 1 ]; then
    say "$name: ssh vagrant@127.0.0.1:$sshport works after $(( $(date +%s) - t0 ))s of boot:"
    echo "$out" | sed 's/^/    /' >&2
    echo "$out" | grep -q "hostname=$host " || { say "$name: wrong hostname"; ok=0; }
    echo "$out" | grep -q "uuid=$uuid " || { say "$name: root is not UUID $uuid"; ok=0; }
    echo "$out" | grep -q "sudo=ok sudo_mode=4755" || { say "$name: sudo broken"; ok=0; }
    ssh "${SSH_OPTS[@]}" -p "$sshport" vagrant@127.0.0.1 'sudo -n poweroff' >/dev/null 2>&1 || true
    wait_exit "$pid" 60 || stop "$pid"
  else
    say "$name: no ssh within ${BOOT_TIMEOUT}s; serial log $log"
    tail -n 30 "$log" >&2 || true
    stop "$pid"
  fi
  [ $ok = 1 ]
}

RESULTS=()
result() { RESULTS+=("$1"); say "RESULT $1"; }

# ------------------------------------------------------------ kernel test
test_kernel() {
  local d=$WORK/kernel log uuid t0 secs pid
  mkdir -p "$d"
  cat >"$d/preseed.cfg" <<EOF
# d-i style answer file of Caravan's installer test
d-i caravan/rootfs string http://10.0.2.2:$PORT/rootfs.tar
d-i netcfg/get_hostname string kernel-test
d-i caravan/poweroff boolean true
d-i debian-installer/locale string en_US.UTF-8
EOF
  cp "$OUT/initrd.gz" "$d/initrd-with-answer.gz"
  (cd "$d" && echo preseed.cfg | cpio -o -H newc --quiet | gzip >>initrd-with-answer.gz)
  rm -f "$d/disk.qcow2"; qemu-img create -q -f qcow2 "$d/disk.qcow2" 4G
  log=$d/install.serial; : >"$log"
  t0=$(date +%s)
  "${QEMU[@]}" -nographic -kernel "$OUT/vmlinuz" -initrd "$d/initrd-with-answer.gz" \
    -append 'console=ttyS0 preseed/file=/preseed.cfg' \
    -drive "file=$d/disk.qcow2,if=virtio" -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    </dev/null >"$log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  if ! wait_exit "$pid" "$INSTALL_TIMEOUT"; then stop "$pid"; show "$log"; result "kernel: FAIL (install timeout)"; return; fi
  secs=$(( $(date +%s) - t0 ))
  show "$log"
  if ! grep -a -q 'installer: done, powering off' "$log"; then result "kernel: FAIL (no 'done, powering off')"; return; fi
  uuid=$(grep -a -o 'file system ext4 on /dev/vda1, UUID [0-9a-f-]*' "$log" | awk '{ print $NF }')
  say "kernel: installed and powered off in ${secs}s (QEMU start to exit)"
  t0=$(date +%s)
  if boot_disk "$d/disk.qcow2" kernel kernel-test "$uuid"; then
    result "kernel: ok (install ${secs}s, boot to ssh $(( $(date +%s) - t0 ))s incl. shutdown)"
  else
    result "kernel: FAIL (installed system)"
  fi
}

# ----------------------------------------------------------- failure test
test_failure() {
  local d=$WORK/failure log pid t0
  mkdir -p "$d"
  cat >"$d/ks.cfg" <<EOF
# kickstart style answer file: a rootfs that is not there
url --url=http://10.0.2.2:$PORT/no-such-rootfs.tar
network --bootproto=dhcp --hostname=failure-test
poweroff
EOF
  cp "$OUT/initrd.gz" "$d/initrd-with-answer.gz"
  (cd "$d" && echo ks.cfg | cpio -o -H newc --quiet >>initrd-with-answer.gz)   # plain, not gzipped
  rm -f "$d/disk.qcow2"; qemu-img create -q -f qcow2 "$d/disk.qcow2" 4G
  log=$d/install.serial; : >"$log"
  t0=$(date +%s)
  "${QEMU[@]}" -nographic -kernel "$OUT/vmlinuz" -initrd "$d/initrd-with-answer.gz" \
    -append 'console=ttyS0 inst.ks=file:/ks.cfg' \
    -drive "file=$d/disk.qcow2,if=virtio" -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    </dev/null >"$log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  if wait_line "$log" 'installer: FAILED: ' 600 "$pid"; then
    sleep 5
    show "$log"
    if grep -a -q 'installer: FAILED: rootfs' "$log" && kill -0 "$pid" 2>/dev/null \
       && grep -a -q 'installer: answer file /ks.cfg read' "$log"; then
      result "failure: ok (FAILED: rootfs after $(( $(date +%s) - t0 - 5 ))s, still running)"
    else
      result "failure: FAIL (wrong step, or QEMU exited)"
    fi
  else
    show "$log"; result "failure: FAIL (no FAILED line)"
  fi
  stop "$pid"
}

# -------------------------------------------------------------- keys test
test_keys() {
  local d=$WORK/keys log pid t0 got want k
  mkdir -p "$d"
  log=$d/install.serial; : >"$log"
  rm -f "$d/monitor.fifo"; mkfifo "$d/monitor.fifo"
  t0=$(date +%s)
  "${QEMU[@]}" -display none -serial "file:$log" -monitor stdio \
    -kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.gz" -append 'console=ttyS0 keytest=30 onfail=poweroff' \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    <"$d/monitor.fifo" >"$d/monitor.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  exec 9>"$d/monitor.fifo"
  if ! wait_line "$log" 'installer: keytest: waiting for 30 key presses' 300 "$pid"; then
    show "$log"; stop "$pid"; exec 9>&-; result "keys: FAIL (keytest did not start)"; return
  fi
  say "keys: installer waits for keys $(( $(date +%s) - t0 ))s after start"
  for k in tab f5 ctrl-c; do monitor "sendkey $k"; sleep 0.3; done
  sleep 3
  for k in shift-a shift-comma spc ret; do monitor "sendkey $k"; sleep 0.3; done
  for k in a b c d e f g h i j k l m n o p q r s t; do monitor "sendkey $k"; done   # no pauses
  wait_exit "$pid" 120 || stop "$pid"
  exec 9>&-
  show "$log"
  got=$(tr -d '\r' <"$log" | awk '$1 == "installer:" && $2 == "key" && $4 == "1" { printf "%s ", $3 }')
  want="15 63 29 46 42 30 42 51 57 28 30 48 46 32 18 33 34 35 23 36 37 38 50 49 24 25 16 19 31 20 "
  local bad=
  [ "$got" = "$want" ] || bad="$bad presses($got)"
  grep -a -q 'installer: FAILED: answer' "$log" || bad="$bad no-FAILED-answer"
  grep -a -q 'installer: powering off after the failure' "$log" || bad="$bad no-poweroff"
  grep -a -q 'dropped events' "$log" && bad="$bad dropped"
  # <wait3> between ctrl-c and shift-a: the timestamps of c (46) and shift (42)
  local gap
  gap=$(tr -d '\r' <"$log" | awk '$2 == "key" && $4 == "1" { n++; t[n] = $5 } END { printf "%.2f", t[5] - t[4] }')
  awk -v g="$gap" 'BEGIN { exit !(g >= 2.9) }' || bad="$bad gap($gap)"
  if [ -n "$bad" ]; then result "keys: FAIL ($bad)"; else result "keys: ok (30 presses in order, ctrl-c to shift-a ${gap}s, powered off after FAILED: answer)"; fi
}

# --------------------------------------------------------------- iso test
monitor() { echo "$*" >&9; }
type_text() { # types TEXT with sendkey, one key at a time
  local s=$1 c k i
  for (( i = 0; i < ${#s}; i++ )); do
    c=${s:i:1}
    case $c in
      [a-z0-9]) k=$c ;;
      [A-Z]) k="shift-${c,,}" ;;
      ' ') k=spc ;; '=') k=equal ;; '/') k=slash ;; '.') k='dot' ;; '-') k=minus ;;
      ':') k=shift-semicolon ;; '_') k=shift-minus ;; ',') k=comma ;;
      *) say "cannot type '$c'"; return 1 ;;
    esac
    monitor "sendkey $k"
    sleep 0.15
  done
}

test_iso() {
  local d=$WORK/iso log pid t0 t1 secs uuid line
  mkdir -p "$d"
  cat >"$d/answer.cfg" <<EOF
# Caravan answer file (plain keys), fetched with url=
rootfs http://10.0.2.2:$PORT/rootfs.tar
hostname iso-test
poweroff no
EOF
  ln -sf "$d/answer.cfg" "$SERVE/iso-answer.cfg"
  rm -f "$d/disk.qcow2"; qemu-img create -q -f qcow2 "$d/disk.qcow2" 4G
  log=$d/install.serial; : >"$log"
  rm -f "$d/monitor.fifo"; mkfifo "$d/monitor.fifo"
  t0=$(date +%s)
  "${QEMU[@]}" -display none -serial "file:$log" -monitor stdio \
    -cdrom "$OUT/installer.iso" -boot d \
    -drive "file=$d/disk.qcow2,if=virtio" -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    <"$d/monitor.fifo" >"$d/monitor.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  exec 9>"$d/monitor.fifo"
  if ! wait_line "$log" 'boot:' 300 "$pid"; then stop "$pid"; result "iso: FAIL (no boot: prompt)"; return; fi
  say "iso: boot: prompt after $(( $(date +%s) - t0 ))s; typing the boot line"
  sleep 1
  line="mini keytest=3 url=http://10.0.2.2:$PORT/iso-answer.cfg"
  type_text "$line"
  monitor "sendkey ret"
  if ! wait_line "$log" 'installer: keytest: waiting for 3 key presses' 300 "$pid"; then
    show "$log"; stop "$pid"; result "iso: FAIL (keytest did not start)"; return
  fi
  say "iso: installer waits for keys $(( $(date +%s) - t0 ))s after start; typing a b c"
  type_text abc
  if ! wait_line "$log" 'installer: keytest: recorded 3 key presses' 60 "$pid"; then
    show "$log"; stop "$pid"; result "iso: FAIL (keys not recorded)"; return
  fi
  t1=$(date +%s)
  if ! wait_line "$log" 'installer: (not powering off|FAILED)' "$INSTALL_TIMEOUT" "$pid"; then
    show "$log"; stop "$pid"; result "iso: FAIL (install timeout)"; return
  fi
  secs=$(( $(date +%s) - t1 ))
  sleep 5
  show "$log"
  local bad=
  # isolinux passes BOOT_IMAGE=/vmlinuz, the label's APPEND, initrd=/initrd.gz, then the typed words
  tr -d '\r' <"$log" | grep -a -q "^installer: cmdline: .*console=ttyS0,115200n8 console=tty0 .*keytest=3 url=http://10.0.2.2:$PORT/iso-answer.cfg\$" \
    || bad="$bad cmdline"
  [ "$(grep -a -c -E 'installer: key (30|48|46) 1 [0-9]+\.[0-9]{6}' "$log")" -eq 3 ] || bad="$bad keys"
  grep -a -q 'installer: not powering off (answer file says so)' "$log" || bad="$bad poweroff-no"
  kill -0 "$pid" 2>/dev/null || bad="$bad exited"
  stop "$pid"
  exec 9>&-
  if [ -n "$bad" ]; then result "iso: FAIL ($bad)"; return; fi
  say "iso: installed in ${secs}s after the keys (to 'not powering off'); $(( $(date +%s) - t0 ))s in all"
  uuid=$(grep -a -o 'file system ext4 on /dev/vda1, UUID [0-9a-f-]*' "$log" | awk '{ print $NF }')
  t0=$(date +%s)
  if boot_disk "$d/disk.qcow2" iso iso-test "$uuid"; then
    result "iso: ok (keys recorded, install ${secs}s, boot to ssh $(( $(date +%s) - t0 ))s incl. shutdown)"
  else
    result "iso: FAIL (installed system)"
  fi
}

for t in "${TESTS[@]}"; do
  case $t in
    kernel) test_kernel ;;
    failure) test_failure ;;
    keys) test_keys ;;
    iso) test_iso ;;
    *) say "unknown test $t"; exit 2 ;;
  esac
done
say "logs in $WORK"
fail=0
for r in "${RESULTS[@]}"; do echo "$r"; case $r in *FAIL*) fail=1 ;; esac; done
exit $fail
