#!/usr/bin/env bash
# The end-to-end tier (run under libvirt-env.sh, with CARAVAN_BIN and CARAVAN_E2E_BOX
# set): makes or reuses the test box's warm state (warm-home.sh), so that suites
# whose subject is not booting restore their guests in seconds, then runs the
# EndToEndTests, after clearing what a killed earlier run left (e2e-leftovers.sh).
# When no warm state can be made, it says so and the suites boot cold. At the end it
# says what the tier's guests cost.
# usage: e2e.sh [SWIFT TEST ARGS…]   (default: every end-to-end suite)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/e2e-leftovers.sh"
if home=$("$top/scripts/phase.sh" e2e.warm-state "$top/scripts/warm-home.sh" "$CARAVAN_BIN" "$CARAVAN_E2E_BOX" | tail -n 1) \
  && [ -d "$home" ]; then
  export CARAVAN_E2E_WARM_HOME=$home
  echo "==> e2e: suites that do not test booting start from the warm state in $home"
else
  export CARAVAN_E2E_WARM_HOME=
  echo "==> e2e: no warm state could be made (above); every suite boots cold"
fi
[ $# -gt 0 ] || set -- --filter EndToEndTests
# What the guests cost (scripts/guest-usage.py): guest-seconds, their CPU time, how
# busy the host was, and the guests that cost most, printed at the end.
mkdir -p "$top/out"
"$top/scripts/guest-usage.py" 2 "$top/out/guest-usage.txt" &
sampler=$!
swift test --skip-build "$@"
status=$?
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
exit "$status"
