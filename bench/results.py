# SPDX-License-Identifier: GPL-2.0-or-later
"""fph-bench: what one run measured (metrics of a raw JSON row) and the runs
grouped by cell (guest size, bandwidth, scenario, contender)."""

from __future__ import annotations

import collections
import math
import typing

import hostcpu
import matrix
from stats import NAN, Summary, summarize

MIB = 1024.0 * 1024.0


def jnum(r: dict, *path: str) -> float:
    """The number at @path in @r, NaN if absent or not a number."""
    p: typing.Any = r
    for k in path:
        if not isinstance(p, dict) or k not in p:
            return NAN
        p = p[k]
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        return NAN
    return float(p)


# ------------------------------------------------------------ run metrics
def transferred_mib(r: dict) -> float:
    return jnum(r, "migrate", "ram", "transferred") / MIB


def time_s(r: dict) -> float:
    return jnum(r, "migrate", "total-time") / 1000


def downtime_ms(r: dict) -> float:
    return jnum(r, "migrate", "downtime")


def downtime_mib(r: dict) -> float:
    """QEMU's ram.downtime-bytes: sent on the main channel while the guest
    was stopped (for multifd, not the channels' pages: final_round_mib)."""
    return jnum(r, "migrate", "ram", "downtime-bytes") / MIB


def final_round_mib(r: dict) -> float:
    """Sent in the final round, while the guest was stopped: downtime-bytes,
    plus, for multifd, the pages the channels sent after the stop (run.py,
    final_round(); their packet headers are not counted)."""
    mf = r.get("multifd_final")
    if mf is None:
        return downtime_mib(r)
    if not mf.get("stop_seen"):
        return NAN
    page = jnum(r, "migrate", "ram", "page-size")
    page = 4096.0 if math.isnan(page) else page
    return downtime_mib(r) + jnum(r, "multifd_final", "normal_after") * page / MIB


def multifd_mib(r: dict) -> float:
    return jnum(r, "migrate", "ram", "multifd-bytes") / MIB


def setup_ms(r: dict) -> float:
    return jnum(r, "migrate", "setup-time")


def syncs(r: dict) -> float:
    return jnum(r, "migrate", "ram", "dirty-sync-count")


def normal_mib(r: dict) -> float:
    return jnum(r, "migrate", "ram", "normal") * 4096 / MIB


def zero_pages(r: dict) -> float:
    return jnum(r, "migrate", "ram", "duplicate")


def used_mib(r: dict) -> float:
    """MemTotal - MemFree just before migrating."""
    return (jnum(r, "meminfo_before", "memtotal_kib")
            - jnum(r, "meminfo_before", "memfree_kib")) / 1024


def unfree_mib(r: dict) -> float:
    """RAM - MemFree just before migrating."""
    return jnum(r, "mem_mib") - jnum(r, "meminfo_before", "memfree_kib") / 1024


def withheld_mib(r: dict) -> float:
    """Largest drop of MemFree below its value just before migrating,
    sampled every 100 ms in the guest from migration start until read back."""
    d = (jnum(r, "meminfo_before", "memfree_kib") - jnum(r, "memfree_min_kib")) / 1024
    return d if math.isnan(d) else max(0.0, d)


def guest(r: dict, key: str) -> float:
    """A guest debugfs counter of fph (/sys/kernel/debug/virtio_fph/KEY)."""
    return jnum(r, "guest_fph", key)


def skipped_mib(r: dict) -> float:
    return jnum(r, "fph_stats", "bytes-skipped") / MIB


def pgbench_tps(r: dict) -> float:
    """debian-pgbench: pgbench's tps over its whole run (through the
    migration), from its summary on the destination."""
    out = (r.get("after_out") or [""])[0]
    for line in out.splitlines():
        if line.startswith("tps = "):
            try:
                return float(line.split()[2])
            except (IndexError, ValueError):
                break
    return NAN


def post_tps(r: dict) -> float:
    """debian-cache-pgbench: pgbench's tps in the matrix.POST_S seconds from
    the destination's first command (within ~1 s of the switchover), the
    mean of its per-second progress reports (-P 1 --progress-timestamp:
    "progress: <epoch> s, <tps> tps, ...") in that window."""
    out = r.get("after_out") or []
    if len(out) < 2:
        return NAN
    try:
        t0 = float(out[0].split()[-1])
    except (IndexError, ValueError):
        return NAN
    tps = []
    for line in out[1].splitlines():
        f = line.replace(",", "").split()
        if len(f) >= 5 and f[0] == "progress:" and f[4] == "tps":
            try:
                t, v = float(f[1]), float(f[3])
            except ValueError:
                continue
            if t0 < t <= t0 + matrix.POST_S:
                tps.append(v)
    return sum(tps) / len(tps) if len(tps) >= matrix.POST_S // 2 else NAN


def reread_s(r: dict) -> float:
    """Seconds to read the cold file again on the destination (dd's summary
    "... copied, 3.2 s, 335 MB/s"), the last command of the scenario."""
    out = (r.get("after_out") or [""])[-1]
    try:
        return float(out.split("copied,")[1].split()[0])
    except (IndexError, ValueError):
        return NAN


# ------------------------------------------------------------ cost (host, guest)
def _thread_s(r: dict, prefixes: tuple[str, ...]) -> float:
    ns = hostcpu.named_ns(r.get("host_cpu") or {}, prefixes)
    return NAN if ns is None else ns / 1e9


