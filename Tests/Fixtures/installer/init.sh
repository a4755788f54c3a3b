#!/bin/sh
# /init of Caravan's controlled test installer: a busybox initramfs that
# installs a root file system tarball onto /dev/vda, driven by an answer file.
# Runs as PID 1; it must never exit. Every step is logged to the serial
# console /dev/ttyS0 (and /dev/tty0) as "installer: ..." lines; README.md
# beside this file lists the exact formats, which tests parse.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# busybox sh runs its own applets before anything on PATH: the host's mke2fs
# and extlinux (in /usr/local/sbin) are always called by their full paths.
export HOME=/root
umask 022
set -f                      # no globbing: we split cmdline and answer lines on spaces

INSTALLER_VERSION=1
CR=$(printf '\r')
TAB=$(printf '\t')
TARGET=/mnt
DISK=/dev/vda
PART=/dev/vda1

# ---------------------------------------------------------------- logging

log() {
  printf 'installer: %s\n' "$*" >/dev/ttyS0 2>/dev/null
  printf 'installer: %s\n' "$*" >/dev/tty0 2>/dev/null
  printf 'installer: %s\n' "$*" >>/run/installer.log 2>/dev/null
}

# Centiseconds since boot, and a centisecond count as seconds ("12.34").
now_cs() {
  read -r _u _ </proc/uptime
  _s=${_u%.*}; _f=${_u#*.}; _f=${_f#0}
  echo $(( _s * 100 + ${_f:-0} ))
}
fmt_cs() { printf '%d.%02d' $(( $1 / 100 )) $(( $1 % 100 )); }

STEP=boot
STEP_T0=0
step() {
  STEP=$1
  STEP_T0=$(now_cs)
  log "step $STEP"
}
step_ok() {
  log "step $STEP ok ($(fmt_cs $(( $(now_cs) - STEP_T0 )))s)"
}

# run CMD...: runs it, logs its output as "installer: | ..." lines, returns its status.
run() {
  "$@" >/run/cmd.out 2>&1
  _rc=$?
  while IFS= read -r _l || [ -n "$_l" ]; do log "| ${_l%$CR}"; done </run/cmd.out
  return $_rc
}

hang() {
  while :; do sleep 3600; done
}

# fail [REASON]: the current step failed. Logs "installer: FAILED: <step>",
# then hangs (default) or powers off (onfail poweroff). Never returns.
fail() {
  [ -n "$1" ] && log "error: $*"
  dmesg 2>/dev/null | tail -n 15 | while IFS= read -r _l; do log "dmesg: $_l"; done
  log "FAILED: $STEP"
  if [ "$ONFAIL" = poweroff ]; then
    log "powering off after the failure (onfail poweroff)"
    sync
    poweroff -f
  fi
  log "hanging (onfail hang); the build's timeout ends this machine"
  hang
}

# wait_for TEST-ARGS... : waits up to $WAIT seconds for `test ARGS` to hold.
wait_for() {
  _n=$(( ${WAIT:-20} * 10 ))
  while [ $_n -gt 0 ]; do
    test "$@" && return 0
    usleep 100000
    _n=$(( _n - 1 ))
  done
  test "$@"
}

# --------------------------------------------------------------- the steps

setup_basics() {
  mkdir -p /proc /sys /dev /run /tmp "$TARGET"
  mount -t proc proc /proc 2>/dev/null
  mount -t sysfs sysfs /sys 2>/dev/null
  mount -t devtmpfs devtmpfs /dev 2>/dev/null
  mkdir -p /dev/pts
  mount -t tmpfs tmpfs /run 2>/dev/null
  mount -t tmpfs tmpfs /tmp 2>/dev/null
  # Only errors and worse from the kernel on the consoles, so that kernel
  # messages do not cut through our lines; the rest is in dmesg.
  dmesg -n 4 2>/dev/null
  ln -sf /proc/self/fd /dev/fd 2>/dev/null
  ip link set lo up 2>/dev/null
}

load_modules() {
  step modules
  KVER=$(uname -r)
  MODDIR=/lib/modules/$KVER
  [ -d "$MODDIR" ] || fail "no modules for kernel $KVER in the initrd (have: $(ls /lib/modules))"
  while read -r _path _need; do
    [ -n "$_path" ] || continue
    _name=${_path##*/}; _name=${_name%.ko}
    _sys=$(echo "$_name" | tr - _)
    if [ -d "/sys/module/$_sys" ]; then
      log "module $_name already loaded"
      continue
    fi
    if insmod "$MODDIR/$_path" >/run/insmod.out 2>&1; then
      log "module $_name loaded"
    elif [ "$_need" = optional ]; then
      log "module $_name not loaded (optional): $(cat /run/insmod.out)"
    else
      fail "insmod $_name: $(cat /run/insmod.out)"
    fi
  done </etc/installer/modules
  for _b in $(cat /etc/installer/builtin 2>/dev/null); do
    log "module $_b is built into the kernel"
  done
  step_ok
}

parse_cmdline() {
  CMDLINE=$(cat /proc/cmdline)
  log "cmdline: $CMDLINE"
  ANSWER_FILE=; ANSWER_URL=; KEYTEST=
  for _w in $CMDLINE; do
    case $_w in
      preseed/file=*|file=*)           ANSWER_FILE=${_w#*=} ;;
      inst.ks=file:*|ks=file:*)        ANSWER_FILE=${_w#*=file:} ;;
      inst.ks=http://*|ks=http://*)    ANSWER_URL=${_w#*=} ;;
      url=*|preseed/url=*)             ANSWER_URL=${_w#*=} ;;
      keytest=*)                       KEYTEST=${_w#keytest=} ;;
      onfail=*)                        ONFAIL=${_w#onfail=} ;;
    esac
  done
  case $ONFAIL in poweroff|hang) ;; *) ONFAIL=hang ;; esac
}

