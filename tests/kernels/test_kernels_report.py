# SPDX-License-Identifier: GPL-2.0-or-later
"""scripts/kernels-report.py on a canned tests/kernels/run.sh output."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "kernels-report.py"

spec = importlib.util.spec_from_file_location("kernels_report", SCRIPT)
kr = importlib.util.module_from_spec(spec)
sys.modules["kernels_report"] = kr
spec.loader.exec_module(kr)

HEAD = ("# kver\tseries\tflavour\tsuite\tbuild\tversion\tstatus\tdriver\tbound"
        "\tdefault_mib\tfph_mib\tpages\tlock_hold_max_ns\treason\n")
ROWS = [
    "7.3.4+deb13-rt-amd64\t7.3\trt-amd64\ttrixie-backports\tchroot\t"
    "7.3.4-1~bpo13+1\tFAIL\tbuild failed\tno\t-\t-\t-\t-\tbuild failed\n",
    "7.3.4+deb13-amd64\t7.3\tamd64\ttrixie-backports\tchroot\t"
    "7.3.4-1~bpo13+1\tPASS\tW=1 clean\tyes\t794.5\t174.6\t32768\t1803790\t-\n",
    "6.12.95+deb12-amd64\t6.12\tamd64\tbookworm-backports\thost\t"
    "6.12.95-1~bpo12+1\tFAIL\tW=1 clean\tyes\t790.0\t300.0\t-\t-\t"
    "freed_dirty failed;verify failed\n",
    "6.1.0-57-amd64\t6.1\tamd64\tbookworm-security\thost\t6.1.192-3\tPASS"
    "\tW=1 clean\tyes\t779.8\t70.2\t32768\t414960\t-\n",
]
SMP = """smp 2 run 1 6.1.0-57-amd64: transferred 71.6 MiB
summary: mean fph transferred (MiB)
  smp 2: 6.1.0-57-amd64 71.6, 7.3.4+deb13-amd64 77.4, 7.3.4+deb13-amd64/6.1.0-57-amd64 1.08
"""


def test_report(tmp_path: Path):
    (tmp_path / "results.tsv").write_text(HEAD + "".join(ROWS))
    (tmp_path / "freed_dirty_smp.log").write_text(SMP)
    doc = tmp_path / "kernels.md"
    assert kr.main(["kernels-report.py", str(tmp_path), str(doc)]) == 0
    text = doc.read_text()
    assert text.startswith("<!-- SPDX-License-Identifier: GPL-2.0-or-later -->")
    assert "2 of 4 kernels passed." in text
    table = [ln for ln in text.splitlines() if ln.startswith("| ") and
             "---" not in ln][1:]
    # Oldest series first, generic before cloud before rt.
    assert [ln.split(" | ")[0][2:] for ln in table] == [
        "6.1.0-57-amd64", "6.12.95+deb12-amd64", "7.3.4+deb13-amd64",
        "7.3.4+deb13-rt-amd64"]
    assert ("| 7.3.4+deb13-amd64 | 7.3 | amd64 | trixie-backports "
            "(7.3.4-1~bpo13+1), DKMS in a chroot | W=1 clean | yes | "
            "174.6 / 794.5 (0.22) | 32768 | 1804 µs | PASS |") in table
    assert table[1].endswith("| FAIL: freed_dirty failed; verify failed |")
    assert "| build failed | no | – | – | – | FAIL: build failed |" in table[3]
    assert "    summary: mean fph transferred (MiB)" in text
    assert "      smp 2: 6.1.0-57-amd64 71.6, 7.3.4+deb13-amd64 77.4" in text
    assert "run 1" not in text


def test_no_results_is_an_error(tmp_path: Path):
    (tmp_path / "results.tsv").write_text(HEAD)
    assert kr.main(["kernels-report.py", str(tmp_path),
                    str(tmp_path / "k.md")]) == 1
