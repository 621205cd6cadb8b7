#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print how many test cases meson ran, from its testlog.junit.xml.

Meson counts the cases itself: one per GoogleTest case (protocol gtest),
one per TAP test point (qtests, kernels, install, package), one per other
test.  A pytest suite (e2e-*, distro-debian13, libvirt-*) is one test
to meson (protocol exitcode) and writes its own cases to
meson-logs/pytest-NAME.xml beside meson's file (pytest --junitxml;
tests/e2e/meson_pytest.py removes the file when the run starts): those
cases stand in for meson's one, named SUITE.NAME like a TAP test's.  If
meson's case failed and none of pytest's did (a timeout: pytest killed
before it wrote them), meson's failure is counted as well.

Each failed case gets a line with the first line of its failure (CI
shows the log's tail), then the last line is "N passed, N failed", the
form CI reads.

usage: test-summary.py JUNIT.xml...   (make check: one per meson test
run: the default QEMU line's, each other line's suite each-qemu, and the
migration-test runs; one total for all)
"""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET


def outcome(case: ET.Element) -> tuple[str, str]:
    """("skipped" | "failed" | "passed", the failure's first line)."""
    if case.find("skipped") is not None:
        return "skipped", ""
    bad = case.find("failure")
    if bad is None:
        bad = case.find("error")
    if bad is None:
        return "passed", ""
    why = (bad.get("message") or bad.text or "").strip()
    return "failed", why.splitlines()[0][:200] if why else ""


def cases(path: str):
    """(suite name, case name, outcome, why) of every case of meson's
    JUnit file @path, a pytest suite's one case replaced by its own."""
    logs = os.path.dirname(path)
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for case in suite.iter("testcase"):
            res, why = outcome(case)
            # meson names the case "SUITES / NAME" (fph:e2e / e2e-faults).
            test = case.get("name").rpartition(" / ")[2]
            own = os.path.join(logs, f"pytest-{test}.xml")
            if not os.path.isfile(own):
                yield suite.get("name"), case.get("name"), res, why
                continue
            name = f"{suite.get('name')}.{case.get('name')}"
            failed = False
            for sub in ET.parse(own).getroot().iter("testcase"):
                if sub.get("name") is None:
                    continue   # what pytest writes for a case interrupted
                r, w = outcome(sub)
                failed |= r == "failed"
                yield name, sub.get("name"), r, w
            if res == "failed" and not failed:
                yield suite.get("name"), case.get("name"), res, why


def main() -> int:
    count = {"passed": 0, "failed": 0, "skipped": 0}
    for path in sys.argv[1:]:
        for suite, case, res, why in cases(path):
            count[res] += 1
            if res == "failed":
                print(f"FAILED {suite} / {case}" + (f": {why}" if why else ""))
    if count["skipped"]:
        print(f"{count['skipped']} skipped")
    print(f"{count['passed']} passed, {count['failed']} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
