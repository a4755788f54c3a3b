# Sourced by scripts/demo.sh and bench/status.sh: a throw-away CARAVAN_HOME and
# a copy of examples/hello in $work/hello; on exit the machine is destroyed,
# the box removed and the folder deleted. Needs $caravan set.
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d /tmp/caravan-sandbox.XXXXXX)
export CARAVAN_HOME="$work/home" CARAVAN_NAT_RESTRICT=1
cp -r "$top/examples/hello" "$work/hello"
sandbox_cleanup() {
  (cd "$work/hello" && "$caravan" destroy -f >/dev/null 2>&1 || true)
  "$caravan" box remove caravan/debian-12 >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap sandbox_cleanup EXIT
