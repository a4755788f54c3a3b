#!/usr/bin/env bash
# Builds the release binary (optimized, the Swift runtime linked in) that `make deb`,
# `make install` and bench/ use, in its own scratch folder .build-release: `make test`
# builds it beside the end-to-end tier, whose `swift test` holds .build's lock.
# usage: release.sh   (prints the binary's path last)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
swift build --package-path "$top" --scratch-path "$top/.build-release" -c release --static-swift-stdlib
echo "$top/.build-release/release/caravan"
