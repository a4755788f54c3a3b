#!/usr/bin/env bash
# `caravan package` of a machine whose disk is full of data against `qemu-img convert -c` (zstd
# qcow2, what `package` itself runs) of that machine's disk, in one run, alternating, `runs` times
# each (default 1), both on the same halted machine. Goal: at most 1.3x.
# The machine: the box's 4 GiB root disk (the test box has no growpart, so a `disk` line would
# not grow its file system), the OS's own ~0.75 GiB plus SIZE_GIB GiB (default 4) of data in
# /var/tmp, reduced to what fits (printed): a quarter /dev/urandom (incompressible, as packages
# and media are), the rest a tar of /usr and copies of it (binaries, libraries and text, which
# zstd shrinks to about a third); writing it takes about 1.5 minutes under TCG.
# `package` boots a copy of the disk, cleans it over SSH, powers it off and writes the box;
# from its --events this prints where its time went: the copy's start, its boot to SSH, the
# cleaning with the power-off, and the write (qemu-img convert, the tar, the sha256) beside
# qemu-img alone. Also the sizes of both outputs. Before the runs both the machine's disk and
# the box's image under it are read once, so every run starts with them in the page cache.
# usage: package.sh CARAVAN BOXFILE [RUNS] [SIZE_GIB] (as root, libvirtd running: scripts/libvirt-env.sh)
set -euo pipefail
caravan=${1:?usage: package.sh CARAVAN BOXFILE [RUNS] [SIZE_GIB]}
box=${2:?usage: package.sh CARAVAN BOXFILE [RUNS] [SIZE_GIB]}
runs=${3:-1}
size_gib=${4:-4}
uri=qemu:///system
work=$(mktemp -d /var/tmp/caravan-package.XXXXXX)
export CARAVAN_HOME="$work/home" CARAVAN_NAT_RESTRICT=1
project="$work/bench-package"
cleanup() {
  if [ -d "$project" ]; then (cd "$project" && "$caravan" destroy -f >/dev/null 2>&1) || true; fi
  "$caravan" box remove bench/pkg --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
mib() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 2**20:.0f}')" "$1"; }

"$caravan" box add bench/pkg "$box" >/dev/null
mkdir -p "$project"
cd "$project"
cat >Machinefile <<'MF'
box "bench/pkg"
memory 768MiB
cpus 1
libvirt { accel tcg }
boot_timeout 10m
MF
start=$(now)
"$caravan" up --no-provision >"$work/up.log" 2>&1 || { tail -5 "$work/up.log" >&2; exit 1; }
echo "up: $(seconds "$start" "$(now)") s"

# The fill: SIZE_GIB GiB, or what fits in the root file system's free space less 256 MiB.
read -r fs_kib used_kib avail_kib < <("$caravan" ssh -c 'df -Pk /' | awk 'NR == 2 {print $2, $3, $4}')
fill_mib=$((size_gib * 1024))
fit_mib=$((avail_kib / 1024 - 256))
if [ "$fill_mib" -gt "$fit_mib" ]; then
  echo "root file system: $((fs_kib / 1024)) MiB, $((used_kib / 1024)) MiB in use: $size_gib GiB does not fit; filling $fit_mib MiB"
  fill_mib=$fit_mib
fi
random_mib=$((fill_mib / 4))
fill="set -e; cd /var/tmp; dd if=/dev/urandom of=fill.random bs=1M count=$random_mib status=none;
tar -cf fill.tar -C / usr 2>/dev/null || [ \$? -eq 1 ]; want=$((fill_mib - random_mib));
have=\$((\$(stat -c %s fill.tar) / 1048576)); [ \$have -gt 0 ]; if [ \$have -gt \$want ]; then truncate -s \${want}M fill.tar; have=\$want; fi;
left=\$((want - have)); i=1; while [ \$left -gt 0 ]; do n=\$have; [ \$n -le \$left ] || n=\$left;
head -c \${n}M fill.tar >fill.\$i; left=\$((left - n)); i=\$((i + 1)); done; sync; df -Pk / | tail -n 1"
start=$(now)
in_use_kib=$("$caravan" ssh -c "sudo sh -c '$fill'" | awk '{print $3}')
echo "fill: $fill_mib MiB ($random_mib MiB random, the rest a tar of /usr and copies) in $(seconds "$start" "$(now)") s;" \
  "$((in_use_kib / 1024)) MiB in use on the root file system"