# ----------------------------------------------------------- key recording

find_keyboard() {
  awk '
    /^I:/ { name=""; handlers=""; ev="" }
    /^N: Name=/ { name=$0; sub(/^N: Name="/, "", name); sub(/"$/, "", name) }
    /^H: Handlers=/ { handlers=$0 }
    /^$/ {
      evdev=""
      n=split(handlers, h, /[ =]/)
      for (i=1; i<=n; i++) if (h[i] ~ /^event[0-9]+$/) evdev=h[i]
      if (evdev != "" && handlers ~ /kbd/) {
        if (name ~ /AT Translated Set 2 keyboard|AT Raw Set|keyboard|Keyboard/) { if (best == "") best=evdev " " name }
        else if (handlers ~ /leds/ && other == "") other=evdev " " name
      }
    }
    END { if (best != "") print best; else if (other != "") print other }
  ' /proc/bus/input/devices
}

keytest() {
  _want=$1
  step keytest
  case $_want in ''|*[!0-9]*) fail "keytest=$_want is not a number" ;; esac
  WAIT=20 wait_for -e /proc/bus/input/devices
  _kb=
  _n=100
  while [ $_n -gt 0 ]; do
    _kb=$(find_keyboard)
    [ -n "$_kb" ] && [ -c "/dev/input/${_kb%% *}" ] && break
    usleep 200000
    _n=$(( _n - 1 ))
  done
  [ -n "$_kb" ] || fail "no keyboard in /proc/bus/input/devices (is evdev loaded?)"
  _dev=/dev/input/${_kb%% *}
  exec 3<"$_dev" || fail "cannot open $_dev"
  log "keytest: waiting for $_want key presses on $_dev (${_kb#* })"
  _presses=0
  while [ "$_presses" -lt "$_want" ]; do
    # One read() returns every event waiting (up to 64), each a struct input_event
    # (x86_64, 24 bytes): tv_sec s64, tv_usec s64, type u16, code u16, value s32.
    # shellcheck disable=SC2046  # split into the 24 byte values on purpose
    set -- $(dd bs=1536 count=1 <&3 2>/dev/null | od -An -v -tu1)
    [ $# -ge 24 ] || fail "short read from $_dev ($# bytes)"
    while [ $# -ge 24 ] && [ "$_presses" -lt "$_want" ]; do
      _type=$(( ${17} + (${18} << 8) ))
      if [ "$_type" -eq 1 ]; then                              # EV_KEY
        _sec=$(( $1 + ($2 << 8) + ($3 << 16) + ($4 << 24) + ($5 << 32) + ($6 << 40) + ($7 << 48) ))
        _usec=$(( $9 + (${10} << 8) + (${11} << 16) + (${12} << 24) ))
        _code=$(( ${19} + (${20} << 8) ))
        _value=$(( ${21} + (${22} << 8) + (${23} << 16) + (${24} << 24) ))
        [ "$_value" -ge 2147483648 ] && _value=$(( _value - 4294967296 ))
        log "key $_code $_value $_sec.$(printf %06d "$_usec")"
        [ "$_value" -eq 1 ] && _presses=$(( _presses + 1 ))
      elif [ "$_type" -eq 0 ] && [ "${19}" -eq 3 ]; then     # EV_SYN SYN_DROPPED
        log "keytest: the kernel dropped events (reading too slowly)"
      fi
      shift 24
    done
  done
  exec 3<&-
  log "keytest: recorded $_want key presses"
  step_ok
}

# ------------------------------------------------------------- answer file

show_answer() { # FILE LABEL
  _bytes=$(( $(wc -c <"$1") ))
  log "answer file $2 read ($_bytes bytes)"
  while IFS= read -r _l || [ -n "$_l" ]; do
    log "answer: ${_l%$CR}"
  done <"$1"
}

yesno() { # normalizes a boolean answer to yes/no; empty on nonsense
  case $1 in
    yes|true|1|on|Yes|YES|True|TRUE|y) echo yes ;;
    no|false|0|off|No|NO|False|FALSE|n) echo no ;;
  esac
}

