#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""check-spdx.py [ROOT]: every tracked file names its licence (REUSE layout).

A file carries "SPDX-License-Identifier: EXPR" in its first 25 lines, or
is matched by a "Files:" glob of .reuse/dep5 (patches, benchmark output,
fuzzing seeds, the licence texts).  Every licence EXPR names has its text
in LICENSES/ID.txt.  Prints each offender and exits 1 if there is one.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

TAG = re.compile(r"SPDX-License-Identifier:\s*([A-Za-z0-9.+() -]+?)\s*(?:\*/|-->)?\s*$")
HEAD_LINES = 25


def dep5_globs(root: Path) -> list[str]:
    globs = []
    for line in (root / ".reuse" / "dep5").read_text().splitlines():
        if line.startswith("Files:"):
            globs += line[len("Files:"):].split()
    return globs


def licence_ids(expr: str) -> list[str]:
    return [t for t in re.split(r"[\s()]+", expr)
            if t and t not in ("AND", "OR", "WITH")]


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else ".").resolve()
    files = subprocess.run(["git", "-C", str(root), "ls-files", "-z"],
                           capture_output=True, text=True,
                           check=True).stdout.split("\0")
    globs = dep5_globs(root)
    bad = []
    for name in filter(None, files):
        if any(fnmatch.fnmatch(name, g) for g in globs):
            continue
        path = root / name
        try:
            head = path.read_text(errors="replace").splitlines()[:HEAD_LINES]
        except (IsADirectoryError, FileNotFoundError):
            continue
        exprs = [m.group(1) for m in map(TAG.search, head) if m]
        if not exprs:
            bad.append(f"{name}: no SPDX-License-Identifier in its first "
                       f"{HEAD_LINES} lines (or a Files: line in .reuse/dep5)")
            continue
        for lic in licence_ids(exprs[0]):
            if not (root / "LICENSES" / f"{lic}.txt").is_file():
                bad.append(f"{name}: licence {lic} has no LICENSES/{lic}.txt")
    for b in bad:
        print(f"check-spdx: {b}")
    print(f"check-spdx: {len(files) - 1 - len(bad)} files, "
          f"{len(bad)} without a licence")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
