#!/bin/sh
# Writes OUT (a Swift file) with `let shippedImageIndexJSON = #"""…"""#` holding the
# image index IN (Sources/Boxes/Resources/images.json), so the caravan binary carries
# the index with no resource bundle beside it. Run by the EmbedImageIndex build plugin
# when the JSON changes.
# usage: embed-image-index.sh IN OUT
set -eu
in=${1:?usage: embed-image-index.sh IN OUT}
out=${2:?usage: embed-image-index.sh IN OUT}
if grep -q '"""#' "$in"; then
  echo "embed-image-index.sh: $in contains \"\"\"#, which would end the Swift string" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
{
  printf '%s\n' "// Generated from Sources/Boxes/Resources/images.json by scripts/embed-image-index.sh."
  printf '%s\n' 'let shippedImageIndexJSON = #"""'
  cat "$in"
  printf '%s\n' '"""#'
} >"$out.new"
mv "$out.new" "$out"
