#!/usr/bin/env python3
"""The module map as a check (run by `make lint`): each layer depends only on
layers below it, Core and everything under it link no libvirt, and each C
module is imported by exactly one Swift module, with `internal import`."""
import json, pathlib, re, subprocess, sys

root = pathlib.Path(__file__).resolve().parent.parent
described = json.loads(subprocess.run(
    ["swift", "package", "describe", "--type", "json"], cwd=root, check=True,
    capture_output=True, text=True).stdout)
deps = {t["name"]: set(t.get("target_dependencies", [])) for t in described["targets"]}

def closure(name):
    seen, todo = set(), [name]
    while todo:
        for dep in deps.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen

# Lowest first; a module may depend only on modules before it.
layers = ["Support", "Spec", "CLibvirt", "Libvirt", "Machinefile", "VagrantImport", "CCurl", "CArchive", "Boxes", "Host", "Core",
          "LibvirtDriver", "SSH", "Provisioning", "Builder", "CaravanCommands", "caravan"]
problems = []
for index, name in enumerate(layers):
    for dep in deps.get(name, ()):
        if dep in layers and layers.index(dep) >= index:
            problems.append(f"{name} depends on {dep}, which is not below it")
for name in ["Support", "Spec", "Machinefile", "VagrantImport", "Boxes", "Host", "Core", "SSH", "Provisioning", "CoreTests"]:
    linked = closure(name) & {"Libvirt", "CLibvirt"}
    if linked:
        problems.append(f"{name} links libvirt through {sorted(linked)}")

importers = {}
for path in (root / "Sources").rglob("*.swift"):
    module = path.relative_to(root / "Sources").parts[0]
    for line in path.read_text().splitlines():
        match = re.match(r"^(internal |public |package |@_implementationOnly )?import (\w+)$", line)
        if not match:
            continue
        access, imported = match.group(1) or "", match.group(2)
        importers.setdefault(imported, set()).add(module)
        if imported in {"CLibvirt", "CCurl", "CArchive", "Crypto", "Subprocess"} and access.strip() != "internal":
            problems.append(f"{path.relative_to(root)}: `import {imported}` should be `internal import {imported}`")
for c_module, owner in [("CLibvirt", "Libvirt"), ("CCurl", "Boxes"), ("CArchive", "Boxes")]:
    if importers.get(c_module, set()) - {owner}:
        problems.append(f"{c_module} is imported by {sorted(importers[c_module])}, only {owner} may")
if importers.get("Libvirt", set()) - {"LibvirtDriver"}:
    problems.append(f"Libvirt is imported by {sorted(importers['Libvirt'])}, only LibvirtDriver may")

for problem in problems:
    print(f"layers: {problem}", file=sys.stderr)
print(f"layers: {'%d problem(s)' % len(problems) if problems else 'ok'} ({len(layers)} modules checked)")
sys.exit(1 if problems else 0)
