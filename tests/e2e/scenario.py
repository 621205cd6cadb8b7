# SPDX-License-Identifier: GPL-2.0-or-later
"""One migration scenario: boot a guest, prepare memory, migrate, verify.

Used by the end-to-end tests (test_migration.py) and `make demo`.
"""

from __future__ import annotations

import dataclasses

import guestctl
import targets as T
import vm as V


@dataclasses.dataclass
class Result:
    scenario: str
    fph: bool
    transferred: int          # query-migrate ram.transferred (bytes)
    normal: int               # non-zero pages sent
    duplicate: int            # zero pages sent
    total_time_ms: int
    downtime_ms: int
    syncs: int
    ram_bytes: int            # guest RAM size
    memfree_bytes: int        # guest MemFree at migration start
    memtotal_bytes: int
    pages_skipped: int = 0
    bytes_skipped: int = 0
    fph_stats: dict | None = None
    verify: str = ""          # output of the post-migration checks

    @property
    def used_bytes(self) -> int:
        """MemTotal - MemFree, the guest's own idea of used memory."""
        return self.memtotal_bytes - self.memfree_bytes

    @property
    def unfree_bytes(self) -> int:
        """RAM the guest does not report free (used + kernel reserved)."""
        return self.ram_bytes - self.memfree_bytes


def run(qemu: str, image_dir: str, scenario: str, fph: bool,
        prepare: list[str], during: list[str] | None = None,
        after: list[str] | None = None, mem_mib: int = 1024,
        bandwidth: int = T.BANDWIDTH_10G, keep: bool = False,
        extra: list[str] | None = None, log=print, smp: int = 1,
        accel: str = "tcg", on_arrival=None) -> Result:
    """Boot, run @prepare in the guest, start @during, migrate, run @after
    on the destination (each must exit 0).  @extra: more QEMU arguments,
    the same on both sides (a RAM layout); @smp: vCPUs on both sides;
    @accel: the -accel argument of both sides (default TCG).
    @on_arrival(guest): called with the destination's guest before
    @after (fph-selftest --x-corrupt-page damages a page there)."""
    with V.Pair(qemu, image_dir, f"fph-{scenario}-", keep=keep, log=log,
                mem=f"{mem_mib}M", fph=fph, extra=extra, smp=smp,
                accel=accel) as pair:
        src = pair.vm("src")
        guest = src.connect_guest(wait_ready=True)
        for cmd in prepare:
            guest.check(cmd, timeout=300)
        for cmd in during or []:
            guest.check(cmd, timeout=60)
        meminfo = guestctl.parse_kv(guest.check("fph-workload meminfo"),
                                    "meminfo")
        dst, uri = pair.destination("dst")
        info = V.migrate(src, dst, uri, bandwidth)
        res = Result(
            scenario=scenario, fph=fph,
            transferred=info["ram"]["transferred"],
            normal=info["ram"]["normal"], duplicate=info["ram"]["duplicate"],
            total_time_ms=info["total-time"], downtime_ms=info["downtime"],
            syncs=info["ram"]["dirty-sync-count"],
            ram_bytes=mem_mib << 20,
            memfree_bytes=int(meminfo["memfree_kib"]) << 10,
            memtotal_bytes=int(meminfo["memtotal_kib"]) << 10)
        if fph:
            res.fph_stats = src.stats()
            res.pages_skipped = res.fph_stats["pages-skipped"]
            res.bytes_skipped = res.fph_stats["bytes-skipped"]
        guest2 = dst.connect_guest(wait_ready=False)
        if on_arrival:
            on_arrival(guest2)
        outs = [guest2.check(cmd, timeout=300) for cmd in after or []]
        res.verify = "".join(outs).strip()
        return res


def mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"