"$caravan" halt >/dev/null
"$caravan" status | grep -q poweroff || { echo "bench: the machine did not halt" >&2; exit 1; }
domain=$("$caravan" status | sed -n 's/.*(\(.*\)).*/\1/p')
disk=$(virsh -c $uri vol-path --pool caravan "$domain.qcow2")
backing=$(qemu-img info --output=json "$disk" | python3 -c 'import json,sys; i=json.load(sys.stdin); print(i.get("full-backing-filename", i["backing-filename"]))')
read -r virtual overlay_bytes < <(qemu-img info --output=json "$disk" |
  python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["virtual-size"], i["actual-size"])')
echo "disk: $(mib "$virtual") MiB virtual; the machine's overlay $(mib "$overlay_bytes") MiB over the box's image" \
  "$(mib "$(stat -c %s "$backing")") MiB"
cat "$disk" "$backing" >/dev/null

declare -a caravan_s=() qemu_s=()
for run in $(seq 1 "$runs"); do
  rm -f "$work/out.box" "$work/out.json" "$work/plain.qcow2"
  start=$(now)
  "$caravan" package --output "$work/out.box" --box-version "$run" --events "$work/package$run.jsonl" \
    >"$work/package$run.log" 2>&1 || { tail -5 "$work/package$run.log" >&2; exit 1; }
  caravan_s+=("$(seconds "$start" "$(now)")")
  start=$(now)
  qemu-img convert -O qcow2 -c -o compression_type=zstd -f qcow2 "$disk" "$work/plain.qcow2"
  qemu_s+=("$(seconds "$start" "$(now)")")
done
box_bytes=$(stat -c %s "$work/out.box")
plain_bytes=$(stat -c %s "$work/plain.qcow2")
python3 - "$work" "$runs" "${caravan_s[*]}" "${qemu_s[*]}" "$box_bytes" "$plain_bytes" <<'PY'
import json, sys
from datetime import datetime
work, runs = sys.argv[1], int(sys.argv[2])
caravan = [float(x) for x in sys.argv[3].split()]
qemu = [float(x) for x in sys.argv[4].split()]
box_bytes, plain_bytes = int(sys.argv[5]), int(sys.argv[6])
mean = lambda v: sum(v) / len(v)
parse = lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
def split(run):
    """Seconds of each part of one `package`, from its events."""
    at, took = {}, {}
    for line in open(f"{work}/package{run}.jsonl"):
        e = json.loads(line)
        at[(e["step"], e["phase"])] = parse(e["time"])
        if "duration_s" in e:
            took[e["step"]] = e["duration_s"]
    gap = lambda a, b: (at[b] - at[a]).total_seconds()
    return {
        "the copy's start (overlay, define, start)": gap(("package", "start"), ("package_copy", "end")),
        "its boot to SSH": gap(("package_copy", "end"), ("package_clean", "start")),
        "cleaning it and its power-off": took["package_clean"],
        "the write (qemu-img convert, tar, sha256)": took["package_write"],
    }
parts = [split(run) for run in range(1, runs + 1)]
c, q = mean(caravan), mean(qemu)
fmt = lambda v: " ".join(f"{x:.1f}" for x in v)
print(f"caravan package: {c:.1f} s ({fmt(caravan)}); qemu-img convert -c (zstd): {q:.1f} s ({fmt(qemu)}): "
      f"{c / q:.2f}x (goal <= 1.3x)")
print("where package's time went (mean of the runs):")
for name in parts[0]:
    print(f"  {name}: {mean([p[name] for p in parts]):.1f} s")
write = mean([p["the write (qemu-img convert, tar, sha256)"] for p in parts])
print(f"  its write alone against qemu-img alone: {write / q:.2f}x")
print(f"sizes: the .box {box_bytes / 2**20:.0f} MiB, qemu-img's qcow2 {plain_bytes / 2**20:.0f} MiB "
      f"({box_bytes / plain_bytes:.3f}x)")
PY
