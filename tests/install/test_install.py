#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make install PREFIX=... into a scratch prefix: the installed emulator
finds the module (no QEMU_MODULE_DIR) and its firmware (no -L),
query-fph-stats answers, and -device help lists the module's device
before anything loaded it.  TAP on stdout.

usage: test_install.py BUILDDIR
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

try:
    from qemu.machine import QEMUMachine
except ImportError:
    sys.exit("test_install: QEMU's python/qemu is not importable; set "
             "PYTHONPATH=$QEMU_SRC/python (QEMU_SRC from build/qemu.env)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> int:
    build = sys.argv[1]
    print("1..2")
    with tempfile.TemporaryDirectory(prefix="fph-install-") as prefix:
        subprocess.run([os.path.join(ROOT, "scripts/install.sh"), build, prefix],
                       check=True, stdout=sys.stderr)
        # The installed emulator must find its module dir by itself.
        os.environ.pop("QEMU_MODULE_DIR", None)
        vm = QEMUMachine(os.path.join(prefix, "bin/qemu-system-x86_64"),
                         args=["-M", "q35", "-accel", "tcg", "-nodefaults",
                               "-object", "free-page-hint,id=fph0"],
                         base_temp_dir=prefix)
        try:
            vm.launch()
            stats = vm.cmd("query-fph-stats")
        except Exception as e:  # noqa: BLE001 - report as a TAP failure
            print(f"# {e}\n# {vm.get_log()}".replace("\n", "\n# "))
            print("not ok 1 installed emulator loads the module")
            return 1
        finally:
            vm.shutdown()
        listing = subprocess.run(
            [os.path.join(prefix, "bin/qemu-system-x86_64"), "-M", "none",
             "-device", "help"], capture_output=True, text=True, check=False)
    rc = 0
    if stats["enabled"] and stats["device-present"]:
        print("ok 1 installed emulator loads the module and answers "
              "query-fph-stats")
    else:
        print(f"# {stats}")
        print("not ok 1 installed emulator: query-fph-stats not enabled")
        rc = 1
    if listing.returncode == 0 and 'name "virtio-fph-pci"' in listing.stdout:
        print("ok 2 -device help lists virtio-fph-pci from the module dir")
    else:
        print(f"# rc {listing.returncode}: {listing.stderr.strip()}")
        print("not ok 2 -device help does not list virtio-fph-pci")
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
