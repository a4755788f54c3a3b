#!/usr/bin/env bash
# Builds a Debian 12 cloud image like Debian's official debian-12-genericcloud-amd64.qcow2,
# for the end-to-end tests of cloud images (`box add debian/12`, a cloud-init seed at `up`),
# without reaching cloud.debian.org: mmdebstrap from the Debian mirror, a GPT disk laid out
# as Debian's (14: BIOS boot, 15: EFI system, 1: ext4 root last, so growpart can grow it),
# GRUB for both BIOS (i386-pc) and UEFI (x86_64-efi, removable path EFI/BOOT/BOOTX64.EFI),
# the cloud kernel, cloud-init (NoCloud, then None), systemd-networkd/resolved, openssh-server,
# sudo; no user, no password, no SSH host keys (made at first boot), an empty machine-id.
# Boot messages go to ttyS0 as well (GRUB and kernel), so a serial log shows the boot.
# The kernel is linux-image-cloud-amd64, as in Debian's image: virtio, TPM (tpm_crb, tpm_tis,
# built in) and IDE CD-ROMs (ata_piix) are there, AHCI is not: a seed on a SATA CD-ROM (machine
# type q35) is not seen, one on the IDE CD-ROM of machine type pc is.
# scripts/test-cloud-image.sh boots it (BIOS, UEFI, UEFI with a TPM) and checks it.
#
# usage: cloud-image.sh OUTDIR        (builds as root; re-runs itself with sudo otherwise)
# writes, as on https://cloud.debian.org/images/cloud/bookworm/latest/:
#   OUTDIR/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2
#   OUTDIR/images/cloud/bookworm/latest/SHA512SUMS   (GNU format; it also lists other,
#       made-up files, before and after the image's line, so a parser must pick the right one)
#   OUTDIR/index.json   a Caravan image index for it whose URLs say http://127.0.0.1:PORT/…:
#       the literal text PORT is a placeholder the test replaces with its HTTP server's port
#       (index.json is a copy, safe to edit in place; the other two are symlinks into the cache)
# and prints the qcow2's path. The build is cached (by default in /var/tmp/caravan-test) under
# cloud-image-HASH/, HASH a hash of this script, and reused while the script is unchanged;
# older cloud-image-* builds are removed. CARAVAN_DEB_MIRROR (default http://deb.debian.org/debian)
# and CARAVAN_DEB_SECURITY_MIRROR (…/debian-security) choose where packages come from.
# Needs: mmdebstrap, fdisk (sfdisk), util-linux (losetup, partx), e2fsprogs, dosfstools, mtools,
# qemu-utils; not GRUB (it runs from the new root) nor vfat in the host's kernel (the ESP is
# written with mtools, never mounted).
set -euo pipefail
self=$(readlink -f "${BASH_SOURCE[0]}")
cache=${CARAVAN_TEST_CACHE:-/var/tmp/caravan-test}
mirror=${CARAVAN_DEB_MIRROR:-http://deb.debian.org/debian}
security=${CARAVAN_DEB_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
rel=images/cloud/bookworm/latest
image=debian-12-genericcloud-amd64.qcow2
hash=$(sha256sum "$self" | cut -c1-16)
cached=$cache/cloud-image-$hash

build() {
  # Globals, not locals: the EXIT trap runs after bash has left the function.
  loop=""
  started=$(date +%s)
  work=$cached.tmp
  raw=$work/disk.raw
  mnt=$work/mnt
  cleanup() {
    set +e
    if [ -n "${mnt:-}" ] && [ -d "$mnt" ]; then
      umount -R "$mnt" 2>/dev/null || umount -R -l "$mnt" 2>/dev/null
    fi
    [ -n "${loop:-}" ] && losetup -d "$loop" 2>/dev/null
    [ -n "${work:-}" ] && rm -rf "$work"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM HUP
  # What a killed earlier run may have left: its mounts, its loop device, its files.
  if [ -d "$work" ]; then
    grep -F " $mnt" /proc/mounts >/dev/null && { umount -R "$mnt" || umount -R -l "$mnt"; }
    [ -f "$raw" ] && losetup -j "$raw" -O NAME -n | xargs -r -n1 losetup -d
    rm -rf "$work"
  fi
  mkdir -p "$mnt"

  echo "==> cloud-image: disk ($(date -u +%T))"
  truncate -s 2G "$raw"
  # Debian's layout: 14 BIOS boot (GRUB's core image), 15 EFI system, 1 root from 128 MiB to the end.
  sfdisk -q "$raw" <<EOF
label: gpt
unit: sectors

${raw}14 : start=2048, size=6144, type=21686148-6449-6E6F-744E-656564454649, name="bios"
${raw}15 : start=8192, size=253952, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"
${raw}1 : start=262144, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
EOF
  loop=$(losetup -f --show -P "$raw")
  # A kernel without a GPT parser (this CI host's has none) scans nothing: partx adds the
  # partitions through BLKPG, which needs no parser in the kernel.
  for _ in $(seq 10); do [ -b "${loop}p15" ] && break; sleep 0.1; done
  [ -b "${loop}p15" ] || partx -a "$loop"
  for _ in $(seq 50); do [ -b "${loop}p1" ] && [ -b "${loop}p15" ] && break; sleep 0.1; done
  mkfs.ext4 -q -L root "${loop}p1"
  mkfs.vfat -n UEFI "${loop}p15" >/dev/null
  root_uuid=$(blkid -s UUID -o value "${loop}p1")
  esp_uuid=$(blkid -s UUID -o value "${loop}p15")
  mount "${loop}p1" "$mnt"

  echo "==> cloud-image: mmdebstrap ($(date -u +%T))"
  # Recommends are not installed (mmdebstrap's default); man pages and docs but the copyright
  # files left out; dpkg without fsync (a crash only loses this build).
  mmdebstrap --variant=minbase --components=main --dpkgopt=force-unsafe-io \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --include=linux-image-cloud-amd64,systemd-sysv,udev,dbus,systemd-resolved,cloud-init,cloud-guest-utils,openssh-server,sudo,e2fsprogs,fdisk,grub-pc-bin,grub-efi-amd64-bin,grub2-common,dosfstools,ca-certificates \
    bookworm "$mnt" \
    "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main"

  echo "==> cloud-image: configuration ($(date -u +%T))"
  mkdir -p "$mnt/boot/efi"
  for d in dev proc sys; do mount --bind "/$d" "$mnt/$d"; done
  cat >"$mnt/etc/fstab" <<EOF
UUID=$root_uuid / ext4 rw,discard,errors=remount-ro 0 1
UUID=$esp_uuid /boot/efi vfat defaults 0 0
EOF
  echo localhost >"$mnt/etc/hostname"
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' \
    >"$mnt/etc/hosts"
  ln -sfn ../run/systemd/resolve/stub-resolv.conf "$mnt/etc/resolv.conf"
  # cloud-init asks for the system's locale, else en_US.UTF-8, which bookworm's cloud-init cannot
  # generate (Debian's locale-gen takes no argument) and fails its locale module with.
  echo LANG=C.UTF-8 >"$mnt/etc/default/locale"
  cat >"$mnt/etc/cloud/cloud.cfg.d/99-caravan-test.cfg" <<'EOF'
# Caravan's test image: the seed (ISO 9660 labelled cidata) or nothing; no network probing.
datasource_list: [ NoCloud, None ]
EOF
  # cloud-init renders its network config for systemd-networkd (no ifupdown, no netplan here).
  chroot "$mnt" systemctl enable -q systemd-networkd.service systemd-resolved.service
  # Host keys come at first boot (cloud-init's ssh module); should cloud-init not run, sshd makes
  # the missing ones itself rather than refuse to start.
  mkdir -p "$mnt/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
    >"$mnt/etc/systemd/system/ssh.service.d/host-keys.conf"
  cat >"$mnt/etc/default/grub" <<'EOF'
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --speed=115200"
GRUB_DISABLE_OS_PROBER=true
EOF

  echo "==> cloud-image: grub ($(date -u +%T))"
  chroot "$mnt" grub-install --target=i386-pc "$loop"
  # UEFI: grub-install --target=x86_64-efi insists on a mounted FAT ESP, and the ESP is never
  # mounted here (this CI host's kernel has no vfat). So what `grub-install --removable --no-nvram`
  # makes, made by hand: the modules in /boot/grub/x86_64-efi, and EFI/BOOT/BOOTX64.EFI, a core
  # image that finds the root file system by UUID and reads /boot/grub/grub.cfg from it, written
  # into the FAT with mtools.
  mkdir -p "$mnt/boot/grub/x86_64-efi"
  cp "$mnt"/usr/lib/grub/x86_64-efi/*.mod "$mnt"/usr/lib/grub/x86_64-efi/*.lst "$mnt/boot/grub/x86_64-efi/"
  printf "search.fs_uuid %s root\nset prefix=(\$root)'/boot/grub'\n" "$root_uuid" >"$mnt/tmp/load.cfg"
  chroot "$mnt" grub-mkimage -O x86_64-efi -d /usr/lib/grub/x86_64-efi -c /tmp/load.cfg -p /boot/grub \
    -o /tmp/BOOTX64.EFI part_gpt ext2 search_fs_uuid
  esp="$raw@@$((8192 * 512))"   # the ESP in the raw file (mtools asks a block device for its geometry)
  mmd -i "$esp" ::/EFI ::/EFI/BOOT
  mcopy -i "$esp" "$mnt/tmp/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
  mdir -i "$esp" ::/EFI/BOOT/BOOTX64.EFI >/dev/null
  rm -f "$mnt/tmp/load.cfg" "$mnt/tmp/BOOTX64.EFI"
  chroot "$mnt" update-grub
  # Without udev on the build host there is no /dev/disk/by-uuid, and grub-mkconfig then names
  # the root by its device (the loop partition): by UUID instead, as it does on a real system.
  sed -i "s|root=${loop}p1 |root=UUID=$root_uuid |" "$mnt/boot/grub/grub.cfg"
  grep -q "root=UUID=$root_uuid" "$mnt/boot/grub/grub.cfg"

  # What each instance makes for itself, and what only the build needed.
  rm -f "$mnt"/etc/ssh/ssh_host_*
  : >"$mnt/etc/machine-id"
  rm -f "$mnt/var/lib/dbus/machine-id"
  rm -rf "$mnt"/var/lib/apt/lists/* "$mnt"/var/cache/apt/*.bin "$mnt"/var/cache/apt/archives/*.deb
  rm -f "$mnt/etc/dpkg/dpkg.cfg.d/99mmdebstrap"   # the build's dpkg options, not the image's
  chroot "$mnt" dpkg-query -W -f='${Package} ${Version}\n' >"$work/packages.txt"
  for d in sys proc dev; do umount "$mnt/$d"; done
  fstrim "$mnt" || true
  umount "$mnt"
  # Really unmounted (the journal written back, nothing to replay: GRUB reads no journal)?
  # e2fsck refuses a file system still mounted anywhere.
  e2fsck -f -y "${loop}p1" >/dev/null
  if dumpe2fs -h "${loop}p1" 2>/dev/null | grep -q needs_recovery; then
    echo "cloud-image: the root file system was not cleanly unmounted" >&2; exit 1
  fi
  losetup -d "$loop"; loop=""

  echo "==> cloud-image: qcow2 ($(date -u +%T))"
  mkdir -p "$work/$rel"
  qemu-img convert -f raw -O qcow2 -c "$raw" "$work/$rel/$image"
  rm -f "$raw"
  (
    cd "$work/$rel"
    # Made-up neighbours, as Debian's SHA512SUMS lists the .json, .raw and .tar.xz of the same build.
    echo "$(echo not-the-image-json | sha512sum | cut -d' ' -f1)  debian-12-genericcloud-amd64.json"
    sha512sum "$image"
    echo "$(echo not-the-image-raw | sha512sum | cut -d' ' -f1)  debian-12-genericcloud-amd64.raw"
  ) >"$work/$rel/SHA512SUMS.new"
  mv "$work/$rel/SHA512SUMS.new" "$work/$rel/SHA512SUMS"
  cat >"$work/index.json" <<EOF
{"version": 1, "images": [{"name": "debian/12", "arch": "amd64", "url": "http://127.0.0.1:PORT/$rel/$image", "checksum_url": "http://127.0.0.1:PORT/$rel/SHA512SUMS", "firmware": "bios"}]}
EOF
  echo "built in $(( $(date +%s) - started )) s on $(date -u +%FT%TZ) by $self" >"$work/build-info.txt"
  rm -rf "$mnt"
  mv "$work" "$cached"
  trap - EXIT INT TERM HUP
  find "$cache" -maxdepth 1 -name 'cloud-image-*' ! -name "cloud-image-$hash" ! -name cloud-image.lock \
    -exec rm -rf {} +
  echo "==> cloud-image: built in $(( $(date +%s) - started )) s"
}

# The build's mounts are made in a mount namespace of its own: in the host's, any namespace
# made meanwhile (libvirt makes one for each QEMU it starts) would get a copy of them and keep
# the root file system mounted, not written back, after the build unmounted it.
if [ "${1:-}" = --build-in-private-namespace ]; then
  build
  exit
fi
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
outdir=$(cd "$1" && pwd)
if [ ! -f "$cached/index.json" ]; then
  if [ "$(id -u)" != 0 ]; then
    sudo env CARAVAN_TEST_CACHE="$cache" CARAVAN_DEB_MIRROR="$mirror" CARAVAN_DEB_SECURITY_MIRROR="$security" \
      "$self" "$outdir"
    exit
  fi
  mkdir -p "$cache"
  exec 9>"$cache/cloud-image.lock"
  flock 9
  # Another run may have built it while this one waited.
  if [ ! -f "$cached/index.json" ]; then
    unshare --mount --propagation private "$self" --build-in-private-namespace
  fi
  exec 9>&-
fi
mkdir -p "$outdir/$rel"
ln -sfn "$cached/$rel/$image" "$outdir/$rel/$image"
ln -sfn "$cached/$rel/SHA512SUMS" "$outdir/$rel/SHA512SUMS"
rm -f "$outdir/index.json"
cp "$cached/index.json" "$outdir/index.json"
echo "$outdir/$rel/$image"
