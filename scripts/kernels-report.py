#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write docs/kernels.md from a tests/kernels/run.sh run.

usage: kernels-report.py KERNELS_OUT OUT.md

KERNELS_OUT is run.sh's $FPH_KERNELS_OUT: results.tsv (a line per kernel:
release, series, flavour, suite, where the driver was built, package
version, PASS/FAIL, the driver build's verdict, bound, freed-dirty MiB of
default QEMU and fph, pages verified, the guest's lock_hold_max_ns, why it
failed) and freed_dirty_smp.log (the SMP comparison, if it ran).  `make
check-kernels-all` runs it after run.sh on every series x flavour.
"""

from __future__ import annotations

import csv
import datetime
import os
import re
import subprocess
import sys

FIELDS = ["kver", "series", "flavour", "suite", "build", "version", "status",
          "driver", "bound", "default_mib", "fph_mib", "pages",
          "lock_hold_max_ns", "reason"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_results(path: str) -> list[dict[str, str]]:
    rows = []
    with open(path, newline="") as f:
        for rec in csv.reader(f, delimiter="\t"):
            if not rec or rec[0].startswith("#"):
                continue
            rec += ["-"] * (len(FIELDS) - len(rec))
            rows.append(dict(zip(FIELDS, rec)))
    return rows


def series_key(row: dict[str, str]) -> tuple:
    flav = {"amd64": 0, "cloud-amd64": 1, "rt-amd64": 2}
    try:
        series = tuple(int(x) for x in row["series"].split("."))
    except ValueError:
        series = (999,)
    return series, flav.get(row["flavour"], 9), row["kver"]


def cell(v: str) -> str:
    return "–" if v in ("", "-") else v.replace("|", "\\|")


def freed(row: dict[str, str]) -> str:
    d, f = row["default_mib"], row["fph_mib"]
    if "-" in (d, f):
        return "–"
    try:
        return f"{float(f):.1f} / {float(d):.1f} ({float(f) / float(d):.2f})"
    except (ValueError, ZeroDivisionError):
        return f"{f} / {d}"


def lock_hold(v: str) -> str:
    return "–" if not v.isdigit() else f"{int(v) / 1000:.0f} µs"


def smp_lines(path: str) -> list[str]:
    """The summary lines of freed_dirty_smp.py: "  smp N: REF X, TEST Y,
    TEST/REF R"."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return []
    out = [ln.rstrip() for ln in text.splitlines()
           if re.match(r"^(\s+smp \d+: |summary: )", ln)]
    if "FAIL:" in text:
        out += [ln.strip() for ln in text.splitlines() if ln.startswith("FAIL:")]
    return out


def revision() -> str:
    r = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                       capture_output=True, text=True, check=False)
    return r.stdout.strip() or "unknown"


def render(rows: list[dict[str, str]], smp: list[str], when: str,
           rev: str) -> str:
    rows = sorted(rows, key=series_key)
    passed = sum(r["status"] == "PASS" for r in rows)
    out = [
        "<!-- SPDX-License-Identifier: GPL-2.0-or-later -->",
        "<!-- Written by scripts/kernels-report.py (make check-kernels-all);"
        " do not edit. -->",
        "# Guest kernels",
        "",
        f"`make check-kernels-all` on {when} at {rev}: every Debian kernel "
        "series and flavour that has headers in the archive "
        "(`scripts/kernel-packages.py list`), each through "
        "`tests/kernels/run.sh`: the driver built (a bookworm kernel on the "
        "host with W=1; a later release's by DKMS from the fph-guest-dkms "
        "package in a chroot of its suite, and with W=1 there; any compiler "
        "or modpost warning fails), a busybox guest of that kernel booted "
        "under TCG with the driver bound, freed-dirty (700 MiB written and "
        "freed, 1 GiB guest, one vCPU) migrated by default QEMU and by fph, "
        "128 MiB of checksummed pages verified after an fph migration, and "
        "page-cache reclaim with swap on.",
        "",
        f"{passed} of {len(rows)} kernels passed.",
        "",
        "| kernel release | series | flavour | suite (version) | driver builds "
        "| bound | freed-dirty fph / default MiB | pages verified "
        "| lock_hold_max_ns | result |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        suite = cell(r["suite"])
        if r["version"] not in ("", "-"):
            suite += f" ({r['version']})"
        if r["build"] == "chroot":
            suite += ", DKMS in a chroot"
        result = r["status"]
        if r["status"] != "PASS" and r["reason"] not in ("", "-"):
            result += ": " + r["reason"].replace(";", "; ")
        out.append(
            f"| {cell(r['kver'])} | {cell(r['series'])} | "
            f"{cell(r['flavour'])} | {suite} | {cell(r['driver'])} | "
            f"{cell(r['bound'])} | {freed(r)} | {cell(r['pages'])} | "
            f"{lock_hold(r['lock_hold_max_ns'])} | {cell(result)} |")
    out += ["",
            "lock_hold_max_ns is the driver's longest hold of zone->lock or "
            "of a CPU's pcp->lock (debugfs, read on the destination after "
            "the verify migration); under TCG, not a hardware figure."]
    if smp:
        out += ["",
                "Freed-dirty with fph at 2 and 4 vCPUs, the newest generic "
                "kernel against 6.1 (`tests/kernels/freed_dirty_smp.py`; "
                "the test fails where what fph left unskipped exceeds 1.1 "
                "times 6.1's):", ""]
        out += [f"    {ln}" for ln in smp]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    kout, doc = argv[1], argv[2]
    results = os.path.join(kout, "results.tsv")
    try:
        rows = read_results(results)
    except OSError as e:
        print(f"kernels-report: {e}", file=sys.stderr)
        return 1
    if not rows:
        print(f"kernels-report: no kernel in {results}", file=sys.stderr)
        return 1
    when = datetime.datetime.fromtimestamp(
        os.stat(results).st_mtime, datetime.timezone.utc).strftime("%Y-%m-%d")
    text = render(rows, smp_lines(os.path.join(kout, "freed_dirty_smp.log")),
                  when, revision())
    with open(doc + ".tmp", "w") as f:
        f.write(text)
    os.replace(doc + ".tmp", doc)
    print(f"kernels-report: wrote {doc} ({len(rows)} kernels)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