def _ticks_s(r: dict, *path: str) -> float:
    """A clock-tick count of the raw row (@path) in seconds, at the rate
    hostcpu.py recorded (host_cpu.clk_tck)."""
    return jnum(r, *path) / ((r.get("host_cpu") or {}).get("clk_tck") or 100)


def mig_thread_s(r: dict) -> float:
    """CPU time of the source's migration thread (mig/src/main), sampled
    every host_cpu.interval_s until it exited (hostcpu.py)."""
    return _thread_s(r, hostcpu.MIG_MAIN)


def multifd_send_s(r: dict) -> float:
    """CPU time of the source's multifd send threads together (sampled);
    NaN without multifd."""
    return _thread_s(r, hostcpu.MIG_SEND)


def exited_threads_s(r: dict) -> float:
    """CPU time of every source thread that exited during the migration,
    exact (process total minus live threads; clock ticks): the migration
    thread and the multifd send threads, unless some other thread exited."""
    return _ticks_s(r, "host_cpu", "exited_ticks")


def src_cpu_s(r: dict) -> float:
    """CPU time of the whole source QEMU (vCPU included) over the migration."""
    return _ticks_s(r, "host_cpu", "process_ticks")


def dst_cpu_s(r: dict) -> float:
    """CPU time of the whole destination QEMU from migrate to completion
    (+ up to 2 s while the source's threads exit)."""
    return _ticks_s(r, "dst_qemu", "cpu_ticks")


def _guest_ticks(out: str) -> tuple[float, float]:
    """(busy, all) USER_HZ ticks of /proc/stat's "cpu " line (busy: all but
    idle and iowait)."""
    for line in (out or "").splitlines():
        f = line.split()
        if len(f) >= 8 and f[0] == "cpu":
            try:
                v = [float(x) for x in f[1:]]
            except ValueError:
                break
            return sum(v[:8]) - v[3] - v[4], sum(v[:8])
    return NAN, NAN


def guest_cpu_s(r: dict) -> float:
    """The guest's busy CPU time (all vCPUs, /proc/stat, 100 ticks/s) from
    just before migrating to just after, on the destination: hinting, the
    MemFree sampler and whatever else runs; compare with default's."""
    before = _guest_ticks(r.get("guest_stat_before", ""))[0]
    after = _guest_ticks(r.get("guest_stat_after", ""))[0]
    return (after - before) / 100


def dst_rss_mib(r: dict) -> float:
    """The destination QEMU's resident memory after the migration."""
    return jnum(r, "dst_qemu", "VmRSS") / 1024


def dst_hwm_mib(r: dict) -> float:
    return jnum(r, "dst_qemu", "VmHWM") / 1024


def src_rss_mib(r: dict) -> float:
    return jnum(r, "src_qemu", "VmRSS") / 1024


def host_avail_min_mib(r: dict) -> float:
    """The host's lowest MemAvailable sampled during the migration."""
    return jnum(r, "host_cpu", "mem_available_min_kib") / 1024


def snapshot_alloc_mib(r: dict) -> float:
    """A live snapshot file's allocated size (st_blocks * 512)."""
    return jnum(r, "snapshot", "allocated_bytes") / MIB


def snapshot_apparent_mib(r: dict) -> float:
    return jnum(r, "snapshot", "apparent_bytes") / MIB


def reclaimed_mib(r: dict) -> float:
    return jnum(r, "fph_stats", "reclaim", "last-bytes") / MIB


def reclaim_wait_ms(r: dict) -> float:
    return jnum(r, "fph_stats", "reclaim", "last-wait-ms")


# ------------------------------------------------------------ grouping
class Key(typing.NamedTuple):
    mem_mib: int
    bw: int
    scenario: str
    contender: str


class Results:
    """The runs of a raw JSON document, by cell; failed runs apart."""

    def __init__(self, doc: dict):
        self.doc = doc
        self.ok: dict[Key, list[dict]] = collections.defaultdict(list)
        self.failed: dict[Key, list[dict]] = collections.defaultdict(list)
        mems, bws, scen, cont = set(), set(), set(), set()
        for r in doc.get("runs", []):
            k = Key(r.get("mem_mib", 0), r.get("bandwidth", 0),
                    r.get("scenario", ""), r.get("contender", ""))
            mems.add(k.mem_mib)
            bws.add(k.bw)
            scen.add(k.scenario)
            cont.add(k.contender)
            (self.ok if r.get("ok", False) else self.failed)[k].append(r)
        self.mems = sorted(mems)
        self.bws = sorted(bws, reverse=True)  # fastest first
        self.scenarios = [s for s in matrix.SCENARIO_NAMES if s in scen]
        self.contenders = [c for c in matrix.CONTENDER_NAMES if c in cont]
        self._cont = cont

    def sum(self, k: Key, metric: typing.Callable[[dict], float]) -> Summary:
        return summarize(metric(r) for r in self.ok.get(k, []))

    def median(self, k: Key, metric: typing.Callable[[dict], float]) -> float:
        return self.sum(k, metric).median

    def n_ok(self, k: Key) -> int:
        return len(self.ok.get(k, []))

    def n_failed(self, k: Key) -> int:
        return len(self.failed.get(k, []))

    def has(self, contender: str) -> bool:
        return contender in self._cont

    def failed_runs(self) -> list[tuple[Key, dict]]:
        """Failed runs by cell (sorted by key), in run order within a cell."""
        return [(k, r) for k in sorted(self.failed) for r in self.failed[k]]
