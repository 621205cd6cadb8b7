# SPDX-License-Identifier: GPL-2.0-or-later
"""The reject reasons and reclaim outcomes for the tests, from their one
source (include/fph/names.toml, read by scripts/gen-names.py): only the
tests of the source tree import this, not the copies of vm.py that the
packages install (fph-selftest), which have no scripts/ beside them."""

from __future__ import annotations

import importlib.util
import os


def _load_names():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "..", "scripts", "gen-names.py")
    spec = importlib.util.spec_from_file_location("gen_names", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load_names()


# The reject reasons and reclaim outcomes, written once
# (include/fph/names.toml, read by scripts/gen-names.py).
NAMES = _load_names()
REJECT = {n.upper: n.key for n in NAMES.REJECT_REASONS}
OUTCOME = {n.upper: n.key for n in NAMES.RECLAIM_OUTCOMES}


def unexpected_rejects(st: dict) -> dict:
    """query-fph-stats' reject counters that are not 0, but for stale
    epochs (a request that crossed a sync): what a well-behaved driver
    never makes the device count."""
    return {k: v for k, v in st["rejected"].items()
            if v and k != REJECT["STALE_EPOCH"]}