parse_answer() { # FILE
  ROOTFS=; NEW_HOSTNAME=; POWEROFF=yes; NEW_USER=; NEW_PASSWORD=
  _ln=0
  while IFS= read -r _l || [ -n "$_l" ]; do
    _ln=$(( _ln + 1 ))
    _l=${_l%$CR}
    set -- $_l
    [ $# -eq 0 ] && continue
    case $1 in '#'*) continue ;; esac
    _key=; _val=
    case $1 in
      rootfs|hostname|poweroff|onfail)
        _key=$1; shift; _val="$*"
        [ "$_key" = poweroff ] && [ -z "$_val" ] && _val=yes    # kickstart's bare "poweroff"
        ;;
      url)                                                     # kickstart: url --url=URL
        shift
        while [ $# -gt 0 ]; do
          case $1 in
            --url=*) _key=rootfs; _val=${1#--url=} ;;
            --url) _key=rootfs; _val=$2; shift ;;
          esac
          shift
        done
        ;;
      network)                                                 # kickstart: network --hostname=NAME
        shift
        while [ $# -gt 0 ]; do
          case $1 in
            --hostname=*) _key=hostname; _val=${1#--hostname=} ;;
            --hostname) _key=hostname; _val=$2; shift ;;
          esac
          shift
        done
        ;;
      *)
        if [ $# -ge 3 ]; then                                  # preseed: OWNER QUESTION TYPE VALUE...
          _q=$2; shift 3; _val="$*"
          case $_q in
            caravan/rootfs|caravan/hostname|caravan/poweroff|caravan/onfail) _key=${_q#caravan/} ;;
            netcfg/get_hostname|netcfg/hostname) _key=hostname ;;
            passwd/username) _key=user ;;
            passwd/user-password) _key=password ;;
          esac
        fi
        ;;
    esac
    if [ -z "$_key" ]; then
      log "answer line $_ln ignored"
      continue
    fi
    case $_key in
      rootfs) ROOTFS=$_val ;;
      hostname) NEW_HOSTNAME=$_val ;;
      user) NEW_USER=$_val ;;
      password) NEW_PASSWORD=$_val ;;
      poweroff)
        POWEROFF=$(yesno "$_val")
        [ -n "$POWEROFF" ] || fail "answer line $_ln: poweroff must be yes or no, not '$_val'"
        ;;
      onfail)
        case $_val in poweroff|hang) ONFAIL=$_val ;; *) fail "answer line $_ln: onfail must be hang or poweroff, not '$_val'" ;; esac
        ;;
    esac
  done <"$1"
  [ -n "$ROOTFS" ] || fail "the answer file names no rootfs URL"
  case $NEW_HOSTNAME in *[!A-Za-z0-9.-]*) fail "bad hostname '$NEW_HOSTNAME'" ;; esac
  log "setting rootfs $ROOTFS"
  if [ -n "$NEW_HOSTNAME" ]; then log "setting hostname $NEW_HOSTNAME"; else log "setting hostname (keep the rootfs's)"; fi
  [ -z "$NEW_PASSWORD" ] || log "setting password for ${NEW_USER:-vagrant} (${#NEW_PASSWORD} characters)"
  log "setting poweroff $POWEROFF"
  log "setting onfail $ONFAIL"
}

