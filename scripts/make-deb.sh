#!/usr/bin/env bash
# Builds caravan_VERSION_ARCH.deb in the top folder with dpkg-deb, from the files
# stage.sh installs under /usr. Depends: is computed by dpkg-shlibdeps from the
# libraries the stripped binary links, plus the programs Caravan runs.
# usage: make-deb.sh   (after scripts/release.sh)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
version=$("$top/scripts/version.sh")-1
arch=$(dpkg --print-architecture)
maintainer=${DEB_MAINTAINER:-Caravan developers <maintainers@users.noreply.b-seed-6e763326.example>}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# dpkg-shlibdeps wants a source tree: debian/control, the package's files in debian/caravan.
pkg=$tmp/src/debian/caravan
"$top/scripts/stage.sh" "$pkg" /usr
install -d -m 0755 "$pkg/DEBIAN"
printf 'Source: caravan\n\nPackage: caravan\nArchitecture: any\n' >"$tmp/src/debian/control"
shlibs=$(cd "$tmp/src" && dpkg-shlibdeps -O -e"$pkg/usr/bin/caravan")
shlibs=${shlibs#shlibs:Depends=}
[ -n "$shlibs" ] || { echo "make-deb.sh: dpkg-shlibdeps found no libraries" >&2; exit 1; }

(cd "$pkg" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: caravan
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -s -k --apparent-size "$pkg/usr" | cut -f1)
Depends: $shlibs, openssh-client
Recommends: libvirt-daemon-system, qemu-system-x86, qemu-utils, rsync
Suggests: mmdebstrap, ansible, virtiofsd, ruby
Section: admin
Priority: optional
Description: Vagrant-like virtual machines on libvirt/QEMU
 Caravan reads a Machinefile that describes a project's virtual machines and
 runs them through their lifecycle with libvirt and QEMU: up, ssh, provision,
 halt, suspend, snapshot and destroy. Guests are reached over SSH on forwarded
 loopback ports and provisioned with shell, file and Ansible provisioners;
 folders are synced with rsync or virtiofs.
 .
 It uses Vagrant-compatible libvirt boxes, from files, URLs or catalogs, and
 builds its own base boxes from Boxfiles (mmdebstrap root file systems,
 installers with preseed or kickstart, ISO images). Caravan is one binary that
 speaks to libvirt through its C API, locally or on a remote host.
CONTROL
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"

deb=$top/caravan_${version}_$arch.deb
rm -f "$top"/caravan_*_"$arch".deb
SOURCE_DATE_EPOCH=$(git -C "$top" log -1 --format=%ct HEAD) dpkg-deb --root-owner-group --build "$pkg" "$deb" >&2
echo "$deb"
