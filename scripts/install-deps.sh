#!/usr/bin/env bash
# Installs the Debian packages Caravan's build, tests and demo need, then
# pykickstart's ksvalidator (on PyPI only) into a venv of the checkout,
# .build-tools/venv, where the kickstart test finds it: Debian's Python has no
# pip and refuses installs into the system (PEP 668).
# Skips apt-get entirely when everything is already there, and pip when the venv has it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
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
  busybox-static cpio xorriso isolinux                            # caravan build's test installer and ISO; xorriso reads cloud-init seeds back
  genisoimage                                                     # isoinfo: the cloud-init seed tests read seeds back
  dosfstools mtools                                               # scripts/cloud-image.sh: the test cloud image's EFI partition
  ovmf swtpm swtpm-tools                                          # UEFI guests and their TPM 2.0 (the cloud image tests)
  cloud-image-utils                                               # bench/cloud.sh: cloud-localds, the hand-made seed it compares with
  docker-registry skopeo apache2-utils openssl curl               # the OCI registry test: registry 2.8, skopeo inspect, htpasswd, its CA
  debian-installer-12-netboot-amd64 apt-cacher-ng netcat-openbsd  # the real Debian installer test
  ansible                                                         # provision ansible runs the host's ansible-playbook
  ruby                                                            # init --from Vagrantfile evaluates the Vagrantfile with it
  dpkg-dev binutils lintian                                       # make deb (dpkg-shlibdeps, strip), its test (and mmdebstrap)
  python3-venv                                                    # the venv that holds ksvalidator (below)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "==> installing: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# ksvalidator (kickstart templates) is on PyPI only: into a venv of Debian's own Python.
venv=$top/.build-tools/venv
if [ ! -x "$venv/bin/ksvalidator" ]; then
  python=/usr/bin/python3; [ -x "$python" ] || python=python3
  echo "==> installing pykickstart into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check pykickstart
fi