read_local_answer() {
  if [ -z "$ANSWER_FILE" ] && [ -n "$ANSWER_URL" ]; then
    log "answer file comes from $ANSWER_URL once the network is up"
    return 0
  fi
  step answer
  if [ -z "$ANSWER_FILE" ]; then
    # Like d-i (/preseed.cfg) and anaconda (/ks.cfg): an answer file in the initrd's root.
    for _f in /preseed.cfg /ks.cfg /answer.cfg; do
      if [ -f "$_f" ]; then ANSWER_FILE=$_f; log "no answer file on the cmdline; using $_f"; break; fi
    done
    [ -n "$ANSWER_FILE" ] || fail "no answer file: give preseed/file=/X, inst.ks=file:/X or url=http://..."
  fi
  [ -f "$ANSWER_FILE" ] || fail "answer file $ANSWER_FILE is not in the initrd"
  show_answer "$ANSWER_FILE" "$ANSWER_FILE"
  parse_answer "$ANSWER_FILE"
  step_ok
}

fetch_answer() {
  [ -n "$ANSWER_URL" ] || return 0
  [ -n "$ANSWER_FILE" ] && return 0
  step answer
  _try=1
  while :; do
    rm -f /run/answer.cfg
    run timeout 60 wget -q -O /run/answer.cfg "$ANSWER_URL" && break
    [ $_try -ge 3 ] && fail "cannot download $ANSWER_URL"
    _try=$(( _try + 1 ))
    sleep 2
  done
  show_answer /run/answer.cfg "$ANSWER_URL"
  parse_answer /run/answer.cfg
  step_ok
}

# ------------------------------------------------------------------ network

network() {
  step network
  WAIT=30 wait_for -e /sys/class/net/eth0 || fail "no eth0 (have: $(ls /sys/class/net | tr '\n' ' '))"
  ip link set eth0 up
  run udhcpc -i eth0 -n -q -t 10 -T 2 -s /usr/share/udhcpc/default.script || fail "no DHCP lease on eth0"
  [ -f /run/udhcpc.env ] || fail "udhcpc did not configure eth0"
  . /run/udhcpc.env
  log "network $NET_INTERFACE $NET_IP/$NET_PREFIX router ${NET_ROUTER:-none} dns ${NET_DNS:-none}"
  step_ok
}

# ------------------------------------------------------------------ the disk

le32() { # the 4 little-endian bytes of $1
  _v=$1; _i=0
  while [ $_i -lt 4 ]; do
    printf "\\$(printf %03o $(( _v & 255 )))"
    _v=$(( _v >> 8 )); _i=$(( _i + 1 ))
  done
}

