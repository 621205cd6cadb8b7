#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Print how many test cases each suite ran, from Meson's testlog.json.

GoogleTest binaries report "[  PASSED  ] N tests", TAP (qtest) "ok N ...",
the end-to-end and simulation runners "N passed, N failed".  The last line
is the total, in the plain "N passed, N failed" form CI reads.
"""
import json
import re
import sys

log = sys.argv[1]
total_pass = total_fail = 0
for line in open(log):
    t = json.loads(line)
    out = t.get("stdout") or ""
    passed = failed = 0
    m = re.search(r"\[  PASSED  \] (\d+) tests?", out)
    if m:
        passed = int(m.group(1))
        f = re.search(r"\[  FAILED  \] (\d+) tests?, listed below", out)
        failed = int(f.group(1)) if f else 0
    elif re.search(r"^(not )?ok \d+", out, re.M):
        passed = len(re.findall(r"^ok \d+", out, re.M))
        failed = len(re.findall(r"^not ok \d+", out, re.M))
    elif re.search(r"^=*\s*\d+ (passed|failed).* in [\d.]+s", out, re.M):
        # pytest: "3 failed, 12 passed, 1 error in 0.81s".
        last = re.findall(r"^=*\s*(\d+ (?:passed|failed).*) in [\d.]+s", out,
                          re.M)[-1]
        counts = dict((k, int(n)) for n, k in
                      re.findall(r"(\d+) (passed|failed|errors?)", last))
        passed = counts.get("passed", 0)
        failed = counts.get("failed", 0) + counts.get("error", 0) \
            + counts.get("errors", 0)
    elif re.search(r"^\w+ correct: \d+ seeds", out, re.M):
        # The simulator: one case per seed and model.
        for seeds, fails in re.findall(
                r"^\w+ correct: (\d+) seeds.*?(\d+) failures", out, re.M):
            passed += int(seeds) - int(fails)
            failed += int(fails)
    else:
        m = re.findall(r"^(\d+) passed, (\d+) failed", out, re.M)
        if m:
            passed, failed = map(int, m[-1])
    if t["result"] != "OK" and failed == 0:
        failed = 1
    elif t["result"] == "OK" and passed == 0:
        passed = 1  # a test without cases of its own (libvirt, usage-doc)
    total_pass += passed
    total_fail += failed
    print(f"  {t['name']:<28} {t['result']:<8} {passed:>6} passed "
          f"{failed:>4} failed")
print(f"{total_pass} passed, {total_fail} failed")
