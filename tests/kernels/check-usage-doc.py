#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Every message fph can print is explained in docs/usage.rst.

usage: tests/kernels/check-usage-doc.py [ROOT]

Collects the format string of every user-visible message
  - of the QEMU module: error_setg(), error_report(), warn_report(), ...
    in module/*.c and module/core/*, and the hints of VMSTATE_*_EQUAL
    fields (printed when a migration stream does not match);
  - of the guest driver: pr_warn(), pr_err(), pr_info(), dev_err(),
    dev_warn(), ... (also _once and _ratelimited) in guest/*.c;
  - added to QEMU by the patch series (lines added in patches/qemu/*.patch);
  - plus QEMU's own messages that users of fph meet (EXTRA below);
and fails unless docs/usage.rst quotes each one.  A quote may show a
conversion (%s, %u, ...) literally or an example value in its place;
whitespace and line breaks do not matter.  Debug output (pr_debug,
dev_dbg) and trace events are not messages.

Exit 0 if all are documented, 1 if not (listing them), 2 on usage errors.
"""

from __future__ import annotations

import glob
import os
import re
import sys

FUNCS = (r"error_setg|error_setg_errno|error_report|warn_report|info_report|"
         r"error_append_hint|error_prepend|error_vreport|"
         r"(?:pr|dev)_(?:emerg|alert|crit|err|warn|warning|notice|info)"
         r"(?:_once|_ratelimited)?|"
         r"VMSTATE_\w+_EQUAL(?:_V)?")
CALL = re.compile(r"\b(" + FUNCS + r")\s*\(")
PRI = re.compile(r"^PRI[diouxX](?:8|16|32|64|PTR|MAX|LEAST\d+|FAST\d+)$")
CONV = re.compile(r"%(?:\d+\$)?[-+ #0']*(?:\*|\d+)?(?:\.(?:\*|\d+))?"
                  r"(?:hh|h|ll|l|L|q|j|z|Z|t)?[diouxXeEfFgGaAcsp%]"
                  r"(?:[A-Za-z]{1,3}(?=\W|$))?")

# QEMU's own messages (not in this repository's code) that fph users meet;
# docs/usage.rst explains each.  printf formats, as in QEMU's source.
EXTRA = [
    # util/module.c: module present but unusable
    ("qemu util/module.c", "failed to open module: %s"),
    ("qemu util/module.c", "failed to initialize module: %s"),
    ("qemu util/module.c", "Only modules from the same build can be loaded."),
    # qom/object_interfaces.c via keyval: object-add of a module type
    ("qemu qapi", "Parameter 'qom-type' does not accept value '%s'"),
    # system/qdev-monitor.c: -device without the module
    ("qemu system/qdev-monitor.c", "'%s' is not a valid device model name"),
    # monitor: query-fph-stats without the module
    ("qemu qapi/qmp-dispatch.c", "The command %s has not been found"),
    # migration/savevm.c: destination without the device
    ("qemu migration/savevm.c",
     "Unknown savevm section or instance '%s' %u. Make sure that your "
     "current VM setup matches your saved VM setup, including any "
     "hotplugged devices"),
    ("qemu migration/migration.c", "load of migration failed: %s"),
    ("qemu migration/migration.c", "Sibling indicated error %d"),
    # migration/vmstate-types.c: VMSTATE_UINT32_EQUAL mismatch
    ("qemu migration/vmstate-types.c", "%x != %x"),
    ("qemu migration/vmstate.c", "Failed to load %s:%s"),
    # hw/pci/pci.c: a NIC's boot ROM in none of the firmware directories
    ("qemu hw/pci/pci.c", 'failed to find romfile "%s"'),
    # Linux: loading a driver built for another kernel
    ("linux kernel/module", "disagrees about version of symbol %s"),
    ("linux kernel/module", "version magic '%s' should be '%s'"),
]


def c_args(text: str, start: int) -> list[str]:
    """Top-level arguments of the call whose '(' is at text[start - 1]."""
    args, depth, i, cur = [], 0, start, []
    while i < len(text):
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            cur.append(text[i:j + 1])
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                args.append("".join(cur))
                return args
            depth -= 1
        elif c == "," and depth == 0:
            args.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return args


LIT = re.compile(r'"((?:[^"\\]|\\.)*)"|([A-Za-z_]\w*)|(\S)')


def unescape(s: str) -> str:
    escapes = {"n": "\n", "t": "\t"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), s)


def format_of(arg: str) -> str | None:
    """The format string if @arg is string literals (and PRI macros)."""
    out, seen_lit = [], False
    for m in LIT.finditer(arg):
        lit, ident, other = m.groups()
        if lit is not None:
            out.append(unescape(lit))
            seen_lit = True
        elif ident is not None and PRI.match(ident):
            out.append("d")
        elif ident in ("KBUILD_MODNAME",):
            out.append("virtio_fph")
        else:
            return None
    return "".join(out) if seen_lit else None


def messages(path: str, text: str) -> list[tuple[str, str]]:
    found = []
    for m in CALL.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        for arg in c_args(text, m.end()):
            fmt = format_of(arg.strip())
            if fmt is not None:
                fmt = fmt.strip()
                if fmt and fmt != "%s":
                    found.append((f"{path}:{line}", fmt))
                break
    return found


def added_lines(patch: str) -> str:
    """The patch's added lines, other lines blanked (line numbers stay)."""
    return "\n".join(ln[1:] if ln.startswith("+") and not ln.startswith("+++")
                     else "" for ln in patch.splitlines())


def pattern(fmt: str) -> re.Pattern:
    parts, pos = [], 0
    for m in CONV.finditer(fmt):
        parts.append(re.escape(fmt[pos:m.start()]))
        parts.append("%" if m.group(0) == "%%" else r".+?")
        pos = m.end()
    parts.append(re.escape(fmt[pos:]))
    rx = "".join(parts)
    rx = re.sub(r"(?:\\\s|\\\n|\s)+", r"\\s+", rx)
    return re.compile(rx)


def main() -> int:
    root = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    doc_path = os.path.join(root, "docs", "usage.rst")
    try:
        doc = open(doc_path, encoding="utf-8").read()
    except OSError as e:
        print(f"check-usage-doc: {e}")
        return 2
    doc = re.sub(r"\s+", " ", doc)

    msgs: list[tuple[str, str]] = []
    srcs = sorted(glob.glob(os.path.join(root, "module", "*.c")) +
                  glob.glob(os.path.join(root, "module", "core", "*.c*")) +
                  glob.glob(os.path.join(root, "module", "core", "*.h*")) +
                  [p for p in glob.glob(os.path.join(root, "guest", "*.[ch]"))
                   if not p.endswith(".mod.c")])
    for p in srcs:
        msgs += messages(os.path.relpath(p, root), open(p, encoding="utf-8").read())
    for p in sorted(glob.glob(os.path.join(root, "patches", "qemu", "*.patch"))):
        msgs += messages(os.path.relpath(p, root),
                         added_lines(open(p, encoding="utf-8").read()))
    msgs += EXTRA

    missing = [(where, fmt) for where, fmt in msgs
               if not pattern(fmt).search(doc)]
    for where, fmt in missing:
        print(f"not in docs/usage.rst: {where}: {fmt!r}")
    print(f"check-usage-doc: {len(msgs) - len(missing)} of {len(msgs)} "
          "messages documented")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