partition() {
  step partition
  WAIT=20 wait_for -b "$DISK" || fail "no $DISK (is virtio_blk loaded, is the disk if=virtio?)"
  _sectors=$(cat /sys/block/${DISK#/dev/}/size)
  [ "$_sectors" -gt 65536 ] || fail "$DISK is too small ($_sectors sectors)"
  _size=$(( _sectors - 2048 ))
  [ "$_size" -gt 4294967295 ] && _size=4294967295
  log "disk $DISK: $_sectors sectors of 512 bytes; partition 1: sectors 2048-$(( 2048 + _size - 1 )), type 83, bootable"
  # Wipe the first MiB (old tables, boot code, GPT header), then write a dos
  # label: no boot code yet (that is the boot loader step), a random disk
  # signature, partition 1 = active, type 0x83, LBA 2048 to the end.
  run dd if=/dev/zero of="$DISK" bs=1048576 count=1 conv=fsync status=none || fail "cannot write $DISK"
  {
    dd if=/dev/zero bs=440 count=1 2>/dev/null
    dd if=/dev/urandom bs=4 count=1 2>/dev/null
    printf '\000\000'
    printf '\200\040\041\000\203\376\377\377'                  # active, CHS 0/32/33, type 83, CHS end max
    le32 2048
    le32 "$_size"
    dd if=/dev/zero bs=48 count=1 2>/dev/null
    printf '\125\252'
  } >/run/mbr
  [ "$(( $(wc -c </run/mbr) ))" -eq 512 ] || fail "internal error: MBR is $(wc -c </run/mbr) bytes"
  run dd if=/run/mbr of="$DISK" bs=512 count=1 conv=notrunc,fsync status=none || fail "cannot write the partition table"
  run blockdev --rereadpt "$DISK" || fail "the kernel did not reread the partition table"
  WAIT=20 wait_for -b "$PART" || fail "no $PART after writing the partition table"
  step_ok
}

make_fs() {
  step mkfs
  FS_UUID=$(cat /proc/sys/kernel/random/uuid)
  # ^64bit,^metadata_csum: extlinux 6.04 cannot boot from those.
  run /usr/local/sbin/mke2fs -t ext4 -O ^64bit,^metadata_csum -U "$FS_UUID" -L root -F -q "$PART" \
    || fail "mke2fs failed"
  log "file system ext4 on $PART, UUID $FS_UUID"
  step_ok
  step mount
  run mount -t ext4 -o noinit_itable "$PART" "$TARGET" || fail "cannot mount $PART"
  step_ok
}

unpack_rootfs() {
  step rootfs
  log "downloading and unpacking $ROOTFS"
  # (no wget -T: it segfaults in Debian 12's busybox 1.35; the build's timeout covers a stall)
  run sh -c 'set -o pipefail; wget -q -O - "$1" | tar -x -f - -C "$2" --numeric-owner' \
    unpack "$ROOTFS" "$TARGET" || fail "cannot download or unpack $ROOTFS"
  [ -d "$TARGET/etc" ] || fail "$ROOTFS has no /etc"
  _used=$(df -k "$TARGET" | awk 'NR==2 { print int($3 / 1024) }')
  log "rootfs unpacked ($_used MiB used)"
  step_ok
}

# target_file PATH: the path inside the target of the file PATH resolves to
# (following symlinks, relative or absolute, inside the target), or nothing.
target_file() {
  _p=$1; _i=0
  while [ $_i -lt 16 ] && [ -L "$TARGET$_p" ]; do
    _t=$(readlink "$TARGET$_p")
    case $_t in /*) _p=$_t ;; *) _p=${_p%/*}/$_t ;; esac
    _i=$(( _i + 1 ))
  done
  [ -f "$TARGET$_p" ] && echo "$_p"
}

configure() {
  step configure
  # The kernel and initrd the boot loader loads: /vmlinuz and /initrd.img when
  # they lead to files (Debian's symlinks), else the newest /boot/vmlinuz-*.
  _kernel=/vmlinuz; _initrd=/initrd.img
  if [ -z "$(target_file /vmlinuz)" ]; then
    _kernel=$(set +f; cd "$TARGET" && ls -1 boot/vmlinuz-* 2>/dev/null | sort | tail -n 1)
    [ -n "$_kernel" ] || fail "the rootfs has no /vmlinuz nor /boot/vmlinuz-*"
    _kernel=/$_kernel
    _initrd=/boot/initrd.img-${_kernel#/boot/vmlinuz-}
  fi
  [ -n "$(target_file "$_initrd")" ] || _initrd=
  log "boot loader entry: kernel $_kernel initrd ${_initrd:-none}"
  mkdir -p "$TARGET/boot/extlinux" "$TARGET/etc"
  {
    echo "DEFAULT caravan"
    echo "TIMEOUT 1"
    echo "PROMPT 0"
    echo "LABEL caravan"
    echo "  LINUX $_kernel"
    [ -n "$_initrd" ] && echo "  INITRD $_initrd"
    echo "  APPEND root=UUID=$FS_UUID ro console=tty0 console=ttyS0,115200n8 net.ifnames=0"
  } >"$TARGET/boot/extlinux/extlinux.conf" || fail "cannot write extlinux.conf"
  printf 'UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n' "$FS_UUID" >"$TARGET/etc/fstab" \
    || fail "cannot write /etc/fstab"
  log "wrote /etc/fstab and /boot/extlinux/extlinux.conf for UUID $FS_UUID"
  if [ -n "$NEW_HOSTNAME" ]; then
    echo "$NEW_HOSTNAME" >"$TARGET/etc/hostname"
    _short=${NEW_HOSTNAME%%.*}
    if grep -q '^127\.0\.1\.1[[:space:]]' "$TARGET/etc/hosts" 2>/dev/null; then
      sed -i "s/^127\\.0\\.1\\.1[[:space:]].*/127.0.1.1${TAB}${NEW_HOSTNAME}$( [ "$_short" != "$NEW_HOSTNAME" ] && echo " $_short")/" "$TARGET/etc/hosts"
    else
      printf '127.0.1.1\t%s\n' "$NEW_HOSTNAME" >>"$TARGET/etc/hosts"
    fi
    log "hostname $NEW_HOSTNAME"
  fi
  [ -z "$NEW_PASSWORD" ] || password_only
  step_ok
}

# password_only: like a template that creates a password user and nothing else (the
# d-i passwd/* answers): USER gets the password, loses its authorized_keys, and sudo
# asks for the password. The build must log in and run postinstall with the password.
password_only() {
  _user=${NEW_USER:-vagrant}
  _home=$(awk -F: -v u="$_user" '$1 == u { print $6 }' "$TARGET/etc/passwd")
  [ -n "$_home" ] || fail "user $_user is not in the rootfs's /etc/passwd"
  _hash=$(mkpasswd -m sha512 "$NEW_PASSWORD") || fail "mkpasswd failed"
  sed -i "s|^$_user:[^:]*:|$_user:$_hash:|" "$TARGET/etc/shadow" || fail "cannot set the password in /etc/shadow"
  grep -q "^$_user:\\\$6\\\$" "$TARGET/etc/shadow" || fail "no password hash for $_user in /etc/shadow"
  rm -f "$TARGET$_home/.ssh/authorized_keys"
  for _f in $(ls "$TARGET/etc/sudoers.d"); do
    sed -i 's/NOPASSWD: *//' "$TARGET/etc/sudoers.d/$_f"
  done
  if grep -rq NOPASSWD "$TARGET/etc/sudoers" "$TARGET/etc/sudoers.d"; then fail "a NOPASSWD rule is left"; fi
  log "user $_user: password set, no authorized_keys, sudo asks for the password"
}

bootloader() {
  step bootloader
  run /usr/local/sbin/extlinux --install "$TARGET/boot/extlinux" || fail "extlinux --install failed"
  run dd if=/usr/lib/EXTLINUX/mbr.bin of="$DISK" bs=440 count=1 conv=notrunc,fsync status=none \
    || fail "cannot write mbr.bin"
  step_ok
}

finish() {
  step unmount
  sync
  run umount "$TARGET" || fail "cannot unmount $TARGET"
  sync
  step_ok
}

# --------------------------------------------------------------------- main

setup_basics
log "starting (Caravan test installer $INSTALLER_VERSION, kernel $(uname -r))"
ONFAIL=hang
parse_cmdline
load_modules
[ -n "$KEYTEST" ] && keytest "$KEYTEST"
read_local_answer
network
fetch_answer
_t0=$(now_cs)
partition
make_fs
unpack_rootfs
configure
bootloader
finish
# shellcheck disable=SC2046
log "installed in $(fmt_cs $(( $(now_cs) - _t0 )))s (uptime $(fmt_cs $(now_cs))s)"
if [ "$POWEROFF" = no ]; then
  log "not powering off (answer file says so)"
  hang
fi
log "done, powering off"
poweroff -f
hang
