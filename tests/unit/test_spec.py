# SPDX-License-Identifier: GPL-2.0-or-later
"""docs/virtio-fph-spec.rst states what include/fph/virtio_fph.h defines.

The header is the one definition of the wire format (the QEMU device and
the Linux driver include it); the specification restates it for people.
Every structure and constant the specification shows is checked against
the header as the C compiler lays it out, and every constant of the
header must be stated by the specification.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADER = ROOT / "include" / "fph" / "virtio_fph.h"
SPEC = ROOT / "docs" / "virtio-fph-spec.rst"

# Header constants the specification states in words, not as NAME (value)
# or a #define: the pattern that finds the value in the specification.
IN_WORDS = {
    "VIRTIO_ID_FPH": r"The device ID is (\d+)",
    "VIRTIO_FPH_PCI_DEVICE_ID": r"the device is 1af4:([0-9a-f]{4})",
    "VIRTIO_FPH_PAGE_SIZE": r"(\d+) KiB\s+\(VIRTIO_FPH_PAGE_SIZE\)",
    "VIRTIO_FPH_EPOCH_NONE": r"(\d+)\s+\(VIRTIO_FPH_EPOCH_NONE\)",
}
KIB = {"VIRTIO_FPH_PAGE_SIZE"}
# Header constants that are not part of the wire format.
NOT_WIRE = {
    "VIRTIO_FPH_PAGE_SHIFT",        # log2 of VIRTIO_FPH_PAGE_SIZE
    "VIRTIO_FPH_RECLAIM_S_MAX",     # the largest status, for range checks
}


def header_structs(text: str) -> dict[str, list[str]]:
    """struct name -> field names, in order."""
    structs = {}
    for name, body in re.findall(r"struct (\w+) \{(.*?)\n\};", text, re.S):
        structs[name] = re.findall(r"fph_le\d+ (\w+);", body)
    return structs


def header_macros(text: str) -> list[str]:
    return [m for m in re.findall(r"^#define (VIRTIO_\w+)\s", text, re.M)
            if m != "VIRTIO_FPH_H"]     # the include guard


def compiled_layout(structs: dict[str, list[str]],
                    macros: list[str]) -> dict[str, int]:
    """What the compiler makes of the header: every macro's value,
    "sizeof S" and "S.field" offsets."""
    lines = ["#include <stddef.h>", "#include <stdio.h>",
             '#include "fph/virtio_fph.h"', "int main(void)", "{"]
    for m in macros:
        lines.append(f'printf("{m} %llu\\n", (unsigned long long)({m}));')
    for s, fields in structs.items():
        lines.append(f'printf("sizeof {s} %zu\\n", sizeof(struct {s}));')
        for f in fields:
            lines.append(f'printf("{s}.{f} %zu\\n", '
                         f'offsetof(struct {s}, {f}));')
    lines += ["return 0;", "}"]
    with tempfile.TemporaryDirectory() as d:
        c, exe = pathlib.Path(d, "layout.c"), pathlib.Path(d, "layout")
        c.write_text("\n".join(lines) + "\n")
        subprocess.run(["cc", "-Wall", "-Werror", "-I", str(ROOT / "include"),
                        "-o", str(exe), str(c)], check=True)
        out = subprocess.run([str(exe)], check=True, capture_output=True,
                             text=True).stdout
    pairs = (ln.rsplit(" ", 1) for ln in out.splitlines())
    return {k: int(v) for k, v in pairs}


def code_blocks(spec: str) -> list[str]:
    """The C code blocks of the specification, dedented."""
    blocks = []
    for m in re.finditer(r"^\.\. code-block:: c\n\n((?:   .*\n|\n)+)",
                         spec, re.M):
        blocks.append("\n".join(ln[3:] for ln in m.group(1).splitlines()))
    return blocks


def spec_structs(spec: str) -> dict[str, list[tuple[str, int]]]:
    """struct name -> (field, bytes), in order, from the code blocks."""
    structs = {}
    for block in code_blocks(spec):
        for name, body in re.findall(r"struct (\w+) \{(.*?)\n\};", block,
                                     re.S):
            structs[name] = [(f, int(bits) // 8) for bits, f in
                             re.findall(r"le(16|32|64) (\w+);", body)]
    return structs


def spec_values(spec: str) -> dict[str, int]:
    """Constants the specification states: #defines in its code blocks,
    NAME (value) in its text, and IN_WORDS."""
    values: dict[str, int] = {}

    def put(name: str, value: int) -> None:
        assert values.get(name, value) == value, \
            f"the specification gives {name} two values"
        values[name] = value

    for block in code_blocks(spec):
        for name, value in re.findall(r"#define (VIRTIO_\w+)\s+(\w+)", block):
            put(name, int(value, 0))
    for name, value in re.findall(r"\b(VIRTIO_FPH_\w+) \((\d+)\)", spec):
        put(name, int(value))
    for name, pattern in IN_WORDS.items():
        m = re.search(pattern, spec)
        if m:
            base = 16 if name == "VIRTIO_FPH_PCI_DEVICE_ID" else 10
            put(name, int(m.group(1), base) * (1024 if name in KIB else 1))
    return values


def mismatches(spec: str, header: str) -> list[str]:
    """Every way @spec disagrees with @header (empty: none)."""
    hs, macros = header_structs(header), header_macros(header)
    compiled = compiled_layout(hs, macros)
    found = []
    ss = spec_structs(spec)
    for name in hs:
        if name not in ss:
            found.append(f"struct {name} is not in the specification")
    for name, fields in ss.items():
        if name not in hs:
            found.append(f"struct {name} is not in the header")
            continue
        if [f for f, _ in fields] != hs[name]:
            found.append(f"struct {name}: fields {[f for f, _ in fields]}, "
                         f"header {hs[name]}")
            continue
        offset = 0
        for field, size in fields:
            offset = (offset + size - 1) // size * size
            if compiled[f"{name}.{field}"] != offset:
                found.append(f"{name}.{field} at {offset}, header at "
                             f"{compiled[name + '.' + field]}")
            offset += size
        if compiled[f"sizeof {name}"] != offset:
            found.append(f"struct {name}: {offset} bytes, header "
                         f"{compiled['sizeof ' + name]}")
    values = spec_values(spec)
    for name in macros:
        if name in NOT_WIRE:
            continue
        if name not in values:
            found.append(f"{name} is not stated by the specification")
        elif values[name] != compiled[name]:
            found.append(f"{name} is {values[name]}, header "
                         f"{compiled[name]}")
    for name in values:
        if name not in macros:
            found.append(f"{name} is not in the header")
    return found


@pytest.fixture(scope="module")
def texts() -> tuple[str, str]:
    return SPEC.read_text(), HEADER.read_text()


def test_spec_matches_header(texts) -> None:
    spec, header = texts
    assert mismatches(spec, header) == []


def test_spec_shows_every_struct(texts) -> None:
    spec, header = texts
    assert set(spec_structs(spec)) == set(header_structs(header)) != set()


# The check catches what it claims: each edit of the specification below
# is a disagreement with the header.
@pytest.mark.parametrize("old,new", [
    ("le32 epoch;\n           le32 max_ranges;",
     "le32 max_ranges;\n           le32 epoch;"),            # fields swapped
    ("le32 reclaim_us;", "le64 reclaim_us;"),                # size
    ("#define VIRTIO_FPH_S_STALE    1", "#define VIRTIO_FPH_S_STALE    3"),
    ("VIRTIO_FPH_F_RECLAIM (0)", "VIRTIO_FPH_F_RECLAIM (1)"),
    ("The device ID is 63", "The device ID is 62"),
    ("1af4:107f", "1af4:10f0"),
    ("or 0 (VIRTIO_FPH_EPOCH_NONE)", "or 1 (VIRTIO_FPH_EPOCH_NONE)"),
    ("#define VIRTIO_FPH_REQ_CONFIRM     2\n", ""),          # left out
])
def test_catches(texts, old: str, new: str) -> None:
    spec, header = texts
    assert old in spec
    assert mismatches(spec.replace(old, new, 1), header) != []
