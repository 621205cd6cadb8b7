#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fph-bench: migrate the same guest between two QEMU processes on this
machine (unix socket) for each scenario x contender x guest size x
bandwidth x repetition, record query-migrate, query-fph-stats and the
guest-side cost, and write raw JSON, markdown tables and a plot.

  fph-bench.py --qemu build/fph-qemu --image build/guest --matrix reduced
               --out docs/benchmarks/fph-bench.json
               --plot docs/benchmarks/fph-bench.png --doc docs/benchmarks.md
  fph-bench.py --smoke --qemu ... --image ...     (exit 1 if fph > default)
  fph-bench.py --report-only docs/benchmarks/fph-bench.json --plot ... --doc ...

QEMU is driven through QEMU's python/qemu (tests/e2e/vm.py, on PYTHONPATH:
make sets it), the guest through tests/e2e/guestctl.py.  See
docs/benchmarks.md for the method and the results.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(1, os.path.join(HERE, "..", "tests", "e2e"))

import guestctl  # noqa: E402
import matrix  # noqa: E402
import plot  # noqa: E402
import report  # noqa: E402
import results as M  # noqa: E402
from results import Key, Results  # noqa: E402
from targets import BANDWIDTH_10G  # noqa: E402

_NUM = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")


def _split_num(s: str) -> tuple[float, str]:
    m = _NUM.match(s)
    return (float(m.group(1)), s[m.end():]) if m else (0.0, s)


def parse_size_mib(s: str) -> int:
    """"2G", "1.5GiB", "512M", "512" -> MiB."""
    v, u = _split_num(s)
    if u in ("G", "g", "GiB"):
        return int(v * 1024)
    if u in ("M", "m", "MiB", ""):
        return int(v)
    raise ValueError(f"bad size {s}")


def parse_bw(s: str) -> int:
    """"10G" / "1G" are Gbit/s; a plain number is bytes/s (max-bandwidth)."""
    v, u = _split_num(s)
    if u in ("G", "g"):
        return int(v * 1e9 / 8)
    if u in ("M", "m"):
        return int(v * 1e6 / 8)
    if u == "":
        return int(v)
    raise ValueError(f"bad bandwidth {s}")


def split(s: str) -> list[str]:
    return [x for x in s.split(",") if x]


@dataclasses.dataclass(frozen=True)
class Matrix:
    """A named matrix: guest sizes (MiB), bandwidths (bytes/s), repetitions;
    empty scenarios and contenders: the guest's defaults."""
    mems: tuple[int, ...]
    bws: tuple[int, ...]
    reps: int
    scenarios: tuple[str, ...] = ()
    contenders: tuple[str, ...] = ()

    def describe(self) -> str:
        mems = ",".join(f"{m / 1024:g}" for m in self.mems) + " GiB"
        bws = " and ".join(report.bw_label(b) for b in self.bws)
        reps = f"{self.reps} rep{'s' if self.reps > 1 else ''}"
        what = [", ".join(self.scenarios), " vs ".join(self.contenders)]
        return ", ".join([mems, bws, reps, *[w for w in what if w]])


