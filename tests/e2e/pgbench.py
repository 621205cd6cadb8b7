# SPDX-License-Identifier: GPL-2.0-or-later
"""postgresql and pgbench in the Debian test guest: what
tests/e2e/test_debian.py and the bench (bench/matrix.py, debian-pgbench)
share."""

from __future__ import annotations

import guestctl

PG = "runuser -u postgres --"
# pgbench -i -s 10: 1,000,000 rows in pgbench_accounts (~150 MiB on disk).
SCALE = 10
SETUP = [
    "systemctl start postgresql",
    f"{PG} createdb bench",
    f"{PG} pgbench -q -i -s {SCALE} bench",
]
SETUP_TIMEOUT = 900


def run_for(seconds: int, progress: bool = False) -> str:
    """TPC-B-like transactions by 2 clients for @seconds; @progress: tps
    every second, with the time ("progress: <epoch> s, <tps> tps, ...")."""
    opts = " -P 1 --progress-timestamp" if progress else ""
    return f"{PG} pgbench -n -c 2 -j 2 -T {seconds}{opts} bench"


# TPC-B's own invariants: every transaction adds the same delta to one
# account, its teller and its branch, and logs it in the history.
INVARIANTS = (f"{PG} psql -d bench -AtF' ' -c \"SELECT "
              "(SELECT sum(abalance) FROM pgbench_accounts), "
              "(SELECT sum(bbalance) FROM pgbench_branches), "
              "(SELECT sum(tbalance) FROM pgbench_tellers), "
              "(SELECT coalesce(sum(delta), 0) FROM pgbench_history), "
              "(SELECT count(*) FROM pgbench_history)\"")


def invariants(out: str) -> tuple[int, int]:
    """INVARIANTS' output: sum(abalance) = sum(bbalance) = sum(tbalance) =
    sum(delta) and a non-empty history; returns (the sum, history rows)."""
    v = (out.strip().splitlines() or [""])[-1].split()
    assert len(v) == 5 and len(set(v[:4])) == 1 and int(v[4]) > 0, \
        f"TPC-B invariants broken: balances/delta/history {v}"
    return int(v[0]), int(v[4])


def check_invariants(g: guestctl.Guest) -> tuple[int, int]:
    """invariants() in guest @g."""
    return invariants(g.check(INVARIANTS, 300))


def check_run(out: str) -> str:
    """pgbench's output: no failed transaction; returns its tps line."""
    failed = [ln for ln in out.splitlines() if "failed transactions" in ln]
    assert failed and failed[0].split(":")[1].split()[0] == "0", out
    tps = [ln for ln in out.splitlines() if ln.startswith("tps")]
    return tps[-1] if tps else "tps ?"
