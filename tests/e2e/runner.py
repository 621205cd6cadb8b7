# SPDX-License-Identifier: GPL-2.0-or-later
"""Run test functions as a TAP producer (meson `protocol: 'tap'`)."""

from __future__ import annotations

import contextlib
import sys
import traceback


class _Comment:
    """stdout for a test's own output: every line a TAP comment."""

    def __init__(self, out):
        self.out = out
        self.bol = True

    def write(self, text: str) -> int:
        for piece in text.splitlines(keepends=True):
            if self.bol:
                self.out.write("# ")
            self.out.write(piece)
            self.bol = piece.endswith("\n")
        return len(text)

    def flush(self) -> None:
        self.out.flush()


def _indent(text: str) -> str:
    return "# " + text.rstrip("\n").replace("\n", "\n# ")


def run_tests(kind: str, tests, wanted: list[str]) -> int:
    """Run the test_* functions of @tests named in @wanted (all if empty);
    each is one TAP test point, its doc string's first line the comment."""
    chosen = [t for t in tests
              if not wanted or t.__name__[len("test_"):] in wanted]
    print(f"1..{len(chosen)}", flush=True)
    failed = 0
    for n, t in enumerate(chosen, 1):
        name = t.__name__[len("test_"):]
        print(f"# {kind} {name}: {t.__doc__.splitlines()[0]}", flush=True)
        try:
            with contextlib.redirect_stdout(_Comment(sys.stdout)):
                t()
            print(f"ok {n} {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - report and go on
            failed += 1
            print(_indent(traceback.format_exc()))
            # The reason on the test point's line too: meson's junit (and
            # so scripts/test-summary.py, CI's tail) keeps only that line.
            why = " ".join(f"{type(e).__name__}: {e}".split())[:160]
            print(f"not ok {n} {name} - {why}", flush=True)
    print(f"# {len(chosen) - failed} passed, {failed} failed")
    return 1 if failed or not chosen else 0
