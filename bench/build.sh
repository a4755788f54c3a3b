#!/usr/bin/env bash
# bench/build.sh CARAVAN FIXTURES: `caravan build` from nothing to a .box, timed per
# step from the build's own step lines (==> [mm:ss] step: …):
#  1. the rootfs build of boxes/debian-12 (mmdebstrap from the mirror, no VM);
#  2. the installer-strategy build with the controlled installer of Tests/Fixtures/installer
#     (kernel and initrd from FIXTURES, its root file system served by the build's HTTP server).
# For 2 it prints Caravan's own share: the build's time minus the guest's (the install from
# kernel boot to power-off, the installed disk's boot to SSH, postinstall, shutdown).
# Needs root and libvirtd (run through scripts/libvirt-env.sh, as `make bench` does).
set -euo pipefail
caravan=${1:?usage: bench/build.sh CARAVAN FIXTURES}
fixtures=${2:?usage: bench/build.sh CARAVAN FIXTURES}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /var/tmp/caravan-bench-build.XXXXXX)
trap 'rm -rf "$work"' EXIT

seconds() { awk -F'[][:]' '/^==> \[/ {print $2*60+$3; exit}' <<<"$1"; }
steps() {  # the build's output: each step line's time, and the duration until the next
  awk '/^==> \[[0-9]+:[0-9]+\]/ { split(substr($2,2,5), t, ":"); s = t[1]*60 + t[2];
         if (n) printf "  %5ds  %s\n", s - last, line; last = s; line = substr($0, 13); n++ }
       END { printf "  total %ds\n", last }' <<<"$1"
}
at() {  # seconds at the first step line matching $2
  awk -v pat="$2" '/^==> \[/ && index($0, pat) { split(substr($2,2,5), t, ":"); print t[1]*60 + t[2]; exit }' <<<"$1"
}

echo "==> rootfs: caravan build boxes/debian-12"
start=$(date +%s.%N)
out=$("$caravan" build "$top/boxes/debian-12" --force --var output="$work/rootfs.box" --var catalog="$work/rootfs.json")
rootfs=$(echo "$(date +%s.%N) - $start" | bc)
steps "$out"
printf "rootfs build: %.1f s (goal < 120 s)\n\n" "$rootfs"

mkdir -p "$work/installer"
cat > "$work/installer/answers.cfg" <<'ANSWERS'
d-i caravan/rootfs string http://{{ http_ip }}:{{ http_port }}/rootfs.tar
d-i caravan/hostname string {{ hostname }}
d-i caravan/poweroff boolean true
ANSWERS
cat > "$work/installer/Boxfile" <<BOXFILE
build "bench/installer", version: "1.0" {
  strategy installer
  from kernel: "$fixtures/vmlinuz", initrd: "$fixtures/initrd.gz"
  template "answers.cfg", as: "preseed.cfg"
  http_dir "$fixtures"
  kernel_args "preseed/file=/preseed.cfg"
  memory 1GiB
  disk 3GiB
  postinstall shell, inline: "true"
  output "$work/installer.box", compress: true
  timeout 30m
}
BOXFILE
echo "==> installer: the controlled installer"
start=$(date +%s.%N)
out=$("$caravan" build "$work/installer" --force | grep -v '^    ')
total=$(echo "$(date +%s.%N) - $start" | bc)
steps "$out"
boot=$(at "$out" "booting the installer kernel")
off=$(at "$out" "the installer powered off")
ssh_wait=$(at "$out" "waiting for SSH")
ssh_up=$(at "$out" "SSH is up")
shutdown=$(at "$out" "powering the build VM off")
compact=$(at "$out" "compact:")
guest=$(( (off - boot) + (ssh_up - ssh_wait) + (compact - shutdown) ))
own=$(echo "$total - $guest" | bc)
printf "installer build: %.1f s; the guest's own time %d s (install %d s, boot to SSH %d s, shutdown %d s)\n" \
  "$total" "$guest" $((off - boot)) $((ssh_up - ssh_wait)) $((compact - shutdown))
printf "Caravan's own share: %.1f s = %.1f %% (goal < 5 %%)\n" \
  "$own" "$(echo "100 * $own / $total" | bc -l)"
