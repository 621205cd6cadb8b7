# SPDX-License-Identifier: GPL-2.0-or-later
"""fph-bench: one run = one fresh source QEMU: boot, prepare the scenario,
migrate to a fresh destination on this machine (unix socket), and record
query-migrate, query-fph-stats and the guest-side figures as one raw JSON
row (docs/benchmarks.md, "Method")."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import time

import guestctl
import pgbench
import vm as V
from qemu.machine.machine import VMLaunchFailure

import matrix

# Samples MemFree every 100 ms in the guest and keeps the minimum in
# /run/fph-bench.min: how much memory a hinting scheme withholds.  Nice -20
# (busybox has no chrt) so that it still gets to run while the guest kernel
# is busy hinting; the sample count is recorded to show that it did.
SAMPLER_START = (
    "rm -f /run/fph-bench.min; (min=999999999; n=0; while :; do while read k v u; do "
    "if [ \"$k\" = MemFree: ]; then [ \"$v\" -lt \"$min\" ] && min=$v; break; fi; "
    "done </proc/meminfo; n=$((n+1)); echo \"min=$min samples=$n\" >/run/fph-bench.min; "
    "sleep 0.1; done) >/dev/null 2>&1 </dev/null & echo $! >/run/fph-bench.pid; "
    "renice -n -20 -p $! >/dev/null")
SAMPLER_STOP = "kill $(cat /run/fph-bench.pid) 2>/dev/null; cat /run/fph-bench.min"
GUEST_FPH = ("cd /sys/kernel/debug/virtio_fph && for f in *; do echo \"$f=$(cat $f)\"; "
             "done")


@dataclasses.dataclass(frozen=True)
class Settings:
    """What every run of one invocation shares."""
    qemu: str
    image: str
    disk: bool = False      # @image is a disk image dir (vm.DiskImage)
    settle_s: float = 3.0
    downtime_ms: int = 300
    keep: bool = False
    boot_timeout: float = 240
    prepare_timeout: float = 900
    migrate_timeout: float = 1200


@dataclasses.dataclass(frozen=True)
class RunSpec:
    mem_mib: int
    bw: int
    scenario: str
    contender: matrix.Contender
    rep: int


def loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


def iso_now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime())


def tail_file(path: str, size: int = 600) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            s = f.read().rstrip("\r\n")
    except OSError:
        return ""
    return s[-size:]


def _leading_int(s: str) -> int | None:
    m = re.match(r"\s*\+?(\d+)", s)
    return int(m.group(1)) if m else None


def meminfo(guest: guestctl.Guest) -> dict:
    kv = guestctl.parse_kv(guest.check("fph-workload meminfo", 60), "meminfo")
    return {k: int(kv[k]) for k in ("memtotal_kib", "memfree_kib", "memavailable_kib")
            if k in kv}


def _launch(st: Settings, rs: RunSpec, d: str, name: str, incoming: bool) -> V.VM:
    extra = [*rs.contender.qemu_args, *matrix.scenario_qemu_args(rs.scenario, rs.mem_mib)]
    if st.disk:
        # The image's own command line; udev loads the drivers of the
        # devices the contender has (modalias), nothing else.
        kw = {"disk": os.path.join(d, "disk.qcow2"), "smp": 2}
    else:
        kw = {"append": f"{guestctl.DEFAULT_APPEND} fph.skipmods={rs.contender.skipmods}"}
    try:
        return V.VM(st.qemu, st.image, d, name, mem=f"{rs.mem_mib}M", fph=False,
                    incoming="defer" if incoming else None, extra=extra, **kw)
    except VMLaunchFailure as e:
        what = "destination" if incoming else "source"
        cause = e.__cause__ or e
        raise RuntimeError(f"{what} QEMU did not start ({type(cause).__name__}: {cause}); "
                           f"its log: {tail_file(os.path.join(d, name + '.log'))}") from e


def _sampler_min(r: dict, out: str) -> None:
    """Output: "min=<kib> samples=<n>" (kernel messages may precede it)."""
    p = out.rfind("min=")
    for tok in (out[p:] if p >= 0 else "").split():
        k, sep, v = tok.partition("=")
        n = _leading_int(v) if sep else None
        if n is not None and k == "min":
            r["memfree_min_kib"] = n
        elif n is not None and k == "samples":
            r["memfree_samples"] = n
    if "memfree_min_kib" not in r:
        r["memfree_min_raw"] = out


def _guest_fph(out: str) -> dict:
    g = {}
    for line in out.split("\n"):
        k, sep, v = line.partition("=")
        n = _leading_int(v) if sep else None
        if n is not None:
            g[k] = n
    return g


def run_one(st: Settings, rs: RunSpec, d: str) -> dict:
    """One migration in scratch directory @d; returns its raw JSON row (with
    "ok" and, on failure, "error")."""
    r = {"mem_mib": rs.mem_mib, "bandwidth": rs.bw, "scenario": rs.scenario,
         "contender": rs.contender.name, "rep": rs.rep, "ok": False,
         "downtime_limit_ms": st.downtime_ms, "settle_s": st.settle_s,
         "started": iso_now(), "loadavg_before": loadavg()}
    t0 = time.monotonic()
    os.makedirs(d, exist_ok=True)
    src = dst = None
    try:
        if st.disk:
            # One overlay per run, opened by its source and its destination.
            V.DiskImage(st.image).overlay(os.path.join(d, "disk.qcow2"))
        src = _launch(st, rs, d, "src", False)
        con = src.connect_guest(wait_ready=False)
        r["boot_s"] = con.wait_ready(st.boot_timeout)

        tp = time.monotonic()
        r["prepare_out"] = [con.check(cmd, st.prepare_timeout)
                            for cmd in matrix.prepare_cmds(rs.scenario, rs.mem_mib)]
        r["prepare_s"] = time.monotonic() - tp
        time.sleep(st.settle_s)

        con.check(SAMPLER_START, 30)
        r["meminfo_before"] = meminfo(con)

        dst = _launch(st, rs, d, "dst", True)
        uri = f"unix:{d}/migrate.sock"
        dst.cmd("migrate-incoming", uri=uri)
        tm = time.monotonic()
        # No migration capabilities are changed (docs/benchmarks.md).
        V.start_migration(src, dst, uri, rs.bw, st.downtime_ms, return_path=False)
        r["migrate"] = V.wait_migration(src, st.migrate_timeout, interval=0.1,
                                        peers=(src, dst))
        r["migrate_wall_s"] = time.monotonic() - tm
        if rs.contender.fph:
            r["fph_stats"] = src.stats()

        # On the destination: sampler minimum, memory afterwards, guest cost.
        dcon = dst.connect_guest(wait_ready=False)
        _sampler_min(r, dcon.check(SAMPLER_STOP, 60))
        r["after_out"] = [dcon.check(cmd, 300) for cmd in matrix.after_cmds(rs.scenario)]
        if rs.scenario == "churn":
            kv = guestctl.parse_kv(r["after_out"][0], "churn")
            bad = _leading_int(kv["bad"]) if "bad" in kv else 1
            r["churn_bad"] = 1 if bad is None else bad
            if r["churn_bad"] != 0:
                raise RuntimeError(f"churn verification failed: {r['after_out'][0]}")
        if rs.scenario in ("debian-pgbench", "debian-cache-pgbench"):
            # The database's own checks: no failed transaction, TPC-B holds.
            i = 1 if rs.scenario == "debian-cache-pgbench" else 0
            try:
                r["pgbench_tps_line"] = pgbench.check_run(r["after_out"][i])
                r["tpcb_sum"], r["tpcb_history"] = pgbench.invariants(r["after_out"][i + 1])
            except AssertionError as e:
                raise RuntimeError(f"pgbench verification failed: {e}") from e
        if rs.contender.fph:
            r["guest_fph"] = _guest_fph(dcon.check(GUEST_FPH, 60))
        time.sleep(1)
        r["meminfo_after"] = meminfo(dcon)
        r["ok"] = True
    except Exception as e:  # noqa: BLE001 - a failed run is recorded, not fatal
        plain = isinstance(e, (RuntimeError, guestctl.GuestError, V.MigrationError))
        r["error"] = str(e) if plain and str(e) else f"{type(e).__name__}: {e}"
    finally:
        for m in (src, dst):
            if m:
                m.kill()
    r["wall_s"] = time.monotonic() - t0
    r["loadavg_after"] = loadavg()
    if not st.keep and r["ok"]:
        shutil.rmtree(d, ignore_errors=True)
    else:
        r["workdir"] = d
    return r
