#!/usr/bin/env bash
# The walking skeleton, by hand: add the box, bring up examples/hello, look at
# it, halt, boot again, destroy. Uses a throw-away CARAVAN_HOME and project copy.
# usage: demo.sh CARAVAN BOXFILE
set -euo pipefail
caravan=${1:?usage: demo.sh CARAVAN BOXFILE}
box=${2:?usage: demo.sh CARAVAN BOXFILE}
source "$(dirname "$0")/../scripts/sandbox.sh"
run() { echo; echo "\$ $*"; "$@"; }

run "$caravan" box add caravan/debian-12 "$box"
run "$caravan" box list
cd "$work/hello"
run "$caravan" up
run "$caravan" status
run "$caravan" ssh -c 'cat /etc/caravan-hello; uname -a'
run "$caravan" halt
run "$caravan" status
run "$caravan" up
run "$caravan" ssh -c 'wc -l < /var/tmp/caravan-provision-count'
run "$caravan" destroy -f
run "$caravan" status
run "$caravan" box remove caravan/debian-12
