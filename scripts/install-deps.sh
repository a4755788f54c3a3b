#!/usr/bin/env bash
# Installs the Debian packages Caravan's build, tests and demo need.
# Skips apt-get entirely when everything is already there.
set -euo pipefail
packages=(
  libvirt-daemon-system libvirt-clients libvirt-dev pkg-config   # libvirt and its C API
  dnsmasq-base iproute2                                           # private networks' DHCP; the network-namespace tests
  libcurl4-openssl-dev libarchive-dev                             # box downloads, box archives
  zstd xz-utils bzip2 zip                                         # boxes in every format, for the tests
  qemu-system-x86 qemu-utils                                      # guests and qcow2 images
  openssh-client rsync                                            # how Caravan reaches guests, synced folders
  openssh-server                                                  # the remote-libvirt test's host (in a namespace)
  mmdebstrap extlinux syslinux-common e2fsprogs fdisk             # the box recipe
  libxml2-utils                                                   # virt-xml-validate's xmllint
  hyperfine time                                                  # bench/ (time: peak RSS)
  busybox-static cpio xorriso isolinux                            # caravan build's test installer and ISO
  debian-installer-12-netboot-amd64 apt-cacher-ng netcat-openbsd  # the real Debian installer test
  ansible                                                         # provision ansible runs the host's ansible-playbook
  dpkg-dev binutils lintian                                       # make deb (dpkg-shlibdeps, strip), its test (and mmdebstrap)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# ksvalidator (kickstart templates) is on PyPI only.
if ! command -v ksvalidator >/dev/null; then
  python3 -m pip install --quiet pykickstart || echo "==> pip could not install pykickstart; the kickstart check will fail"
fi
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
echo "==> installing: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
