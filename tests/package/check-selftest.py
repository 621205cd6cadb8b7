#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The JSON report of fph-selftest --mem 512, as tests/package/run.sh
runs it in the package's chroot.

usage: check-selftest.py pass|broken REPORT.json ACCEL

pass    the full selftest: result PASS, the four runs of each variant
        (ACCEL tcg: tcg; kvm: kvm and kvm-dirty-ring) each PASS with every
        page of the 64 MiB pattern verified and none bad, fph runs with
        pages skipped; under TCG the dirty-ring variant skipped for want
        of KVM
broken  --scenarios churn --x-corrupt-page: result FAIL, each run FAIL
        with exactly the one damaged page found

Prints one line (what passed, or what is wrong); exit 0 if as expected.
"""

from __future__ import annotations

import json
import sys

RUNS = [("freed-dirty", False), ("freed-dirty", True), ("fragmented", True),
        ("churn", True)]
PAGES = 64 * 256   # --mem 512: a 64 MiB pattern of 4 KiB pages


def check_pass(rep: dict, accel: str) -> list[str]:
    bad = []
    if rep.get("result") != "PASS":
        bad.append(f"result {rep.get('result')}")
    if rep.get("accel") != accel:
        bad.append(f"accel {rep.get('accel')}, expected {accel}")
    runs = rep.get("runs", [])
    variants = ["tcg"] if accel == "tcg" else ["kvm", "kvm-dirty-ring"]
    got = [(r["variant"], r["scenario"], r["fph"]) for r in runs]
    if got != [(v, s, f) for v in variants for s, f in RUNS]:
        bad.append(f"runs {got}")
    for r in runs:
        tag = f"{r['variant']} {r['scenario']} fph={r['fph']}"
        if (r["result"] != "PASS" or r.get("pages_verified") != PAGES
                or r.get("pages_bad") != 0 or r.get("problems")):
            bad.append(f"{tag}: {r['result']} verified "
                       f"{r.get('pages_verified')} bad {r.get('pages_bad')} "
                       f"{r.get('problems')}")
        if r["fph"] and not r.get("pages_skipped"):
            bad.append(f"{tag}: skipped nothing")
        if not r.get("transferred_bytes") or "downtime_ms" not in r:
            bad.append(f"{tag}: no bytes or downtime")
    ring = [v for v in rep.get("variants", []) if v["name"] == "kvm-dirty-ring"]
    if accel == "tcg" and not (ring and "no KVM" in ring[0].get("skipped", "")):
        bad.append(f"the dirty-ring variant is not skipped for want of KVM: {ring}")
    return bad


def check_broken(rep: dict) -> list[str]:
    bad = []
    runs = rep.get("runs", [])
    if rep.get("result") != "FAIL" or not rep.get("corrupt_page_injected"):
        bad.append(f"result {rep.get('result')}, injected "
                   f"{rep.get('corrupt_page_injected')}")
    if not runs:
        bad.append("no run")
    for r in runs:
        if (r["result"] != "FAIL" or r.get("pages_bad") != 1
                or not r.get("injected", "").startswith("corrupted")):
            bad.append(f"{r['variant']} {r['scenario']}: {r['result']}, bad "
                       f"{r.get('pages_bad')}, injected {r.get('injected')}, "
                       f"{r.get('problems')}")
    return bad


def main() -> int:
    mode, path, accel = sys.argv[1:4]
    try:
        with open(path) as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        print(f"no JSON report: {e}")
        return 1
    bad = check_pass(rep, accel) if mode == "pass" else check_broken(rep)
    if bad:
        print("; ".join(bad))
        return 1
    runs = rep["runs"]
    if mode == "pass":
        print(f"{len(runs)} runs PASS in {rep['seconds']:.0f} s, accel "
              f"{rep['accel']}")
    else:
        print(f"{len(runs)} run(s) FAIL: {runs[0]['problems'][0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
