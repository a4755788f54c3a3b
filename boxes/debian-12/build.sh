#!/usr/bin/env bash
# Builds the caravan/debian-12 base box in the vagrant-libvirt box format (v1):
# a tar of box.img (qcow2), metadata.json and Vagrantfile.
#
# This is the "rootfs" strategy: mmdebstrap makes the root file system in a
# folder, mkfs.ext4 -d writes it straight into a partition of a raw image (no
# partition device nodes are needed), extlinux makes it bootable, qemu-img
# converts it to qcow2. Each step below is one step of the future Swift
# `caravan build` rootfs strategy; the guest configuration lives in
# customize.sh, the files it installs in files/.
#
# usage: build.sh OUTPUT.box        (as root; needs mmdebstrap, extlinux,
#                                    e2fsprogs, fdisk, qemu-utils)
# env:   MIRROR (default http://deb.debian.org/debian), SUITE (bookworm),
#        DISK_SIZE_MIB (4096)
set -euo pipefail

out=${1:?usage: build.sh OUTPUT.box}
here=$(cd "$(dirname "$0")" && pwd)
mirror=${MIRROR:-http://deb.debian.org/debian}
suite=${SUITE:-bookworm}
disk_mib=${DISK_SIZE_MIB:-4096}
part_offset=$((1024 * 1024))            # the root partition starts at 1 MiB

[ "$(id -u)" = 0 ] || { echo "build.sh: must run as root (mmdebstrap, loop mounts)" >&2; exit 1; }
for tool in mmdebstrap mkfs.ext4 sfdisk extlinux qemu-img losetup; do
  command -v "$tool" >/dev/null || { echo "build.sh: '$tool' is missing; install mmdebstrap extlinux e2fsprogs fdisk qemu-utils" >&2; exit 1; }
done
mbr=/usr/lib/EXTLINUX/mbr.bin
[ -f "$mbr" ] || { echo "build.sh: $mbr is missing; install extlinux" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/var/tmp}/caravan-box.XXXXXX")
loop=""
cleanup() {
  if mountpoint -q "$work/mnt" 2>/dev/null; then umount "$work/mnt"; fi
  if [ -n "$loop" ]; then losetup -d "$loop" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

root_uuid=$(cat /proc/sys/kernel/random/uuid)

echo "==> debian-12: root file system ($suite from $mirror)"
mmdebstrap --variant=minbase --mode=root \
  --include=linux-image-amd64,initramfs-tools,systemd-sysv,udev,dbus,kmod,iproute2,iputils-ping,openssh-server,sudo,rsync,procps,less,ca-certificates \
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --customize-hook="ROOT_UUID=$root_uuid FILES='$here/files' '$here/customize.sh' \"\$1\"" \
  "$suite" "$work/rootfs" "$mirror"

echo "==> debian-12: disk image (${disk_mib} MiB, one ext4 partition)"
img="$work/disk.raw"
truncate -s "${disk_mib}M" "$img"
echo "start=2048, type=83, bootable" | sfdisk --quiet --label dos "$img"
# extlinux 6.04 reads neither 64bit nor metadata_csum file systems.
mkfs.ext4 -q -F -L root -U "$root_uuid" -O '^64bit,^metadata_csum' \
  -E "offset=$part_offset" -d "$work/rootfs" "$img" "$((disk_mib - 1))M"

echo "==> debian-12: boot loader (extlinux)"
loop=$(losetup -f --show -o "$part_offset" "$img")
mkdir "$work/mnt"
mount "$loop" "$work/mnt"
extlinux --install "$work/mnt/boot/extlinux" >/dev/null
umount "$work/mnt"
losetup -d "$loop"; loop=""
dd if="$mbr" of="$img" bs=440 count=1 conv=notrunc status=none

echo "==> debian-12: qcow2 and box archive"
qemu-img convert -c -f raw -O qcow2 "$img" "$work/box.img"
virtual_gb=$(( (disk_mib + 1023) / 1024 ))
printf '{"provider":"libvirt","format":"qcow2","virtual_size":%d}\n' "$virtual_gb" > "$work/metadata.json"
cp "$here/Vagrantfile" "$work/Vagrantfile"
mkdir -p "$(dirname "$out")"
tar -C "$work" -cf "$out.partial" metadata.json Vagrantfile box.img
mv "$out.partial" "$out"
echo "==> debian-12: wrote $out ($(du -h "$out" | cut -f1))"
