#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Long soak: one guest migrates N times in a row with fph while churn
allocates, writes, verifies and frees memory; after every hop the resident
pattern and every churn checksum are verified on the destination.

usage: soak.py QEMU IMAGE_DIR [--hops N]     (documented in docs/reliability.md)
"""

from __future__ import annotations

import argparse
import time

import guestctl
import test_faults as F
import vm as V


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("qemu")
    ap.add_argument("image")
    ap.add_argument("--hops", type=int, default=20)
    args = ap.parse_args()

    s = F.Setup(args.qemu, args.image)
    passed = failed = 0
    skipped_total = 0
    t0 = time.monotonic()
    try:
        here, guest = s.src, s.guest
        guest.check("fph-workload churn 64")
        for hop in range(1, args.hops + 1):
            time.sleep(1)           # let churn run on this side
            there, uri = s.destination(f"hop{hop}")
            info = V.migrate(here, there, uri, F.FAST)
            st = here.stats()
            F.assert_idle(here)
            here.kill()
            s.vms.remove(here)
            guest = there.connect_guest(False)
            out = guest.check("fph-workload verify; fph-workload churn-status",
                              timeout=120)
            verify = guestctl.parse_kv(out, "verify")
            churn = guestctl.parse_kv(out, "churn")
            ok = verify.get("bad") == "0" and churn.get("bad") == "0"
            skipped_total += st["pages-skipped"]
            print(f"hop {hop:2d}: {info['ram']['transferred'] >> 20:5d} MiB, "
                  f"skipped {st['pages-skipped']:7d} pages, churn "
                  f"iterations {churn.get('iterations')}, verify "
                  f"bad={verify.get('bad')} churn bad={churn.get('bad')} "
                  f"{'ok' if ok else 'FAIL'}", flush=True)
            passed += ok
            failed += not ok
            here = there
    finally:
        s.close()
    print(f"soak: {args.hops} hops in {time.monotonic() - t0:.0f} s, "
          f"{skipped_total} pages skipped in all")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed != args.hops else 0


if __name__ == "__main__":
    raise SystemExit(main())
