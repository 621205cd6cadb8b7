#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print how many test cases meson ran, from its testlog.junit.xml.

Meson counts the cases itself: one per GoogleTest case (protocol gtest),
one per TAP test point (qtests, e2e, kernels, install), one per other
test.  Each failed case gets a line with the first line of its failure
(CI shows the log's tail), then the last line is "N passed, N failed",
the form CI reads.

usage: test-summary.py JUNIT.xml...   (make check: one per meson test
run: the default QEMU line's, each other line's suite each-qemu, and the
migration-test runs; one total for all)
"""

import sys
import xml.etree.ElementTree as ET


def main() -> int:
    passed = failed = skipped = 0
    suites = [s for path in sys.argv[1:]
              for s in ET.parse(path).getroot().iter("testsuite")]
    for suite in suites:
        for case in suite.iter("testcase"):
            bad = case.find("failure")
            if bad is None:
                bad = case.find("error")
            if case.find("skipped") is not None:
                skipped += 1
            elif bad is not None:
                failed += 1
                why = (bad.get("message") or bad.text or "").strip()
                print(f"FAILED {suite.get('name')} / {case.get('name')}"
                      + (f": {why.splitlines()[0][:200]}" if why else ""))
            else:
                passed += 1
    if skipped:
        print(f"{skipped} skipped")
    print(f"{passed} passed, {failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
