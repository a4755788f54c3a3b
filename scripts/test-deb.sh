#!/usr/bin/env bash
# Checks the Debian package that `make deb` built: its control fields and file list
# (a man page for every command, the three completions, root:root, 0755/0644), lintian
# (no errors), then installs it with its dependencies into a throw-away Debian 12 root
# made by mmdebstrap, where `caravan --version`, `caravan --help` and `man -w` must work:
# a library missing from Depends stops the binary from loading there.
# usage: test-deb.sh [DEB]   (default: the one caravan_*.deb in the top folder)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
arch=$(dpkg --print-architecture)
if [ $# -gt 0 ]; then
  deb=$(realpath "$1")
else
  debs=("$top"/caravan_*_"$arch".deb)
  if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
    echo "test-deb: want one caravan_*_$arch.deb in $top (make deb)" >&2
    exit 1
  fi
  deb=${debs[0]}
fi
mirror=${CARAVAN_DEB_MIRROR:-http://deb.debian.org/debian}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }
step() { echo "==> test-deb: $* ($(date -u +%T))"; }

step "dpkg-deb --info $(basename "$deb")"
dpkg-deb --info "$deb" | tee "$tmp/info"
for field in Package Version Architecture Maintainer Installed-Size Depends Recommends Suggests Section Priority Description; do
  grep -q "^ $field: ." "$tmp/info" || fail "no $field: in the control file"
done
version=$(dpkg-deb --field "$deb" Version)
[ "$version" = "$("$top/scripts/version.sh")-1" ] || fail "Version: $version is not version.sh's"
depends=$(dpkg-deb --field "$deb" Depends)
for p in libc6 libvirt0 libcurl4 libarchive13 openssh-client; do
  [[ ", $depends," == *", $p "* || ", $depends," == *", $p,"* ]] || fail "Depends: lacks $p ($depends)"
done

step "dpkg-deb --contents"
dpkg-deb --contents "$deb" | tee "$tmp/contents"
awk '$2 != "root/root" { print; bad = 1 } END { exit bad }' "$tmp/contents" || fail "files not owned by root:root"
awk '!/^(drwxr-xr-x|-rw-r--r--)/ && !/^-rwxr-xr-x .* \.\/usr\/bin\/caravan$/ { print; bad = 1 } END { exit bad }' \
  "$tmp/contents" || fail "modes other than 0755 (directories, the binary) and 0644"
dpkg-deb -x "$deb" "$tmp/root"
expected=(usr/bin/caravan usr/share/bash-completion/completions/caravan usr/share/zsh/vendor-completions/_caravan
  usr/share/fish/vendor_completions.d/caravan.fish usr/share/doc/caravan/copyright
  usr/share/doc/caravan/changelog.Debian.gz usr/share/lintian/overrides/caravan)
# A man page for every command --help knows: caravan.1, caravan-up.1, caravan-box-add.1 …
mapfile -t commands < <("$tmp/root/usr/bin/caravan" --experimental-dump-help | python3 -c '
import json, sys
def walk(c, path):
    yield "-".join(path)
    for s in c.get("subcommands", []):
        yield from walk(s, path + [s["commandName"]])
cmd = json.load(sys.stdin)["command"]
print("\n".join(walk(cmd, [cmd["commandName"]])))')
[ ${#commands[@]} -gt 10 ] || fail "only ${#commands[@]} commands in --experimental-dump-help"
for c in "${commands[@]}"; do expected+=("usr/share/man/man1/$c.1.gz"); done
for f in "${expected[@]}"; do
  grep -q " \./$f\$" "$tmp/contents" || fail "the package lacks /$f"
done
echo "test-deb: ${#expected[@]} files present, among them ${#commands[@]} man pages"

step "lintian"
lintian --fail-on error --info "$deb" | tee "$tmp/lintian" || fail "lintian reports errors"

step "mmdebstrap bookworm with the package and its dependencies"
cat >"$tmp/check-root.sh" <<CHECK
#!/bin/sh
# Runs in mmdebstrap's customize phase; \$1 is the new root.
set -eu
said=\$(chroot "\$1" caravan --version)
echo "caravan --version: \$said"
[ "\$said" = "${version%-1}" ] || { echo "caravan --version says \$said, the package ${version%-1}" >&2; exit 1; }
chroot "\$1" caravan --help >"\$1/tmp/caravan-help"
head -n 3 "\$1/tmp/caravan-help"
chroot "\$1" caravan up --help >/dev/null
chroot "\$1" man -w caravan
chroot "\$1" man -w caravan-up
warnings=\$(chroot "\$1" sh -c 'MANWIDTH=80 man caravan-up 2>&1 >/dev/null')
[ -z "\$warnings" ] || { echo "man caravan-up: \$warnings" >&2; exit 1; }
chroot "\$1" dpkg-query -W -f='\${Package} \${Version} \${Status}\n' caravan | grep -q ' install ok installed\$'
CHECK
chmod 0755 "$tmp/check-root.sh"
mmdebstrap --variant=apt --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
  --include="$deb" --include=man-db --customize-hook="$tmp/check-root.sh" \
  bookworm /dev/null "deb $mirror bookworm main" || fail "the package does not install and run in a Debian 12 root"
step "ok"
