#!/usr/bin/env bash
# Runs scripts/install-deps.sh in a throw-away Debian 12 root made by mmdebstrap (the
# smallest one apt runs in: no pip, no Python even), as on a fresh machine, then checks
# that what the tests need is there: ksvalidator from the checkout's venv validates a
# kickstart and refuses a broken one, the system Python still has no pip (nothing was
# installed into it), and a second run installs nothing.
# usage: test-install-deps.sh   (as root, like mmdebstrap's default mode)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mirror=${CARAVAN_DEB_MIRROR:-http://deb.debian.org/debian}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-install-deps: FAIL: $*" >&2; exit 1; }
step() { echo "==> test-install-deps: $* ($(date -u +%T))"; }
started=$(date +%s)

# The host's pip settings and certificates go along (this machine reaches PyPI through
# them, as a developer's fresh Debian would through its own).
mkdir -p "$tmp/host"
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$tmp/host/pip.conf"
cp /etc/ssl/certs/ca-certificates.crt "$tmp/host/ca-certificates.crt"
cp "$top/scripts/install-deps.sh" "$tmp/host/install-deps.sh"

cat >"$tmp/check-root.sh" <<'CHECK'
#!/bin/sh
# Runs in mmdebstrap's customize phase; $1 is the new root, $2 the folder of host files.
set -eu
root=$1 host=$2
mkdir -p "$root/src/caravan/scripts"
cp "$host/install-deps.sh" "$root/src/caravan/scripts/"
# Apart from the root's own bundle, which installing ca-certificates rewrites.
cp "$host/ca-certificates.crt" "$root/etc/host-ca-certificates.crt"
[ -f "$host/pip.conf" ] && cp "$host/pip.conf" "$root/etc/pip.conf"
if chroot "$root" sh -c 'command -v python3' >/dev/null; then
  echo "the fresh root already has a python3" >&2
fi
# A fresh login's environment, not this one's (its REQUESTS_CA_BUNDLE would name the root's own bundle).
clean="env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8"
pip_env="PIP_CERT=/etc/host-ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/host-ca-certificates.crt PIP_DEFAULT_TIMEOUT=180"
echo "--- install-deps.sh, first run"
chroot "$root" $clean $pip_env bash /src/caravan/scripts/install-deps.sh
echo "--- checks"
chroot "$root" $clean /src/caravan/.build-tools/venv/bin/ksvalidator --help >/dev/null
printf 'lang en_US.UTF-8\nkeyboard us\ntimezone UTC\nrootpw --lock\nbootloader --location=mbr\n' \
  >"$root/tmp/ok.ks"
chroot "$root" $clean /src/caravan/.build-tools/venv/bin/ksvalidator -v RHEL9 /tmp/ok.ks
printf 'bootloader --no-such-option\n' >>"$root/tmp/ok.ks"
if chroot "$root" $clean /src/caravan/.build-tools/venv/bin/ksvalidator -v RHEL9 /tmp/ok.ks >/dev/null 2>&1; then
  echo "ksvalidator accepts a broken kickstart" >&2; exit 1
fi
if chroot "$root" $clean /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
  echo "the system Python has pip now: something was installed into it" >&2; exit 1
fi
echo "--- install-deps.sh, second run"
chroot "$root" $clean $pip_env bash /src/caravan/scripts/install-deps.sh >"$root/tmp/second" 2>&1
if grep -q '^==> installing' "$root/tmp/second"; then
  cat "$root/tmp/second" >&2; echo "the second run installed again" >&2; exit 1
fi
CHECK
chmod 0755 "$tmp/check-root.sh"

step "mmdebstrap bookworm (variant apt), then install-deps.sh in it"
mmdebstrap --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
  --customize-hook="$tmp/check-root.sh \"\$1\" $tmp/host" \
  bookworm /dev/null "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
  || fail "install-deps.sh does not make a fresh Debian 12 root ready for the tests"
step "ok in $(($(date +%s) - started)) s"