MATRICES = {
    "reduced": Matrix((1024, 2048), (BANDWIDTH_10G,), 3),
    "full": Matrix((1024, 2048, 4096), (BANDWIDTH_10G, BANDWIDTH_10G // 10), 3),
    "smoke": Matrix((1024,), (BANDWIDTH_10G,), 1, ("freed-dirty",), ("default", "fph")),
    "debian13": Matrix((2048,), (BANDWIDTH_10G,), 1),
}


class Usage(Exception):
    """A bad command line (exit 2)."""


def _names(names) -> str:
    return ",".join(names)


def _parser() -> argparse.ArgumentParser:
    """The options; the lists in their help come from matrix.py."""
    busybox_extra = [s for s in matrix.scenario_names("busybox")
                     if s not in matrix.default_scenarios("busybox")]
    opt_in = [c.name for c in matrix.CONTENDERS if not c.in_default]
    ap = argparse.ArgumentParser(
        prog="fph-bench", allow_abbrev=False,
        description="Benchmark fph against default QEMU and virtio-balloon "
        "(docs/benchmarks.md).")
    a = ap.add_argument
    a("--qemu", default="", metavar="PATH", help="emulator (build/fph-qemu)")
    a("--image", default="", metavar="DIR",
      help="guest image directory with vmlinuz and initramfs (build/guest); with "
      "--guest debian13 the disk image's (build/debian13)")
    a("--guest", default="busybox", choices=matrix.GUESTS,
      help="busybox (default), or debian13: the Debian 13 systemd guest on a qcow2 "
      "overlay per run, 2 vCPUs, its own scenarios and matrix ("
      + MATRICES["debian13"].describe() + ")")
    a("--matrix", default="reduced", choices=("reduced", "full", "smoke"),
      help="; ".join(f"{n}: {MATRICES[n].describe()}" for n in ("reduced", "full"))
      + "; both with the default scenarios and contenders (reduced is the default)")
    a("--smoke", action="store_true",
      help="--matrix smoke (" + MATRICES["smoke"].describe() + "); exit 1 if fph "
      "transfers more than default or a run fails")
    a("--mem", default="", metavar="1G,2G", help="guest sizes (M or G)")
    a("--bandwidth", default="", metavar="10G,1G",
      help="max-bandwidth: Gbit/s with G, Mbit/s with M, plain bytes/s")
    a("--reps", default="", metavar="N", help="repetitions")
    a("--settle", type=float, default=3.0, metavar="SEC",
      help="pause before migrating (3)")
    a("--scenarios", default="", metavar="a,b",
      help="busybox: " + _names(matrix.default_scenarios("busybox")) + " by default, "
      + _names(busybox_extra) + " only when named; debian13: "
      + _names(matrix.scenario_names("debian13")))
    a("--contenders", default="", metavar="a,b",
      help=_names(matrix.default_contenders()) + " by default (those a scenario names "
      "only in it); " + _names(opt_in) + " only when named")
    a("--budget-min", type=float, default=0.0, metavar="N",
      help="start no new run after N minutes (0: no limit)")
    a("--out", default="", metavar="FILE.json", help="raw results (rewritten after every run)")
    a("--append", action="store_true",
      help="add to the runs already in --out (another part of a matrix)")
    a("--plot", default="", metavar="FILE.png", help="gnuplot PNG")
    a("--doc", default="", metavar="FILE.md", help="update its generated section")
    a("--doc-section", default="", metavar="NAME",
      help="which generated section of --doc (default: the unnamed one)")
    a("--report-only", default="", metavar="FILE.json",
      help="regenerate the plot and --doc (or print the tables) from raw results")
    a("--workdir", default="", metavar="DIR", help="scratch (default /tmp/fph-bench-PID)")
    a("--keep", action="store_true", help="keep the work directory and its logs")
    return ap


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = _parser()
    o = ap.parse_args(argv)
    o.cmdline = " ".join(["fph-bench", *argv])
    o.downtime_ms = 300

    if o.smoke:
        o.matrix = "smoke"
    if o.guest == "debian13":
        if o.smoke or o.matrix != "reduced":
            raise Usage("--smoke and --matrix are for the busybox guest; --guest debian13 "
                        f"has its own matrix ({MATRICES['debian13'].describe()}; --mem, "
                        "--bandwidth, --reps override it)")
        o.matrix = "debian13"
    m = MATRICES[o.matrix]
    o.mems, o.bws, o.n_reps = list(m.mems), list(m.bws), m.reps
    o.scen, o.cont = list(m.scenarios), list(m.contenders)
    o.smoke = o.matrix == "smoke"
    if not o.smoke and (o.mem + o.bandwidth + o.reps + o.scenarios + o.contenders):
        o.matrix += " + overrides"
    try:
        if o.mem:
            o.mems = [parse_size_mib(s) for s in split(o.mem)]
        if o.bandwidth:
            o.bws = [parse_bw(s) for s in split(o.bandwidth)]
        if o.reps:
            o.n_reps = int(o.reps)
    except ValueError as e:
        raise Usage(str(e)) from e
    if o.scenarios:
        o.scen = split(o.scenarios)
    if o.contenders:
        o.cont = split(o.contenders)
    o.scen = o.scen or matrix.default_scenarios(o.guest)
    o.cont = o.cont or matrix.default_contenders()
    for s in o.scen:
        if s not in matrix.scenario_names(o.guest):
            raise Usage(f"unknown scenario {s} for the {o.guest} guest")
    for c in o.cont:
        if c not in matrix.CONTENDER_NAMES:
            raise Usage(f"unknown contender {c}")
    for s in o.scen:
        only = matrix.scenario(s).contenders
        if only and not set(only) & set(o.cont):
            raise Usage(f"scenario {s} runs only with {','.join(only)}")
    return o


def log(*parts: str, end: str = "\n") -> None:
    """Progress on stderr; a closed stderr (| head) does not stop the runs."""
    try:
        print(*parts, end=end, file=sys.stderr, flush=True)
    except OSError:
        pass


# ------------------------------------------------------------ report
def make_report(o: argparse.Namespace, doc: dict) -> int:
    body = report.body(doc)
    rc = 0
    if o.plot:
        pp = os.path.abspath(o.plot)
        os.makedirs(os.path.dirname(pp), exist_ok=True)
        try:
            plot.plot(Results(doc), pp)
            log(f"fph-bench: wrote {o.plot}")
        except plot.PlotError as e:
            log(f"fph-bench: plot: {e}")
            rc = 1
        if o.doc:
            rel = os.path.relpath(os.path.realpath(pp),
                                  os.path.dirname(os.path.realpath(o.doc)))
            body += ("![MiB transferred and migration time per scenario and contender]"
                     f"({rel})\n\n")
    if o.doc:
        try:
            report.update_doc(o.doc, body, o.doc_section)
            log(f"fph-bench: updated {o.doc}")
        except OSError as e:
            log(f"fph-bench: cannot write {o.doc}: {e}")
            rc = 1
    else:
        sys.stdout.write(body)
        sys.stdout.flush()
    return rc


def smoke_verdict(doc: dict, bw: int, failed: int, planned: int) -> int:
    """The PASS/FAIL line of make bench-smoke; 1 if fph sent more than default."""
    R = Results(doc)
    d, f = Key(1024, bw, "freed-dirty", "default"), Key(1024, bw, "freed-dirty", "fph")
    db, fb = R.median(d, M.transferred_mib), R.median(f, M.transferred_mib)
    used = R.median(f, M.used_mib)
    if failed:
        print(f"bench-smoke: FAIL ({failed} of {planned} runs failed, see above)", flush=True)
        return 1

    def div(a: float, b: float) -> float:
        return a / b if b else (math.nan if a != a or a == 0 else math.copysign(math.inf, a))
    ok = not math.isnan(db) and not math.isnan(fb) and fb <= db
    print(f"bench-smoke: 1 GiB freed-dirty: default {db:.0f} MiB in "
          f"{R.median(d, M.time_s):.2f} s, fph {fb:.0f} MiB in {R.median(f, M.time_s):.2f} s "
          f"({div(fb, db):.2f} x default, {div(fb, used):.2f} x used {used:.0f} MiB): "
          f"{'PASS' if ok else 'FAIL'}", flush=True)
    return 0 if ok else 1


def print_verdicts(doc: dict) -> None:
    """Issue #33's acceptance per cell (report.modern_verdicts), when the
    results have default-multifd: one line each, pass or lose."""
    for cell, c, what, meas, ok in report.modern_verdicts(Results(doc)):
        print(f"fph-bench: {cell}: {c}: {what} default-multifd: {meas}: "
              f"{'pass' if ok else 'LOSE'}", flush=True)


# ------------------------------------------------------------ runs
def _sha16(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()[:16]
    except OSError:
        return ""


def qemu_sha256(qemu: str) -> str:
    """The emulator binary's hash; of the binary a wrapper script execs
    (build/fph-qemu), not of the script."""
    try:
        with open(qemu, "rb") as f:
            head = f.read(4096)
    except OSError:
        return ""
    if head.startswith(b"#!"):
        m = re.search(rb"^exec ([^ \n]*)", head, re.M)
        return _sha16(m.group(1).decode()) if m else ""
    return _sha16(qemu)


def qemu_version(qemu: str) -> str:
    try:
        out = subprocess.run([qemu, "--version"], stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=60).stdout
    except (OSError, ValueError):
        return ""
    return (out.splitlines() or [""])[0].rstrip(" ")


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\n ")
    except OSError:
        return ""


def write_json_atomic(path: str, doc: dict) -> None:
    if not path:
        return
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    os.replace(path + ".tmp", path)


def _image_json(image: str) -> dict:
    try:
        with open(os.path.join(image, "image.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _image_key(image: str) -> str:
    """The disk image's cache key (scripts/build-debian-image.sh)."""
    return _image_json(image).get("key", "")


def _image_append(image: str) -> str:
    return _image_json(image).get("append", "")


def plan_runs(o: argparse.Namespace, run) -> list:
    """Repetitions outermost, so that an interrupted or budget-limited run
    still covers every cell; the contender order rotates."""
    plan, rot = [], 0
    for rep in range(1, o.n_reps + 1):
        for m in o.mems:
            for bw in o.bws:
                for s in o.scen:
                    only = matrix.scenario(s).contenders
                    conts = [matrix.contender(c) for c in o.cont
                             if c in only or not (only or matrix.contender(c).opt_in)]
                    plan += [run.RunSpec(m, bw, s, conts[(i + rot) % len(conts)], rep)
                             for i in range(len(conts))]
                    rot += 1
    return plan


def eta_s(plan: list, i: int, durations: dict[int, list[float]]) -> float:
    """Mean duration per guest size so far (scaled by size from the others
    if a size has not run yet)."""
    per_mib = [d / m for m, v in durations.items() for d in v]
    eta = 0.0
    for rs in plan[i:]:
        v = durations.get(rs.mem_mib)
        if v:
            eta += sum(v) / len(v)
        elif per_mib:
            eta += sum(per_mib) / len(per_mib) * rs.mem_mib
        else:
            return math.nan
    return eta


def main(argv: list[str]) -> int:
    try:
        o = parse_args(argv)
    except Usage as e:
        _parser().print_usage(sys.stderr)
        log(f"fph-bench: error: {e}")
        return 2

    if o.report_only:
        try:
            with open(o.report_only, encoding="utf-8") as f:
                doc = json.load(f)
        except OSError:
            log(f"fph-bench: cannot read {o.report_only}")
            return 2
        rc = make_report(o, doc)
        if o.doc:
            print_verdicts(doc)
        return rc

    if not o.qemu or not o.image:
        _parser().print_usage(sys.stderr)
        log("fph-bench: error: --qemu and --image are required")
        return 2
    disk = o.guest == "debian13"
    for f in (("image.json",) if disk else ("vmlinuz", "initramfs")):
        if not os.path.exists(os.path.join(o.image, f)):
            log(f"fph-bench: {o.image}/{f} missing (make {'image-debian' if disk else 'image'})")
            return 2
    if not os.access(o.qemu, os.X_OK):
        log(f"fph-bench: {o.qemu} is not executable")
        return 2
    o.qemu, o.image = os.path.abspath(o.qemu), os.path.abspath(o.image)
    o.workdir = o.workdir or f"/tmp/fph-bench-{os.getpid()}"
    os.makedirs(o.workdir, exist_ok=True)

    import run  # QEMU's python/qemu: only needed to run something

    interrupted = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: interrupted.append(1))
    settings = run.Settings(o.qemu, o.image, disk=disk, settle_s=o.settle,
                            downtime_ms=o.downtime_ms, keep=o.keep)
    plan = plan_runs(o, run)

    un = os.uname()
    meta = {
        "tool": "fph-bench", "cmdline": o.cmdline, "matrix": o.matrix,
        "mems_mib": o.mems, "bandwidths": o.bws, "reps": o.n_reps,
        "scenarios": o.scen, "contenders": o.cont,
        "downtime_ms": o.downtime_ms, "settle_s": o.settle,
        "qemu": o.qemu, "qemu_version": qemu_version(o.qemu),
        "qemu_sha256": qemu_sha256(o.qemu), "image": o.image,
        "guest": o.guest,
        "initramfs_sha256": _sha16(os.path.join(o.image, "initramfs")),
        "image_key": _image_key(o.image),
        "guest_kernel": read_text(os.path.join(o.image, "kver")),
        "append": _image_append(o.image) if disk else guestctl.DEFAULT_APPEND,
        "host": f"{un.sysname} {un.release} {un.machine}",
        "nproc": os.sysconf("SC_NPROCESSORS_ONLN"),
        "loadavg_start": run.loadavg(), "started": run.iso_now(),
        "planned_runs": len(plan),
        "out": os.path.basename(o.out) if o.out else "fph-bench.json"}
    doc = {"meta": meta, "runs": []}
    # --append: keep the runs (and the description) of earlier invocations.
    parts: list[dict] = []
    if o.append and o.out and os.path.exists(o.out):
        with open(o.out, encoding="utf-8") as f:
            old = json.load(f)
        parts = old["parts"] if "parts" in old else [old["meta"]]
        doc["runs"] = old["runs"]
        log(f"fph-bench: appending to {o.out} ({len(doc['runs'])} earlier runs)")

    def save() -> dict:
        d = dict(doc, parts=[*parts, meta])
        write_json_atomic(o.out, d)
        return d

    log(f"fph-bench: {len(plan)} runs (matrix {o.matrix}), workdir {o.workdir}")
    t_start = time.monotonic()
    durations: dict[int, list[float]] = {}
    ok = failed = skipped = 0
    for i, rs in enumerate(plan):
        elapsed = time.monotonic() - t_start
        if interrupted or (o.budget_min > 0 and elapsed > o.budget_min * 60):
            skipped = len(plan) - i
            log(f"fph-bench: {'interrupted' if interrupted else 'time budget reached'}, "
                f"{skipped} runs not started")
            break
        eta = eta_s(plan, i, durations)
        log(f"[{i + 1}/{len(plan)}] {report.mem_label(rs.mem_mib)} {report.bw_label(rs.bw)} "
            f"{rs.scenario:<11} {rs.contender.name:<14} rep {rs.rep}/{o.n_reps}  (elapsed "
            f"{report.fmt_dur(elapsed)}, ETA {report.fmt_dur(eta)}) ...", end="")
        r = run.run_one(settings, rs, os.path.join(o.workdir, f"run{i + 1}"))
        durations.setdefault(rs.mem_mib, []).append(r["wall_s"])
        if r["ok"]:
            ok += 1
            log(f" {M.transferred_mib(r):.0f} MiB in {M.time_s(r):.2f} s (downtime "
                f"{M.downtime_ms(r):.0f} ms, final round {M.final_round_mib(r):.0f} MiB, "
                f"{M.syncs(r):.0f} syncs), used {M.used_mib(r):.0f} MiB, withheld "
                f"{M.withheld_mib(r):.1f} MiB [{r['wall_s']:.0f} s]")
        else:
            failed += 1
            log(f" FAILED: {r.get('error', '')}")
        r["part"] = len(parts) + 1
        doc["runs"].append(r)
        meta.update(runs_ok=ok, runs_failed=failed, wall_s=time.monotonic() - t_start)
        save()
    meta.update(runs_skipped=skipped, finished=run.iso_now(),
                wall_s=time.monotonic() - t_start, loadavg_end=run.loadavg())
    doc = save()
    if not o.keep and failed == 0:
        shutil.rmtree(o.workdir, ignore_errors=True)
    log(f"fph-bench: {ok} ok, {failed} failed, {skipped} not run, "
        f"{report.fmt_dur(time.monotonic() - t_start)}")

    rc = 0
    if not o.smoke or o.plot or o.doc:
        rc = make_report(o, doc)
    if o.doc:
        print_verdicts(doc)
    if o.smoke and smoke_verdict(doc, o.bws[0], failed, len(plan)):
        return 1
    if failed and not o.smoke:
        rc = rc or 3
    return 130 if interrupted else rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
