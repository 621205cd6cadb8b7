#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make install PREFIX=... into a scratch prefix: the installed emulator
finds the module (no QEMU_MODULE_DIR) and its firmware (no -L), and
query-fph-stats answers.  TAP on stdout.

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
    print("1..1")
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
    if stats["enabled"] and stats["device-present"]:
        print("ok 1 installed emulator loads the module and answers "
              "query-fph-stats")
        return 0
    print(f"# {stats}")
    print("not ok 1 installed emulator: query-fph-stats not enabled")
    return 1


if __name__ == "__main__":
    sys.exit(main())
