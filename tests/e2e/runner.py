# SPDX-License-Identifier: GPL-2.0-or-later
"""Run test functions, TAP-style, ending with "N passed, N failed"."""

from __future__ import annotations

import traceback


def run_tests(kind: str, tests, wanted: list[str]) -> int:
    passed = failed = 0
    for t in tests:
        name = t.__name__[len("test_"):]
        if wanted and name not in wanted:
            continue
        print(f"{kind} {name}: {t.__doc__.splitlines()[0]}", flush=True)
        try:
            t()
            passed += 1
            print(f"ok {passed + failed} {name}", flush=True)
        except Exception:  # noqa: BLE001 - report and go on
            failed += 1
            traceback.print_exc()
            print(f"not ok {passed + failed} {name}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0
