#!/bin/bash
# make-fixtures.sh BOX OUTDIR [--force]
#
# Makes the fixtures of Caravan's `caravan build` tests from a Debian base box
# (a Vagrant libvirt box: a tar with box.img; a bare qcow2/raw disk image works too):
#
#   OUTDIR/vmlinuz        the box's kernel
#   OUTDIR/initrd.gz      the controlled installer (busybox + the box's modules + /init)
#   OUTDIR/rootfs.tar     the box's root file system (numeric owners), without drivers a
#                         virtio guest never loads and without Ruby
#   OUTDIR/installer.iso  isolinux ISO with vmlinuz and initrd.gz, `boot:` prompt, no timeout
#
# Idempotent: the outputs are replaced atomically; when BOX, this folder's
# scripts and the outputs are unchanged since the last run it does nothing
# (--force remakes). Needs root (loop devices, mknod), qemu-img, tar, cpio,
# gzip, xorriso, busybox-static, extlinux, isolinux, syslinux-common, e2fsprogs.
# See README.md beside this file.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { echo "usage: $0 BOX OUTDIR [--force]" >&2; exit 2; }
[ $# -ge 2 ] || usage
BOX=$1
OUT=$2
FORCE=${3:-}
[ -z "$FORCE" ] || [ "$FORCE" = --force ] || usage
[ -f "$BOX" ] || { echo "make-fixtures: no box at $BOX" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "make-fixtures: must run as root (loop devices)" >&2; exit 1; }

# Modules the installer loads, in this order with their dependencies first:
# NAME or NAME:optional (not an error when it will not load, e.g. crc32c-intel
# without SSE4.2 under TCG). Built-in ones are skipped.
MODULES="virtio_pci virtio_blk virtio_net crc32c_generic crc32c-intel:optional ext4 evdev"

BUSYBOX=${BUSYBOX:-/bin/busybox}
ISOLINUX_BIN=/usr/lib/ISOLINUX/isolinux.bin
ISOHDPFX=/usr/lib/ISOLINUX/isohdpfx.bin
LDLINUX_C32=/usr/lib/syslinux/modules/bios/ldlinux.c32
MBR_BIN=/usr/lib/EXTLINUX/mbr.bin
HOST_TOOLS="/usr/sbin/mke2fs /usr/bin/extlinux"
# Fixed timestamps inside the initrd and the ISO, so reruns give the same bytes.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

say() { echo "make-fixtures: $*" >&2; }
for f in "$BUSYBOX" "$ISOLINUX_BIN" "$LDLINUX_C32" "$MBR_BIN" $HOST_TOOLS; do
  [ -e "$f" ] || { say "missing $f (install busybox-static isolinux syslinux-common extlinux e2fsprogs)"; exit 1; }
done
for c in qemu-img cpio gzip xorriso losetup mount tar ldd; do
  command -v "$c" >/dev/null || { say "missing command $c"; exit 1; }
done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# ---------------------------------------------------------- up to date?
stamp_of() {
  {
    stat -L -c '%n %s %Y' "$BOX"
    cat "$HERE/make-fixtures.sh" "$HERE/init.sh" "$HERE/udhcpc.script"
    echo "$MODULES $SOURCE_DATE_EPOCH"
  } | sha256sum | cut -d' ' -f1
}
STAMP=$(stamp_of)
if [ -z "$FORCE" ] && [ -f "$OUT/.fixtures-stamp" ] && [ "$(cat "$OUT/.fixtures-stamp")" = "$STAMP" ] \
   && [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.gz" ] && [ -s "$OUT/rootfs.tar" ] && [ -s "$OUT/installer.iso" ]; then
  say "up to date in $OUT"
  exit 0
fi
rm -f "$OUT/.fixtures-stamp"

# -------------------------------------------------------------- cleanup
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/caravan-fixtures.XXXXXX")
MNT=$WORK/mnt
LOOP=
cleanup() {
  local rc=$?
  set +e
  if mountpoint -q "$MNT" 2>/dev/null; then umount "$MNT" || umount -l "$MNT"; fi
  [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
  rm -rf "$WORK"
  rm -f "$OUT"/.*.part
  [ $rc -eq 0 ] || say "FAILED (exit $rc)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ------------------------------------------------------ the box's disk
T0=$(date +%s)
if tar -tf "$BOX" box.img >/dev/null 2>&1; then
  say "extracting box.img from $BOX"
  tar -xf "$BOX" -C "$WORK" box.img
  IMG=$WORK/box.img
else
  IMG=$BOX                                   # a bare disk image
fi
FMT=$(qemu-img info --output=json "$IMG" | sed -n 's/.*"format": *"\([a-z0-9]*\)".*/\1/p' | head -n 1)
if [ "$FMT" = raw ]; then
  RAW=$IMG
else
  say "converting the $FMT image to raw"
  qemu-img convert -f "$FMT" -O raw "$IMG" "$WORK/raw.img"
  rm -f "$WORK/box.img"
  RAW=$WORK/raw.img
fi

# Partition 1's start from the MBR (a dos label), else the image is the file system.
OFFSET=0
if [ "$(stat -L -c %s "$RAW")" -ge 1048576 ] && [ "$(od -An -tx1 -j510 -N2 "$RAW" | tr -d ' \n')" = 55aa ]; then
  START=$(od -An -tu4 -j454 -N4 "$RAW" | tr -d ' \n')
  TYPE=$(od -An -tx1 -j450 -N1 "$RAW" | tr -d ' \n')
  if [ "$TYPE" != 00 ] && [ "$TYPE" != ee ] && [ "${START:-0}" -gt 0 ]; then OFFSET=$(( START * 512 )); fi
fi
say "root file system at offset $OFFSET"
LOOP=$(losetup -f --show -r -o "$OFFSET" "$RAW")
mkdir -p "$MNT"
mount -o ro,noload "$LOOP" "$MNT" \
  || { say "cannot mount a file system at offset $OFFSET of $BOX: not a box with an ext4 root?"; exit 1; }

# target_file PATH: PATH inside the box's root, symlinks followed inside it.
target_file() {
  local p=$1 t i=0
  while [ $i -lt 16 ] && [ -L "$MNT$p" ]; do
    t=$(readlink "$MNT$p")
    case $t in /*) p=$t ;; *) p=${p%/*}/$t ;; esac
    i=$((i + 1))
  done
  [ -f "$MNT$p" ] && echo "$p"
}

KERNEL=$(target_file /vmlinuz || true)
if [ -z "$KERNEL" ]; then
  KERNEL=$(cd "$MNT" && ls -1 boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$KERNEL" ] || { say "the box has no /vmlinuz nor /boot/vmlinuz-*"; exit 1; }
  KERNEL=/$KERNEL
fi
KVER=${KERNEL##*/vmlinuz-}
MODSRC=$MNT/usr/lib/modules/$KVER
[ -d "$MODSRC" ] || MODSRC=$MNT/lib/modules/$KVER
[ -d "$MODSRC" ] || { say "no /lib/modules/$KVER in the box"; exit 1; }
say "kernel $KERNEL (modules $KVER)"

# ---------------------------------------------------------------- vmlinuz
cp "$MNT$KERNEL" "$OUT/.vmlinuz.part"

# -------------------------------------------------------------- rootfs.tar
say "writing rootfs.tar"
# Without what a guest on QEMU's virtio devices never loads (drivers for GPUs, media,
# sound, Wi-Fi, physical NICs, InfiniBand, sensors) and the test box's Ruby (Puppet's):
# 757 MB became about 540 MB, and the install's download and unpacking under TCG is
# most of an installer test's time.
tar --create --file "$OUT/.rootfs.tar.part" --format=gnu --numeric-owner --one-file-system \
  --sort=name --directory "$MNT" \
  --exclude='./usr/lib/modules/*/kernel/drivers/gpu' --exclude='./usr/lib/modules/*/kernel/drivers/media' \
  --exclude='./usr/lib/modules/*/kernel/sound' --exclude='./usr/lib/modules/*/kernel/drivers/net/wireless' \
  --exclude='./usr/lib/modules/*/kernel/drivers/net/ethernet' \
  --exclude='./usr/lib/modules/*/kernel/drivers/infiniband' --exclude='./usr/lib/modules/*/kernel/drivers/iio' \
  --exclude='./usr/lib/ruby' .

# ----------------------------------------------------------- the initrd
say "building initrd.gz"
ST=$WORK/initrd
mkdir -p "$ST"/{bin,sbin,usr/bin,usr/sbin,usr/local/sbin,etc/installer,dev,proc,sys,run,tmp,mnt,root,usr/share/udhcpc,usr/lib/EXTLINUX}
cp "$BUSYBOX" "$ST/bin/busybox"
"$ST/bin/busybox" --list-full | while read -r app; do
  [ -e "$ST/$app" ] || [ -L "$ST/$app" ] || ln -s /bin/busybox "$ST/$app"
done
install -m 0755 "$HERE/init.sh" "$ST/init"
install -m 0755 "$HERE/udhcpc.script" "$ST/usr/share/udhcpc/default.script"
cp "$MBR_BIN" "$ST/usr/lib/EXTLINUX/mbr.bin"
[ -f /etc/mke2fs.conf ] && cp /etc/mke2fs.conf "$ST/etc/mke2fs.conf"
echo 'root:x:0:0:root:/root:/bin/sh' >"$ST/etc/passwd"
echo 'root:x:0:' >"$ST/etc/group"
mknod -m 600 "$ST/dev/console" c 5 1
mknod -m 666 "$ST/dev/null" c 1 3

# Host tools (mke2fs, extlinux) with their shared libraries, at the paths ldd names.
for tool in $HOST_TOOLS; do
  cp -L "$tool" "$ST/usr/local/sbin/"
  ldd "$tool" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | while read -r lib; do
    mkdir -p "$ST$(dirname "$lib")"
    [ -e "$ST$lib" ] || cp -L "$lib" "$ST$lib"
  done
done

# Modules: each with its modules.dep dependencies first, skipping built-ins.
declare -A DEP_OF=() SEEN=()
while IFS=: read -r mod deps; do DEP_OF[$mod]=$deps; done <"$MODSRC/modules.dep"
ORDER=()
add_module() { # a path relative to the modules folder
  local m=$1 d
  [ -n "${SEEN[$m]:-}" ] && return 0
  SEEN[$m]=1
  for d in ${DEP_OF[$m]}; do add_module "$d"; done
  ORDER+=("$m")
}
: >"$ST/etc/installer/builtin"
declare -A NEED=()
for spec in $MODULES; do
  name=${spec%%:*}
  need=required; [ "$spec" = "${spec%:optional}" ] || need=optional
  alt=$(echo "$name" | tr _ -); alt2=$(echo "$name" | tr - _)
  path=$(grep -E -o "^[^:]*/($name|$alt|$alt2)\.ko(\.[a-z]+)?:" "$MODSRC/modules.dep" | head -n 1 | tr -d :)
  if [ -z "$path" ]; then
    if grep -E -q "/($name|$alt|$alt2)\.ko$" "$MODSRC/modules.builtin"; then
      echo "$name" >>"$ST/etc/installer/builtin"
      continue
    fi
    [ "$need" = optional ] && continue
    say "module $name is neither in modules.dep nor built in"; exit 1
  fi
  case $path in *.ko) ;; *) say "module $path is compressed; busybox insmod wants plain .ko"; exit 1 ;; esac
  NEED[$path]=$need
  add_module "$path"
done
for m in "${ORDER[@]}"; do
  mkdir -p "$ST/lib/modules/$KVER/$(dirname "$m")"
  cp "$MODSRC/$m" "$ST/lib/modules/$KVER/$m"
  echo "$m ${NEED[$m]:-required}" >>"$ST/etc/installer/modules"
  # what the copied modules depend on, for busybox modprobe and the kernel's request_module
  echo "$m:${DEP_OF[$m]}" >>"$ST/lib/modules/$KVER/modules.dep"
done
cp "$MODSRC/modules.builtin" "$ST/lib/modules/$KVER/" 2>/dev/null || true
say "modules: $(for m in "${ORDER[@]}"; do basename "$m" .ko; done | tr '\n' ' ')"

find "$ST" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
(cd "$ST" && find . -mindepth 1 -print0 | LC_ALL=C sort -z \
  | cpio --null --create --format=newc --owner=0:0 --reproducible --quiet) \
  | gzip -9 -n >"$OUT/.initrd.gz.part"
# Pad to a multiple of 512 with zeros: the kernel skips zeros between archives,
# and an appended *uncompressed* cpio is only recognised at a 4-byte-aligned offset.
SIZE=$(stat -c %s "$OUT/.initrd.gz.part")
truncate -s $(( (SIZE + 511) / 512 * 512 )) "$OUT/.initrd.gz.part"

# -------------------------------------------------------- installer.iso
say "building installer.iso"
ISO=$WORK/iso
mkdir -p "$ISO/isolinux"
cp "$ISOLINUX_BIN" "$LDLINUX_C32" "$ISO/isolinux/"
cp "$OUT/.vmlinuz.part" "$ISO/vmlinuz"
cp "$OUT/.initrd.gz.part" "$ISO/initrd.gz"
cat >"$ISO/isolinux/isolinux.cfg" <<'EOF'
SERIAL 0 115200
PROMPT 1
TIMEOUT 0
DEFAULT mini
LABEL mini
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND console=ttyS0,115200n8 console=tty0
EOF
find "$ISO" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
xorriso -as mkisofs -quiet -o "$OUT/.installer.iso.part" -V CARAVAN_INSTALLER -r -J \
  -isohybrid-mbr "$ISOHDPFX" \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  "$ISO" 2>"$WORK/xorriso.log" || { cat "$WORK/xorriso.log" >&2; exit 1; }

# ------------------------------------------------------------- publish
for f in vmlinuz initrd.gz rootfs.tar installer.iso; do mv -f "$OUT/.$f.part" "$OUT/$f"; done
echo "$STAMP" >"$OUT/.fixtures-stamp"
say "done in $(( $(date +%s) - T0 ))s: $(cd "$OUT" && ls -l vmlinuz initrd.gz rootfs.tar installer.iso | awk '{ printf "%s %s  ", $9, $5 }')"
