#!/bin/sh
# Writes DIR/Version.swift with `let caravanVersion = "…"` from scripts/version.sh
# (0.0~unknown outside a git checkout), rewriting it only when the version changed
# so an unchanged tree compiles nothing again. Run by the GitVersion build plugin.
# usage: write-version.sh DIR
set -eu
dir=${1:?usage: write-version.sh DIR}
version=$("$(dirname "$0")/version.sh" 2>/dev/null) || version=0.0~unknown
mkdir -p "$dir"
new="// Generated before each build by scripts/write-version.sh; not in the repository.
let caravanVersion = \"$version\""
if [ ! -f "$dir/Version.swift" ] || [ "$(cat "$dir/Version.swift")" != "$new" ]; then
  printf '%s\n' "$new" >"$dir/Version.swift.new"
  mv "$dir/Version.swift.new" "$dir/Version.swift"
fi
