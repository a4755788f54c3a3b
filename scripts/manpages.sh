#!/usr/bin/env bash
# Writes a man page per command into DIR (caravan.1, caravan-up.1, caravan-box-add.1 …)
# with swift-argument-parser's generate-manual, run on BINARY: the pages come from the
# same command definitions as --help. The tool is built through the package's
# GenerateManual plugin, whose --help builds it without building the package (the
# plugin's own run would build the package again in release without
# --static-swift-stdlib: a second full build of what `make release` already built).
# usage: manpages.sh BINARY DIR YYYY-MM-DD
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:?usage: manpages.sh BINARY DIR YYYY-MM-DD}
dir=${2:?usage: manpages.sh BINARY DIR YYYY-MM-DD}
date=${3:?usage: manpages.sh BINARY DIR YYYY-MM-DD}
cd "$top"
swift package plugin generate-manual --help >/dev/null
tool=$(swift build --show-bin-path)/generate-manual-tool
[ -x "$tool" ] || { echo "manpages.sh: the GenerateManual plugin built no $tool" >&2; exit 1; }
raw=$(mktemp -d)
trap 'rm -rf "$raw"' EXIT
"$tool" "$binary" --multi-page --date "$date" --authors "Caravan developers" --output-directory "$raw"
# The tool names a subcommand's page caravan.box.add.1 and calls it "caravan box add";
# Debian's convention is caravan-box-add(1), as git-commit(1), and whatis wants a NAME
# without spaces. So the file, the title, the cross-references and the NAME take the
# hyphenated form, and the synopsis keeps the command as it is typed.
mkdir -p "$dir"
for page in "$raw"/*.1; do
  name=$(basename "$page" .1)
  sed -e '/^\.\(Dt\|Xr\) /s/\([A-Za-z]\)\.\([A-Za-z]\)/\1-\2/g' \
    -e "0,/^\.Nm \"${name//./ }\"\$/s//.Nm ${name//./-}/" \
    -e "s/^\.Nm\$/.Nm \"${name//./ }\"/" "$page" >"$dir/${name//./-}.1"
done
