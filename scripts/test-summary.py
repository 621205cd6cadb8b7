#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print how many test cases meson ran, from its testlog.junit.xml.

Meson counts the cases itself: one per GoogleTest case (protocol gtest),
one per TAP test point (qtests, e2e, kernels, install), one per other
test.  Each failed case gets a line with the first line of its failure
(CI shows the log's tail), then the last line is "N passed, N failed",
the form CI reads.

usage: test-summary.py BUILDDIR/meson-logs/testlog.junit.xml
"""

import sys
import xml.etree.ElementTree as ET


def main() -> int:
    suites = ET.parse(sys.argv[1]).getroot()
    passed = failed = skipped = 0
    for suite in suites.iter("testsuite"):
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
