#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run inside the package test's chroot (tests/package/run.sh): migrate the
busybox guest with the installed emulator and the DKMS-built driver.

usage: migrate.py QEMU IMAGE_DIR

QEMU is /opt/fph/bin/qemu-system-x86_64 as fph-qemu installs it: no
QEMU_MODULE_DIR, no -L, so it must find its module and firmware by itself.
Prints the TAP line of the migration; exit 0 if it passed.
"""

from __future__ import annotations

import os
import sys

import scenario as S


def main() -> int:
    qemu, image = sys.argv[1:3]
    os.environ.pop("QEMU_MODULE_DIR", None)
    S.guestctl.FIRMWARE_DIRS = []   # the package's links must do
    name = "migration with the installed emulator and the DKMS driver"
    try:
        res = S.run(qemu, image, "package", True,
                    prepare=["fph-workload fill 128", "fph-workload dirty 400"],
                    after=["fph-workload verify"], log=lambda m: print(f"# {m}"))
    except Exception as e:  # noqa: BLE001 - report as a TAP failure
        print(f"# {e}".replace("\n", "\n# "))
        print(f"not ok 3 {name}")
        return 1
    st = res.fph_stats or {}
    verify = S.guestctl.parse_kv(res.verify, "verify")
    print(f"# sent {S.mib(res.transferred)} of {S.mib(res.ram_bytes)}, "
          f"skipped {S.mib(res.bytes_skipped)}, downtime {res.downtime_ms} ms, "
          f"verify {verify}")
    ok = (st.get("device-present") and res.pages_skipped > 0
          and res.transferred < res.ram_bytes // 2
          and verify.get("bad") == "0" and int(verify.get("pages", 0)) == 32768)
    print(f"{'ok' if ok else 'not ok'} 3 {name}: skipped free pages, "
          f"pattern intact")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
