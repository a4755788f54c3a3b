#!/bin/bash
# Break it as a laptop user: `up --warm` killed with SIGKILL at random instants as a normal
# user on qemu:///session, every second round followed by a hand power-off (`virsh destroy`);
# after each, one `up --warm` finishes the machine, `caravan ssh` gets in, the once-provisioner's
# file is there, and `destroy -f` leaves no domain, overlay or state in the user's session.
# Makes the user caravan-breakit (removed at the end, with its session daemons). Run as root.
# usage: breakit-rootless-warm.sh CARAVAN BOXFILE [ROUNDS]   (make breakit-rootless)
set -u
BIN=${1:?usage: breakit-rootless-warm.sh CARAVAN BOXFILE [ROUNDS]}; BOX=${2:?box file}; ROUNDS=${3:-6}
U=caravan-breakit
userdel -r $U >/dev/null 2>&1
useradd -m -s /bin/sh -G kvm $U || exit 1
H=/home/$U
cp "$BIN" $H/caravan; cp "$BOX" $H/test.box; mkdir -p $H/p; chown -R $U:$U $H
run() { runuser -u $U -- env -i HOME=$H USER=$U LOGNAME=$U PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 CARAVAN_HOME=$H/ch CARAVAN_NAT_RESTRICT=1 "$@"; }
cat > $H/p/Machinefile <<'MF'
box "test"
cpus 1
memory 768MiB
provision shell, name: "once", inline: "echo done > /home/vagrant/once"
MF
chown $U:$U $H/p/Machinefile
cd $H/p
run $H/caravan box add test $H/test.box || exit 1
run $H/caravan box warm test --memory 768MiB --cpus 1 || exit 1
fail=0
for i in $(seq 1 $ROUNDS); do
  delay=$(python3 -c "import random; print(round(random.uniform(0.3, 22), 1))")
  run $H/caravan up --warm > /tmp/breakit-up-$i.log 2>&1 &
  sleep $delay
  pkill -9 -u $U -x caravan
  wait
  last=$(tail -1 /tmp/breakit-up-$i.log)
  if [ $((i % 2)) = 0 ]; then
    dom=$(run virsh -c qemu:///session list --name | head -1)
    [ -n "$dom" ] && run virsh -c qemu:///session destroy "$dom" >/dev/null && echo "round $i: virsh destroy $dom"
  fi
  echo "round $i: killed at $delay s (last line: $last)"
  if ! run $H/caravan up --warm > /tmp/breakit-up2-$i.log 2>&1; then echo "round $i: UP FAILED"; tail -5 /tmp/breakit-up2-$i.log; fail=1; fi
  got=$(run $H/caravan ssh -c "cat /home/vagrant/once" 2>&1)
  [ "$got" = "done" ] || { echo "round $i: SSH/ONCE FAILED: $got"; fail=1; }
  seen=$(run virsh -c qemu:///session vol-list caravan 2>/dev/null | grep -c ' caravan-p-')
  [ "$seen" -ge 1 ] || { echo "round $i: the machine's disk was not seen in the pool (the check after destroy would be blind)"; fail=1; }
  run $H/caravan destroy -f > /tmp/breakit-destroy-$i.log 2>&1 || { echo "round $i: DESTROY FAILED"; fail=1; }
  doms=$(run virsh -c qemu:///session list --all --name | grep -v '^$' | grep -v warm)
  # The machine's disks are named after its domain (caravan-p-default-HASH.qcow2).
  vols=$(run virsh -c qemu:///session vol-list caravan 2>/dev/null | grep -c ' caravan-p-')
  left=$(ls -A $H/p/.caravan/machines 2>/dev/null)
  [ -z "$doms" ] && [ "$vols" = 0 ] && [ -z "$left" ] || { echo "round $i: LEFT doms=[$doms] disks=$vols state=[$left]"; fail=1; }
done
run $H/caravan box remove test --force > /dev/null 2>&1
run virsh -c qemu:///session list --all
for pidf in $(find $H/.cache/libvirt -maxdepth 1 -name '*.pid'); do kill $(cat $pidf) 2>/dev/null; done
sleep 2; pkill -9 -u $U; sleep 1
userdel -r $U
echo "breakit: fail=$fail"
