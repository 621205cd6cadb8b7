# SPDX-License-Identifier: GPL-2.0-or-later
"""fph-bench: median and spread of repeated measurements, and how the
tables print numbers."""

from __future__ import annotations

import dataclasses
import math

NAN = float("nan")
NO_DATA = "—"


@dataclasses.dataclass(frozen=True)
class Summary:
    n: int = 0
    median: float = NAN
    min: float = NAN
    max: float = NAN

    def valid(self) -> bool:
        return self.n > 0


def summarize(values) -> Summary:
    """Median, min and max of @values, ignoring NaN (no data)."""
    v = sorted(x for x in values if not math.isnan(x))
    if not v:
        return Summary()
    m = len(v) // 2
    median = v[m] if len(v) % 2 else (v[m - 1] + v[m]) / 2
    return Summary(len(v), median, v[0], v[-1])


def num(x: float, decimals: int = 0) -> str:
    """"123" / "1.23" with the given number of decimals; "—" for no data."""
    if math.isnan(x):
        return NO_DATA
    return f"{x:.{decimals}f}"


def spread(s: Summary, decimals: int = 0) -> str:
    """"median (min–max)", or just the median for a single sample."""
    if not s.valid():
        return NO_DATA
    if s.n == 1 or num(s.min, decimals) == num(s.max, decimals):
        return num(s.median, decimals)
    return f"{num(s.median, decimals)} ({num(s.min, decimals)}–{num(s.max, decimals)})"


def ratio(a: float, b: float) -> str:
    """a / b with two decimals; "—" for no data."""
    if math.isnan(a) or math.isnan(b) or b == 0:
        return NO_DATA
    return f"{a / b:.2f}"
