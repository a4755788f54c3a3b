#!/usr/bin/env bash
# Clears what an earlier, killed end-to-end run left behind, identified by that
# run's own marks, so the next run does not trip over it. Every mark ends in the
# pid of the test process that made it, and only marks whose process is gone
# count (a run going on beside this one keeps everything):
#   - domains on qemu:///system whose description names a project under
#     /tmp/caravan-e2e-NAME-PID/ (a harness's folder): destroyed and undefined with
#     their saved memory, snapshot metadata and disks;
#   - users caravan-e2e-PID (the rootless suite's): their processes (session
#     daemons, guests) stopped, the account and its home (its pool) removed;
#   - network namespaces caravan-e2e-PID and cvrmPID with their daemons and state
#     (scripts/netns-libvirt.sh stop);
#   - the harness folders /tmp/caravan-e2e-NAME-PID;
#   - key copies in the shared warm homes (/var/tmp/caravan-test/warm-home-*/keys/machines)
#     of domains libvirt no longer has.
# Run with libvirtd up (under libvirt-env.sh), as root. Says what it removed.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
gone() { [ -n "$1" ] && ! kill -0 "$1" 2>/dev/null; }
said=0
say() { echo "==> e2e-leftovers: $*"; said=1; }
v() { timeout 60 virsh -q -c qemu:///system "$@"; }

for domain in $(v list --all --name 2>/dev/null); do
  description=$(v desc "$domain" 2>/dev/null) || continue
  [[ $description =~ /tmp/caravan-e2e-[A-Za-z0-9_.-]*-([0-9]+)/ ]] || continue
  gone "${BASH_REMATCH[1]}" || continue
  v destroy "$domain" >/dev/null 2>&1
  v undefine "$domain" --managed-save --snapshots-metadata --nvram --tpm --remove-all-storage >/dev/null 2>&1 \
    || v undefine "$domain" --managed-save --snapshots-metadata --remove-all-storage >/dev/null 2>&1 \
    || v undefine "$domain" --managed-save --snapshots-metadata >/dev/null 2>&1
  say "removed domain $domain (of a run whose process ${BASH_REMATCH[1]} is gone)"
done

# Key copies a removed domain left in the shared warm homes (their project folders, and so
# their domain names, are the same in every run): those of no domain, older than 10 minutes
# (a run beside this one makes its copy a moment before its domain).
domains=" $(v list --all --name 2>/dev/null | tr '\n' ' ') "
for copy in $(find /var/tmp/caravan-test/warm-home-*/keys/machines -mindepth 1 -maxdepth 1 -name 'caravan-*' \
  -mmin +10 2>/dev/null); do
  [[ $domains == *" ${copy##*/} "* ]] && continue
  rm -rf "$copy"
  say "removed the key copy $copy (libvirt has no domain ${copy##*/})"
done

while IFS=: read -r user _ uid _ _ home _; do
  [[ $user =~ ^caravan-e2e-([0-9]+)$ ]] || continue
  gone "${BASH_REMATCH[1]}" || continue
  for signal in TERM KILL; do
    pkill "-$signal" -u "$uid" 2>/dev/null
    for _ in $(seq 1 50); do pgrep -u "$uid" >/dev/null || break; sleep 0.2; done
  done
  userdel -r "$user" >/dev/null 2>&1 || userdel "$user"
  [[ $home == /home/caravan-e2e-* ]] && rm -rf "$home"
  say "removed user $user, its processes and its home"
done < /etc/passwd

for ns in $(ip netns list 2>/dev/null | cut -d' ' -f1); do
  [[ $ns =~ ^(caravan-e2e-|cvrm)([0-9]+)$ ]] || continue
  gone "${BASH_REMATCH[2]}" || continue
  "$top/scripts/netns-libvirt.sh" stop "$ns" >/dev/null 2>&1
  say "removed network namespace $ns and its daemons"
done

for folder in /tmp/caravan-e2e-*-[0-9]*; do
  [ -d "$folder" ] || continue
  [[ $folder =~ -([0-9]+)$ ]] || continue
  gone "${BASH_REMATCH[1]}" || continue
  rm -rf "$folder"
  say "removed $folder"
done
[ "$said" = 1 ] || echo "==> e2e-leftovers: nothing left by an earlier run"
exit 0
