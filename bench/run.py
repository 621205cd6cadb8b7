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
import hostcpu
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
# The guest's CPU time so far (/proc/stat's first line, USER_HZ ticks):
# read on the source just before migrating and first thing afterwards.
GUEST_STAT = "head -1 /proc/stat"
# Source trace events (log backend, -D FILE) of a multifd run: final_round().
TRACE_EVENTS = ("migration_completion_vm_stop", "multifd_send_ram_fill")
_RAM_FILL = re.compile(r"normal pages (\d+) zero pages (\d+)")
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
    cpu_interval: float = 0.05   # hostcpu.Sampler


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
    # Named threads (hostcpu.py finds the migration threads by name); on
    # a multifd source, the trace events that place its packets before or
    # after the switchover (final_round()).
    extra = [*rs.contender.qemu_args, *matrix.scenario_qemu_args(rs.scenario, rs.mem_mib),
             "-name", f"fph-bench-{name},debug-threads=on"]
    if rs.contender.multifd and not incoming:
        extra += [*(a for e in TRACE_EVENTS for a in ("-trace", f"enable={e}")),
                  "-D", os.path.join(d, f"{name}-trace.log")]
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


def configure(vm: V.VM, c: matrix.Contender, caps: tuple[str, ...] = ()) -> None:
    """The contender's migration capabilities (plus @caps) and parameters
    on one side; nothing for a contender without any (the plain default)."""
    caps = (*c.caps, *caps)
    if caps:
        vm.cmd("migrate-set-capabilities",
               capabilities=[{"capability": x, "state": True} for x in caps])
    if c.params:
        vm.cmd("migrate-set-parameters", **{k.replace("-", "_"): v for k, v in c.params})


def final_round(path: str) -> dict:
    """What the multifd channels sent after the source stopped the guest,
    from the source's trace (TRACE_EVENTS): QEMU's ram.downtime-bytes counts
    only the main channel (ram_transferred_add(); the multifd threads count
    into ram.multifd-bytes), so a multifd migration's final round is
    downtime-bytes + these pages.  A packet is counted on the side of the
    switchover where the send thread filled it."""
    r = {"stop_seen": False, "packets_before": 0, "normal_before": 0,
         "packets_after": 0, "normal_after": 0, "zero_after": 0}
    try:
        f = open(path, encoding="utf-8", errors="replace")
    except OSError:
        return {}
    with f:
        for line in f:
            if line.startswith("migration_completion_vm_stop"):
                r["stop_seen"] = True
            elif line.startswith("multifd_send_ram_fill"):
                m = _RAM_FILL.search(line)
                if not m:
                    continue
                if r["stop_seen"]:
                    r["packets_after"] += 1
                    r["normal_after"] += int(m.group(1))
                    r["zero_after"] += int(m.group(2))
                else:
                    r["packets_before"] += 1
                    r["normal_before"] += int(m.group(1))
    return r


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


def _host_after(r: dict, sampler: hostcpu.Sampler, vms: dict) -> None:
    """The host side once the migration ended: the source's threads
    (waiting up to 2 s for the migration threads to exit, so that the
    exact exited-thread total covers them), each QEMU's CPU and memory."""
    deadline = time.monotonic() + 2
    pid = sampler.pid
    while time.monotonic() < deadline and any(
            c.startswith(hostcpu.MIG_MAIN + hostcpu.MIG_SEND)
            for c, _, _ in hostcpu.threads(pid).values()):
        time.sleep(0.05)
    r["host_cpu"] = sampler.stop()
    r["host_meminfo_after"] = hostcpu.host_meminfo_kib()
    for name, (vm, t0) in vms.items():
        p = vm.get_pid()
        t1 = hostcpu.process_ticks(p) if p else None
        r[f"{name}_qemu"] = dict(hostcpu.status_kib(p) if p else {},
                                 cpu_ticks=None if t0 is None or t1 is None else t1 - t0)


