#!/usr/bin/env bash
# Prints Caravan's upstream version, Debian-valid, from git:
#   a `vX.Y.Z` tag on HEAD          -> X.Y.Z
#   N commits after the tag vX.Y.Z  -> X.Y.Z+gitN.HASH   (sorts after X.Y.Z)
#   no `v*` tag in the history      -> 0.0~gitN.HASH     (N: commits in HEAD's history)
# CARAVAN_VERSION, when set, wins (a package built outside git; SwiftPM does not pass it
# on to the GitVersion plugin, so such a binary's --version says 0.0~unknown).
set -euo pipefail
if [ -n "${CARAVAN_VERSION:-}" ]; then
  echo "$CARAVAN_VERSION"
  exit 0
fi
cd "$(dirname "$0")/.."
if ! git rev-parse --verify -q HEAD >/dev/null; then
  echo "version.sh: not a git checkout; set CARAVAN_VERSION" >&2
  exit 1
fi
if described=$(git describe --tags --match 'v[0-9]*' --abbrev=7 2>/dev/null); then
  version=${described#v}
  if [[ $version =~ ^(.+)-([0-9]+)-g([0-9a-f]+)$ ]]; then
    version="${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
  fi
else
  version="0.0~git$(git rev-list --count HEAD).$(git rev-parse --short=7 HEAD)"
fi
# Debian's upstream version: starts with a digit; letters, digits, . + ~ only here.
if ! [[ $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]]; then
  echo "version.sh: '$version' (from the tag) is not a valid Debian version; tag vX.Y.Z" >&2
  exit 1
fi
echo "$version"
