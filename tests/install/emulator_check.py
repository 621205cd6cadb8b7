# SPDX-License-Identifier: GPL-2.0-or-later
"""The patched emulator started as a user starts it, wherever it lives:
build/fph-qemu, `make install`'s tree, the fph-qemu package.

  firmware_dirs(QEMU)  where it looks for firmware (-L help, resolved)
  start_nics(QEMU)     starts a q35 VM with fph with the default NIC, then
                       with -nic user,model=virtio-net-pci: each NIC's
                       boot ROM must be found (QEMU refuses to start
                       without it) and loaded (the device's ROM BAR)
  object_help(QEMU)    -object free-page-hint,help lists every option
                       with its description and defaults

The last two return a list of problems (empty: passed).  test_install.py
imports it, and tests/package/migrate.py in the package test's chroot.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

try:
    from qemu.machine import QEMUMachine
except ImportError:
    sys.exit("emulator_check: QEMU's python/qemu is not importable; set "
             "PYTHONPATH=$QEMU_SRC/python (QEMU_SRC from build/qemu.env)")

# -nic argument -> (what, PCI vendor, PCI device): q35's default NIC is an
# e1000e; virtio-net-pci on pcie.0 is the transitional device.
NICS = [
    ([], ("default NIC (e1000e, efi-e1000e.rom)", 0x8086, 0x10d3)),
    (["-nic", "user,model=virtio-net-pci"],
     ("-nic user,model=virtio-net-pci (efi-virtio.rom)", 0x1af4, 0x1000)),
]
PCI_ROM_SLOT = 6

# Every option of -object free-page-hint, and what its help line must
# say besides a description (the defaults).
OPTIONS = {
    "max-ranges": "default 4096",
    "reclaim": "default 0",
    "reclaim-timeout": "default 10000",
    "bus": "",
    "addr": "",
    "plug": "default on",
}


def firmware_dirs(qemu: str) -> list[str]:
    """The directories QEMU searches for firmware, resolved, in order:
    -L help without its last line (QEMU's own data directory, relative
    to the binary, which this project leaves empty)."""
    out = subprocess.run([qemu, "-L", "help"], capture_output=True,
                         text=True, check=True).stdout.split()
    return [os.path.realpath(d) for d in out[:-1]]


def _nic_rom(vm: QEMUMachine, vendor: int, device: int) -> str | None:
    """None if the NIC is there with its ROM loaded, else what is wrong."""
    for bus in vm.cmd("query-pci"):
        for dev in bus["devices"]:
            if (dev["id"]["vendor"], dev["id"]["device"]) != (vendor, device):
                continue
            bars = {r["bar"]: r["size"] for r in dev["regions"]}
            if bars.get(PCI_ROM_SLOT, 0) > 0:
                return None
            return f"NIC {vendor:04x}:{device:04x} has no ROM BAR: {bars}"
    return f"no NIC {vendor:04x}:{device:04x} in query-pci"


def start_nics(qemu: str) -> list[str]:
    problems = []
    with tempfile.TemporaryDirectory(prefix="fph-nic-") as tmp:
        for nic, (what, vendor, device) in NICS:
            vm = QEMUMachine(qemu, args=["-M", "q35", "-accel", "tcg",
                                         "-m", "256M", *nic, "-object",
                                         "free-page-hint,id=fph0"],
                             base_temp_dir=tmp)
            try:
                vm.launch()
                rom = _nic_rom(vm, vendor, device)
                stats = vm.cmd("query-fph-stats")
                if rom:
                    problems.append(f"{what}: {rom}")
                if not stats["device-present"]:
                    problems.append(f"{what}: no virtio-fph device: {stats}")
            except Exception as e:  # noqa: BLE001 - reported as a problem
                log = (vm.get_log() or "").strip()
                problems.append(f"{what}: {e}: {log}")
            finally:
                vm.shutdown()
    return problems


def object_help(qemu: str) -> list[str]:
    r = subprocess.run([qemu, "-object", "free-page-hint,help"],
                       capture_output=True, text=True, check=False)
    out = r.stdout
    if r.returncode != 0 or not out.startswith("free-page-hint options:"):
        return [f"-object free-page-hint,help: rc {r.returncode}: "
                f"{(out + r.stderr).strip()}"]
    # "  name=<type>  - description", one line each (object_property_help)
    lines = {}
    for line in out.splitlines()[1:]:
        name, _, rest = line.strip().partition("=")
        lines[name] = rest
    problems = []
    for name, default in OPTIONS.items():
        typ, sep, desc = lines.pop(name, "").partition(" - ")
        if not typ.startswith("<") or not sep or not desc.strip():
            problems.append(f"{name}: no description: {typ}{sep}{desc}")
        elif default not in desc:
            problems.append(f"{name}: no '{default}' in: {desc}")
    if lines:
        problems.append(f"options the test does not know: {sorted(lines)}")
    return problems
