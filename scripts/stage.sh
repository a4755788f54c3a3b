#!/usr/bin/env bash
# Installs Caravan's files under DESTDIR/PREFIX: the release binary (stripped), a man
# page per command (swift-argument-parser's generate-manual plugin, from the same
# command definitions as --help), bash, zsh and fish completions (from the binary
# itself), the copyright, a generated changelog.Debian and lintian's overrides.
# `make install` and `make deb` both install through this script, so their file
# lists never differ.
# usage: stage.sh DESTDIR PREFIX   (after scripts/release.sh)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
destdir=${1:?usage: stage.sh DESTDIR PREFIX}
prefix=${2:?usage: stage.sh DESTDIR PREFIX}
binary=$top/.build-release/release/caravan
[ -x "$binary" ] || { echo "stage.sh: no $binary; run scripts/release.sh (make release)" >&2; exit 1; }
version=$("$top/scripts/version.sh")
maintainer=${DEB_MAINTAINER:-Caravan developers <maintainers@users.noreply.b-seed-6e763326.example>}
commit=$(git -C "$top" rev-parse --short=7 HEAD)
epoch=$(git -C "$top" log -1 --format=%ct HEAD)   # the commit's date, so the files do not change between builds

root=$destdir$prefix
doc=$root/share/doc/caravan
man1=$root/share/man/man1
install -d -m 0755 "$root/bin" "$man1" "$doc" "$root/share/bash-completion/completions" \
  "$root/share/zsh/vendor-completions" "$root/share/fish/vendor_completions.d" "$root/share/lintian/overrides"

install -m 0755 "$binary" "$root/bin/caravan"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/bin/caravan"

# bash-completion sources its files: no #! line (lintian's bash-completion-with-hashbang).
"$root/bin/caravan" --generate-completion-script bash | sed '1{/^#!/d}' >"$root/share/bash-completion/completions/caravan"
"$root/bin/caravan" --generate-completion-script zsh >"$root/share/zsh/vendor-completions/_caravan"
"$root/bin/caravan" --generate-completion-script fish >"$root/share/fish/vendor_completions.d/caravan.fish"
chmod 0644 "$root/share/bash-completion/completions/caravan" "$root/share/zsh/vendor-completions/_caravan" \
  "$root/share/fish/vendor_completions.d/caravan.fish"

pages=$(mktemp -d)
trap 'rm -rf "$pages"' EXIT
"$top/scripts/manpages.sh" "$binary" "$pages" "$(date -u -d "@$epoch" +%F)"
for page in "$pages"/*.1; do
  gz=$man1/$(basename "$page").gz
  gzip -9n -c "$page" >"$gz"
  chmod 0644 "$gz"
done

install -m 0644 "$top/packaging/copyright" "$doc/copyright"
install -m 0644 "$top/packaging/lintian-overrides" "$root/share/lintian/overrides/caravan"
{
  echo "caravan ($version-1) unstable; urgency=medium"
  echo
  echo "  * Built from git commit $commit."
  echo
  echo " -- $maintainer  $(LC_ALL=C date -u -R -d "@$epoch")"
} | gzip -9n >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"
