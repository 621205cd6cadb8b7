#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run inside the package test's chroot (tests/package/run.sh): start the
installed emulator as a user does (emulator_check.py: the default NIC and
virtio-net, their boot ROMs found; -object free-page-hint,help), then
migrate the busybox guest, with a virtio-net card, with it and the
DKMS-built driver.

usage: migrate.py QEMU IMAGE_DIR

QEMU is /opt/fph/bin/qemu-system-x86_64 as fph-qemu installs it: no
QEMU_MODULE_DIR, no -L, so it must find its module and firmware by itself.
Prints TAP line 3; exit 0 if it passed.
"""

from __future__ import annotations

import os
import sys

import emulator_check as E
import scenario as S


def main() -> int:
    qemu, image = sys.argv[1:3]
    os.environ.pop("QEMU_MODULE_DIR", None)
    name = ("the installed emulator starts with the default NIC and with "
            "-nic user,model=virtio-net-pci, lists -object free-page-hint,"
            "help, migrates with a virtio-net card and the DKMS driver")
    print(f"# firmware directories: {' '.join(E.firmware_dirs(qemu))}")
    problems = E.start_nics(qemu) + E.object_help(qemu)
    for p in problems:
        print(f"# {p}".replace("\n", "\n# "))
    try:
        res = S.run(qemu, image, "package", True,
                    prepare=["fph-workload fill 128", "fph-workload dirty 400"],
                    after=["fph-workload verify"], log=lambda m: print(f"# {m}"),
                    extra=["-nic", "user,model=virtio-net-pci"])
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
          and verify.get("bad") == "0" and int(verify.get("pages", 0)) == 32768
          and not problems)
    print(f"{'ok' if ok else 'not ok'} 3 {name}: skipped free pages, "
          f"pattern intact")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
