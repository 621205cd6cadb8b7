#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The reject reasons are defined once, FPH_REJECT_REASONS in
module/core/fph_core.h; check that QAPI's FphRejectInfo has exactly those
members (lower case, '-' for '_'), in that order, each documented, and
that the qtests' libqos driver reads exactly those keys.  (A reason
missing from QAPI already fails the module build: fph-stats.c fills the
members from the list.)  Likewise the reclaim outcomes, FPH_RECLAIM_RESULTS:
QAPI's FphReclaimOutcome has exactly those members, in that order (the
module build checks the values), each documented.

usage: check-reject-reasons.py SOURCE_ROOT
"""

import ast
import re
import sys


def core_list(root: str, macro: str = "FPH_REJECT_REASONS") -> list[str]:
    text = open(f"{root}/module/core/fph_core.h").read()
    block = re.search(rf"#define {macro}\(X\)(.*?)\n\n", text, re.S)
    return re.findall(r"X\(\w+, (\w+),", block.group(1))


def qapi_enum(root: str, name: str) -> tuple[list[str], list[str]]:
    text = open(f"{root}/qapi-schema/fph.json").read()
    start = text.index(f"{{ 'enum': '{name}'")
    end = text.index("}", start)
    members = list(ast.literal_eval(text[start:end + 1])["data"])
    doc = text[text.rindex(f"# @{name}:", 0, start):start]
    return members, re.findall(r"^# @([\w-]+):", doc, re.M)[1:]


def qapi_members(root: str) -> tuple[list[str], list[str]]:
    text = open(f"{root}/qapi-schema/fph.json").read()
    start = text.index("{ 'struct': 'FphRejectInfo'")
    depth = 0
    for end, c in enumerate(text[start:], start):
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth == 0:
            break
    members = list(ast.literal_eval(text[start:end + 1])["data"])
    doc = text[text.rindex("# @FphRejectInfo:", 0, start):start]
    return members, re.findall(r"^# @([\w-]+):", doc, re.M)[1:]


def qtest_keys(root: str) -> list[str]:
    text = open(f"{root}/tests/qtest/libqos/virtio-fph.c").read()
    block = re.search(r"qfph_reject_keys\[QFPH_REJ__MAX\] = \{(.*?)\};", text, re.S)
    return re.findall(r'"([\w-]+)"', block.group(1))


def main() -> int:
    root = sys.argv[1]
    want = [r.replace("_", "-") for r in core_list(root)]
    members, documented = qapi_members(root)
    ok = True
    if members != want:
        print(f"FphRejectInfo members {members} != FPH_REJECT_REASONS {want}")
        ok = False
    if documented != want:
        print(f"FphRejectInfo documents {documented}, reasons are {want}")
        ok = False
    keys = qtest_keys(root)
    if keys != want:
        print(f"qtest qfph_reject_keys {keys}, reasons are {want}")
        ok = False
    outcomes = [r.replace("_", "-") for r in core_list(root, "FPH_RECLAIM_RESULTS")]
    members, documented = qapi_enum(root, "FphReclaimOutcome")
    if members != outcomes or documented != outcomes:
        print(f"FphReclaimOutcome members {members}, documented {documented}; "
              f"FPH_RECLAIM_RESULTS {outcomes}")
        ok = False
    if ok:
        print(f"ok: {len(want)} reject reasons; QAPI FphRejectInfo and the "
              f"qtest driver match; {len(outcomes)} reclaim outcomes match "
              "FphReclaimOutcome")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
