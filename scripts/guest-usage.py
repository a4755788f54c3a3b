#!/usr/bin/env python3
"""What the guests of a test tier cost: samples every QEMU process (every user and
namespace) every INTERVAL seconds until SIGTERM or SIGINT, then prints the guest-seconds
(the sum over guests of their running time), the guests' CPU time, how busy the host's
CPUs were, and the guests that cost most, by name (a machine's domain name carries its
project's folder name, so the names say which test ran them).

usage: guest-usage.py [INTERVAL [LIST]]   (run it in the background; stop it with kill)
LIST, when given, is a file that gets every guest, not only the costliest.
"""
import os
import signal
import sys
import time

interval = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
full_list = sys.argv[2] if len(sys.argv) > 2 else None
ticks = os.sysconf("SC_CLK_TCK")
guests = {}  # pid -> [name, first seen, last seen, cpu ticks at first sight, cpu ticks now]
samples = []  # guests running at each sample
stopping = False


def host_times():
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields), idle


def qemus():
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            if not args or not args[0].endswith(b"qemu-system-x86_64"):
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = int(fields[11]) + int(fields[12])
        except OSError:
            continue
        name = "?"
        for arg in args:
            if arg.startswith(b"guest="):
                name = arg[6:].split(b",")[0].decode(errors="replace")
        yield int(pid), name, cpu


def stop(*_):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
start_total, start_idle = host_times()
started = time.monotonic()
while not stopping:
    now = time.monotonic()
    seen = 0
    for pid, name, cpu in qemus():
        seen += 1
        # A QEMU that started during the run: all its CPU time is the run's.
        entry = guests.setdefault(pid, [name, now, now, cpu if not samples else 0, cpu])
        entry[2], entry[4] = now, cpu
    samples.append(seen)
    time.sleep(interval)
total, idle = host_times()
wall = time.monotonic() - started
busy = 100.0 * (1 - (idle - start_idle) / max(1, total - start_total))
guest_seconds = sum(samples) * interval
cpu_seconds = sum((g[4] - g[3]) for g in guests.values()) / ticks
print(
    f"==> e2e: {guest_seconds:.0f} guest-seconds (QEMU processes counted every {interval:g} s), "
    f"at most {max(samples, default=0)} guests at once, {len(guests)} QEMU processes; "
    f"their CPU time {cpu_seconds:.0f} s; the host's CPUs {busy:.0f}% busy over {wall:.0f} s"
)
by_name = {}
for name, first, last, cpu0, cpu1 in guests.values():
    entry = by_name.setdefault(name, [0.0, 0.0, 0])
    entry[0] += last - first + interval
    entry[1] += (cpu1 - cpu0) / ticks
    entry[2] += 1
print("==> e2e: the guests that cost most (CPU s, running s, QEMU starts, domain):")
ranked = sorted(by_name.items(), key=lambda item: -item[1][1])
for name, (seconds, cpu, starts) in ranked[:15]:
    print(f"    {cpu:6.0f} {seconds:6.0f} {starts:3d}  {name}")
if full_list:
    with open(full_list, "w") as f:
        for name, (seconds, cpu, starts) in ranked:
            f.write(f"{cpu:6.0f} {seconds:6.0f} {starts:3d}  {name}\n")
    print(f"==> e2e: every guest's cost: {full_list}")
