# SPDX-License-Identifier: GPL-2.0-or-later
"""fph-bench: the host side's cost of a run: CPU time per QEMU thread, per
QEMU process, and memory (RSS, host MemAvailable), from /proc.

QEMU names its threads only with -name ...,debug-threads=on (run.py
passes it): the migration thread is "mig/src/main" in QEMU 9.2 and later
("live_migration" before), the multifd send threads "mig/src/send_N"
("multifdsend_N" before).  Both exit when the migration ends, and with
them their /proc/PID/task/TID, so a background thread samples every
thread of the process (schedstat: ns on CPU) while the migration runs and
keeps the last value it saw.  What ran after the last sample is not lost
from the process total: /proc/PID/stat counts the CPU time of exited
threads too, so (process total - live threads) grows by exactly what the
threads that exited used (in clock ticks), which bounds the tail."""

from __future__ import annotations

import os
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
# Thread names (comm) of the source's migration threads, QEMU >= 9.2 and
# older.
MIG_MAIN = ("mig/src/main", "live_migration")
MIG_SEND = ("mig/src/send_", "multifdsend_")


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _stat_ticks(path: str) -> int | None:
    """utime + stime of a /proc/.../stat (the comm may hold spaces and
    parentheses: fields are counted from the last ')')."""
    s = _read(path)
    p = s.rfind(")")
    if p < 0:
        return None
    f = s[p + 2:].split()
    try:
        return int(f[11]) + int(f[12])   # fields 14 and 15
    except (IndexError, ValueError):
        return None


def process_ticks(pid: int) -> int | None:
    """CPU time of the process, live and exited threads (clock ticks)."""
    return _stat_ticks(f"/proc/{pid}/stat")


def thread_ns(pid: int, tid: str) -> int | None:
    """CPU time of one thread in ns (schedstat), else from stat's ticks."""
    s = _read(f"/proc/{pid}/task/{tid}/schedstat").split()
    if s:
        try:
            return int(s[0])
        except ValueError:
            pass
    t = _stat_ticks(f"/proc/{pid}/task/{tid}/stat")
    return None if t is None else t * 1_000_000_000 // CLK_TCK


def threads(pid: int) -> dict[str, tuple[str, int | None, int | None]]:
    """{tid: (comm, ns, ticks)} of the live threads of @pid."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        comm = _read(f"/proc/{pid}/task/{tid}/comm").rstrip("\n")
        out[tid] = (comm, thread_ns(pid, tid),
                    _stat_ticks(f"/proc/{pid}/task/{tid}/stat"))
    return out


def _kib_fields(path: str, keys: tuple[str, ...]) -> dict:
    """The "Key: N kB" lines of @path named in @keys, in KiB."""
    out = {}
    for line in _read(path).splitlines():
        k, _, v = line.partition(":")
        if k in keys:
            try:
                out[k] = int(v.split()[0])
            except (IndexError, ValueError):
                pass
    return out


def status_kib(pid: int) -> dict:
    """VmRSS, VmHWM (peak RSS), RssAnon of /proc/PID/status, in KiB."""
    return _kib_fields(f"/proc/{pid}/status", ("VmRSS", "VmHWM", "RssAnon"))


def host_meminfo_kib() -> dict:
    return _kib_fields("/proc/meminfo", ("MemTotal", "MemAvailable", "MemFree"))


def _live_ticks(th: dict) -> int:
    return sum(t for _, _, t in th.values() if t is not None)


class Sampler:
    """Samples the threads of QEMU process @pid every @interval s from
    start() to stop(), and host MemAvailable with them.  stop() returns
    the raw record (JSON-able):

    threads: {tid: {comm, ns_start (0 for a thread born meanwhile),
             ns_last, exited}}: CPU ns between start and the last sample;
    exited_ticks: CPU ticks of the threads that exited meanwhile, exact
             (process total - live threads, end minus start);
    process_ticks: the process's CPU over the window (clock ticks);
    mem_available_min_kib: the host's lowest MemAvailable seen."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid = pid
        self.interval = interval
        self._stop = threading.Event()
        self._thr: threading.Thread | None = None
        self._seen: dict[str, dict] = {}
        self._samples = 0
        self._mem_min: int | None = None
        self._t0 = 0.0
        self._start: tuple[int | None, int] = (None, 0)
        self._rec: dict = {}

    def _sample(self, first: bool = False) -> dict:
        th = threads(self.pid)
        for tid, (comm, ns, _) in th.items():
            if ns is None:
                continue
            e = self._seen.get(tid)
            if e is None:
                self._seen[tid] = e = {"comm": comm, "ns_start": ns if first else 0,
                                       "ns_last": ns, "exited": False}
            e["ns_last"] = ns
            e["comm"] = comm or e["comm"]
        for tid, e in self._seen.items():
            if tid not in th:
                e["exited"] = True
        m = host_meminfo_kib().get("MemAvailable")
        if m is not None and (self._mem_min is None or m < self._mem_min):
            self._mem_min = m
        self._samples += 1
        return th

    def start(self) -> None:
        th = self._sample(first=True)
        self._start = (process_ticks(self.pid), _live_ticks(th))
        self._t0 = time.monotonic()
        self._thr = threading.Thread(target=self._loop, name="fph-bench-hostcpu",
                                     daemon=True)
        self._thr.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def stop(self) -> dict:
        """The record (once; later calls return it again)."""
        if self._stop.is_set():
            return self._rec
        self._stop.set()
        if self._thr:
            self._thr.join()
        th = self._sample()
        end = (process_ticks(self.pid), _live_ticks(th))
        r = {"interval_s": self.interval, "samples": self._samples,
             "window_s": time.monotonic() - self._t0, "clk_tck": CLK_TCK,
             "mem_available_min_kib": self._mem_min,
             "threads": {tid: dict(e, ns=e["ns_last"] - e["ns_start"])
                         for tid, e in self._seen.items()
                         if e["ns_last"] - e["ns_start"] > 0 or e["exited"]}}
        if self._start[0] is not None and end[0] is not None:
            r["process_ticks"] = end[0] - self._start[0]
            r["exited_ticks"] = (end[0] - end[1]) - (self._start[0] - self._start[1])
        self._rec = r
        return r


def named_ns(rec: dict, prefixes: tuple[str, ...]) -> int | None:
    """CPU ns of the threads whose name starts with one of @prefixes (None
    if there is none)."""
    v = [t["ns"] for t in rec.get("threads", {}).values()
         if t.get("comm", "").startswith(prefixes)]
    return sum(v) if v else None
