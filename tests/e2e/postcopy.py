# SPDX-License-Identifier: GPL-2.0-or-later
"""A switch to postcopy while the guest reuses memory it had freed: one run
of the shape issue #34 measured, for the postcopy end-to-end test
(test_faults.py) and the bench (bench/fph-bench-postcopy.py).

A 2 GiB guest holds a verified pattern, writes 1.5 GiB and frees it; the
migration runs precopy at 50 MB/s for about a second (fph: until its hints
took the freed memory out), then switches to postcopy with 20 MB/s of
background bandwidth and postcopy-blocktime on, and the guest at once
allocates and writes 512 MiB on the destination.  Without fph the
destination faults on every page of those 512 MiB and waits for the
source; with fph the pages it freed are placed as zero pages right after
the switch (QEMU patch "migration/ram: send the pages a RAM filter freed
first after a switch to postcopy")."""

from __future__ import annotations

import dataclasses
import time

import guestctl
import vm as V

MEM = "2G"
FILL_MIB = 96             # a verified pattern, in use through the migration
FREED_MIB = 1536          # written, then freed, before the migration
AFTER_MIB = 512           # what the guest allocates and writes after the switch
PRECOPY_BW = 50_000_000   # the precopy phase ...
PRECOPY_S = 1.0           # ... this long (fph: and until its hints are in)
POSTCOPY_BW = 20_000_000  # background pages after the switch
# fph: the switch waits until its skips cover this share of FREED_MIB (the
# hint pass takes about a second under TCG); a user would not wait, but
# without it the run would measure how far the pass got, not the switch.
SKIPPED_SHARE = 0.75
TIMEOUT_S = 300


@dataclasses.dataclass(frozen=True)
class Contender:
    name: str
    fph: bool
    preempt: bool

    @property
    def caps(self) -> tuple[str, ...]:
        return (("postcopy-ram", "postcopy-blocktime")
                + (("postcopy-preempt",) if self.preempt else ()))


CONTENDERS = (Contender("default", False, False), Contender("fph", True, False),
              Contender("fph-preempt", True, True))


def run(qemu: str, image: str, c: Contender, finish_bw: int = 0) -> dict:
    """One migration of contender @c; @finish_bw (B/s): once the guest's
    workload is done, let postcopy finish at this bandwidth (a test that
    needs no postcopy_s saves a minute of default QEMU's).  Its figures:
    after_s (switch until the guest's AFTER_MIB are written), blocked_ms
    (the destination's postcopy-blocktime), postcopy_s (switch until
    completed), workload (its output, with its own duration), transferred
    (bytes), zero_pages (query-migrate's ram.duplicate), skipped (fph's
    pages skipped before the switch), verify (the pattern's check on the
    destination)."""
    with V.Pair(qemu, image, "fph-postcopy-", mem=MEM, fph=c.fph) as pair:
        src = pair.vm("src")
        guest = src.connect_guest(wait_ready=True)
        guest.check(f"fph-workload fill {FILL_MIB}")
        guest.check(f"fph-workload dirty {FREED_MIB}", timeout=120)
        # Capabilities on the destination before it listens (preempt).
        dst, uri = pair.destination("dst", caps=c.caps)
        t_start = time.monotonic()
        V.start_migration(src, dst, uri, PRECOPY_BW, caps=c.caps)
        src.cmd("migrate-set-parameters", max_postcopy_bandwidth=POSTCOPY_BW)
        t0 = time.monotonic()
        if c.fph:
            want = int(SKIPPED_SHARE * FREED_MIB * 256)
            V.wait_for(lambda: src.stats()["pages-skipped"] >= want, 120,
                       f"fph to skip {want} pages")
        time.sleep(max(0.0, PRECOPY_S - (time.monotonic() - t0)))
        skipped = src.stats()["pages-skipped"] if c.fph else 0
        src.cmd("migrate-start-postcopy")
        t_switch = time.monotonic()
        # Input sent before the destination runs would be lost.
        V.wait_for(lambda: dst.cmd("query-status")["running"], 60,
                   "the destination to run")
        dguest = dst.connect_guest(False)
        workload = dguest.check(f"fph-workload dirty {AFTER_MIB}",
                                timeout=TIMEOUT_S).strip()
        after_s = time.monotonic() - t_switch
        if finish_bw:
            src.cmd("migrate-set-parameters", max_postcopy_bandwidth=finish_bw)

        # The destination reports its (cumulative) blocktime only until it
        # cleans up its incoming state: read it while postcopy runs.
        blocked_ms = None
        deadline = time.monotonic() + TIMEOUT_S
        while (src.cmd("query-migrate")["status"] not in
               ("completed", "failed", "cancelled")
               and time.monotonic() < deadline):
            b = dst.cmd("query-migrate").get("postcopy-blocktime")
            blocked_ms = b if b is not None else blocked_ms
            time.sleep(0.2)
        b = dst.cmd("query-migrate").get("postcopy-blocktime")
        blocked_ms = b if b is not None else blocked_ms
        assert blocked_ms is not None, "no postcopy-blocktime reported"
        info = V.wait_migration(src, TIMEOUT_S, peers=(src, dst))
        # The source's own clock: the migration may end long before the
        # guest's workload does.
        postcopy_s = info["total-time"] / 1000 - (t_switch - t_start)
        out = dguest.check("fph-workload verify", timeout=120)
        assert guestctl.parse_kv(out, "verify").get("bad") == "0", out
        return {"contender": c.name, "after_s": after_s,
                "postcopy_s": postcopy_s, "blocked_ms": blocked_ms,
                "transferred": info["ram"]["transferred"],
                "zero_pages": info["ram"].get("duplicate", 0),
                "skipped": skipped, "verify": out.strip(),
                "workload": workload}


def describe(r: dict) -> str:
    return (f"{r['contender']:12} {AFTER_MIB} MiB written {r['after_s']:.1f} s "
            f"after the switch, vCPU blocked {r['blocked_ms'] / 1000:.1f} s, "
            f"postcopy {r['postcopy_s']:.1f} s, sent "
            f"{r['transferred'] >> 20} MiB, {r['zero_pages']} zero pages, "
            f"{r['skipped'] * 4096 >> 20} MiB skipped before the switch")