def _measured_migrate(st: Settings, rs: RunSpec, src: V.VM, con: guestctl.Guest,
                      r: dict, uri: str, dst: V.VM | None = None) -> None:
    """Migrate @src (its capabilities set) to @uri at the run's bandwidth
    and downtime limit and wait for the end, measuring it: the guest's CPU
    time before, the source's threads and host memory throughout, each
    QEMU's CPU and memory after (_host_after()); @dst: the destination, if
    there is one."""
    src.cmd("migrate-set-parameters", max_bandwidth=rs.bw, downtime_limit=st.downtime_ms)
    r["guest_stat_before"] = con.check(GUEST_STAT, 30)
    sampler = hostcpu.Sampler(src.get_pid(), st.cpu_interval)
    vms = {"src": (src, None)}
    if dst:
        dpid = dst.get_pid()
        vms["dst"] = (dst, hostcpu.process_ticks(dpid) if dpid else None)
    sampler.start()
    try:
        tm = time.monotonic()
        src.cmd("migrate", uri=uri)
        r["migrate"] = V.wait_migration(src, st.migrate_timeout, interval=0.1,
                                        peers=(src, dst) if dst else (src,))
        r["migrate_wall_s"] = time.monotonic() - tm
        _host_after(r, sampler, vms)
    finally:
        sampler.stop()


def _source_figures(rs: RunSpec, d: str, src: V.VM, r: dict) -> None:
    """What the source knows once the migration ended: a multifd run's
    final round (final_round()), fph's stats."""
    if rs.contender.multifd:
        r["multifd_final"] = final_round(os.path.join(d, "src-trace.log"))
    if rs.contender.fph:
        r["fph_stats"] = src.stats()


def _migrate(st: Settings, rs: RunSpec, d: str, src: V.VM, con: guestctl.Guest,
             r: dict) -> tuple[V.VM, guestctl.Guest]:
    """Migrate to a fresh destination over a unix socket; returns it and
    its guest console."""
    dst = _launch(st, rs, d, "dst", True)
    try:
        uri = f"unix:{d}/migrate.sock"
        # The destination's capabilities before it listens (multifd: its
        # channels); none for the plain contenders (docs/benchmarks.md).
        configure(dst, rs.contender)
        dst.cmd("migrate-incoming", uri=uri)
        configure(src, rs.contender)
        _measured_migrate(st, rs, src, con, r, uri, dst)
        _source_figures(rs, d, src, r)
        return dst, dst.connect_guest(wait_ready=False)
    except BaseException:
        dst.kill()
        raise


def _snapshot(st: Settings, rs: RunSpec, d: str, src: V.VM, con: guestctl.Guest,
              r: dict) -> guestctl.Guest:
    """A live snapshot: migrate file: with mapped-ram while the guest runs
    (as QEMU's docs/devel/migration/mapped-ram.rst describes it: the same
    capabilities would be set on the QEMU that restores it), then resume the
    guest (cont: it stops at the end, in postmigrate) and return its
    console.  The file's allocated size (st_blocks * 512) is the cost; it
    is deleted afterwards."""
    path = os.path.join(d, "snapshot.mapped-ram")
    configure(src, rs.contender, matrix.SNAPSHOT_CAPS)
    try:
        _measured_migrate(st, rs, src, con, r, f"file:{path}")
        sb = os.stat(path)
        r["snapshot"] = {"allocated_bytes": sb.st_blocks * 512, "apparent_bytes": sb.st_size,
                         "status_after": src.cmd("query-status").get("status")}
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    _source_figures(rs, d, src, r)
    src.cmd("cont")
    return con


def run_one(st: Settings, rs: RunSpec, d: str) -> dict:
    """One migration (or live snapshot) in scratch directory @d; returns its
    raw JSON row (with "ok" and, on failure, "error")."""
    r = {"mem_mib": rs.mem_mib, "bandwidth": rs.bw, "scenario": rs.scenario,
         "contender": rs.contender.name, "rep": rs.rep, "ok": False,
         "downtime_limit_ms": st.downtime_ms, "settle_s": st.settle_s,
         "started": iso_now(), "loadavg_before": loadavg(),
         "host_meminfo_before": hostcpu.host_meminfo_kib()}
    t0 = time.monotonic()
    os.makedirs(d, exist_ok=True)
    src = dst = None
    snapshot = matrix.scenario(rs.scenario).target == "snapshot"
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
        if snapshot:
            dcon = _snapshot(st, rs, d, src, con, r)
        else:
            dst, dcon = _migrate(st, rs, d, src, con, r)

        # Where the guest runs now: its CPU time, sampler minimum, memory
        # afterwards, guest cost.
        r["guest_stat_after"] = dcon.check(GUEST_STAT, 60)
        _sampler_min(r, dcon.check(SAMPLER_STOP, 60))
        r["after_out"] = [dcon.check(cmd, 300)
                          for cmd in matrix.after_cmds(matrix.base_scenario(rs.scenario))]
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
