#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""make demo: boot a guest, dirty and free memory, migrate it without and
with fph, and print the two side by side.

usage: demo.py QEMU IMAGE_DIR [--mib N]
"""

from __future__ import annotations

import argparse

import scenario as S


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("qemu")
    ap.add_argument("image")
    ap.add_argument("--mib", type=int, default=700,
                    help="MiB the guest writes and frees before migrating")
    args = ap.parse_args()

    prep = [f"fph-workload dirty {args.mib}"]
    runs = []
    for fph in (False, True):
        label = "fph" if fph else "default"
        print(f"demo: 1 GiB guest writes and frees {args.mib} MiB, "
              f"migrating ({label})...", flush=True)
        runs.append(S.run(args.qemu, args.image, "demo", fph, prep,
                          after=["fph-workload meminfo"]))
    base, fph = runs
    rows = [
        ("transferred", S.mib(base.transferred), S.mib(fph.transferred)),
        ("non-zero pages sent", str(base.normal), str(fph.normal)),
        ("zero pages sent", str(base.duplicate), str(fph.duplicate)),
        ("total time", f"{base.total_time_ms} ms", f"{fph.total_time_ms} ms"),
        ("downtime", f"{base.downtime_ms} ms", f"{fph.downtime_ms} ms"),
        ("pages skipped", "-", str(fph.pages_skipped)),
        ("guest used (MemTotal-MemFree)", S.mib(base.used_bytes),
         S.mib(fph.used_bytes)),
        ("not free (RAM-MemFree)", S.mib(base.unfree_bytes),
         S.mib(fph.unfree_bytes)),
    ]
    w = max(len(r[0]) for r in rows)
    print()
    print(f"{'':{w}}  {'default QEMU':>14}  {'fph':>14}")
    for name, a, b in rows:
        print(f"{name:{w}}  {a:>14}  {b:>14}")
    print(f"\nfph sent {fph.transferred / base.transferred:.1%} of the "
          f"default's bytes; the guest came up on the destination: "
          f"{fph.verify.split()[0] if fph.verify else '?'} ok")
    return 0 if fph.transferred < base.transferred else 1


if __name__ == "__main__":
    raise SystemExit(main())
