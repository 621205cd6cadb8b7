#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""fph-selftest: prove fph on this host, with this QEMU, before enabling it.

Boots the small guest the fph-qemu package carries (a Debian kernel,
busybox, the virtio_fph driver built for that kernel, fph-workload) and
migrates it between two local QEMU processes, each migration's memory
checked page by page on the destination:

  freed-dirty  the guest holds a checksummed pattern and writes, then
               frees, 60% of its RAM; migrated with default QEMU and
               with fph (fph must send less, skip pages, lose nothing)
  fragmented   the pattern, plus half its RAM written with every other
               4 KiB page freed; migrated with fph
  churn        the pattern, plus a process allocating, writing, checking
               and freeing memory while it migrates with fph

each under KVM's default dirty logging (the dirty bitmap, cleared
manually in chunks) and again with the dirty ring (-accel
kvm,dirty-ring-size=4096) where /dev/kvm works; under TCG otherwise,
loudly, and the dirty-ring variant is skipped (it is KVM's).

Prints a one-screen summary, writes it as JSON (--json) and exits 0 if
every run passed, 1 if any failed (a page that differs on the
destination, a failed migration, an fph run that skipped nothing), 2 if
it could not run (each message names the fix).  docs/usage.rst, "Before
you enable fph", says how to read it.

Installed by fph-qemu as PREFIX/bin/fph-selftest (PREFIX /opt/fph), with
the guest and its Python (QEMU's python/qemu, the project's tests/e2e
helpers) under PREFIX/share/fph/selftest; `make selftest` runs it from a
checkout.  --x-corrupt-page is for the project's own test
(tests/package): it damages one page of the pattern on the destination
after each migration, which must make the selftest FAIL.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.realpath(__file__))
PREFIX = os.path.dirname(HERE)
SHARE = os.path.join(PREFIX, "share", "fph", "selftest")
# Installed: PREFIX/share/fph/selftest/python; in a checkout
# (tools/selftest/), tests/e2e (make selftest puts QEMU's python/qemu on
# PYTHONPATH).
INSTALLED = os.path.isdir(os.path.join(SHARE, "python"))
sys.path.insert(0, os.path.join(SHARE, "python") if INSTALLED else
                os.path.realpath(os.path.join(HERE, "..", "..", "tests", "e2e")))

try:
    from qemu.machine import QEMUMachine
except ImportError:
    print("fph-selftest: cannot run: QEMU's python/qemu is not importable.  "
          + (f"Fix: apt-get install --reinstall fph-qemu (it ships it in "
             f"{SHARE}/python)" if INSTALLED else
             "Fix: run `make selftest`, or set PYTHONPATH=$QEMU_SRC/python "
             "(QEMU_SRC from build/qemu.env)"), file=sys.stderr)
    sys.exit(2)
import guestctl  # noqa: E402
import scenario as S  # noqa: E402

SCENARIOS = ("freed-dirty", "fragmented", "churn")
PAGE = 4096

# Damage one page of the fill holder's pattern (the largest anonymous
# read-write mapping of /run/fill.pid) through /proc/PID/mem, in busybox
# sh: what a lost write looks like to `fph-workload verify`.
CORRUPT = (
    "pid=$(cat /run/fill.pid) && best=0 && at=0 && "
    "while read -r r perm off dev ino path; do "
    "[ \"$perm\" = rw-p ] && [ -z \"$path\" ] || continue; "
    "s=$((0x${r%-*})); e=$((0x${r#*-})); "
    "if [ $((e - s)) -gt $best ]; then best=$((e - s)); "
    "at=$((s + (e - s) / 8192 * 4096 + 128)); fi; "
    "done </proc/$pid/maps && [ $at -gt 0 ] && "
    "printf 'FPH-SELFTEST-BAD' | dd of=/proc/$pid/mem bs=1 seek=$at "
    "conv=notrunc 2>/dev/null && printf 'corrupted pid=%s addr=0x%x\\n' "
    "$pid $at")


class CannotRun(Exception):
    """The selftest cannot run here; the message names the fix."""


# ------------------------------------------------------------------ preflight
def kvm_state() -> tuple[str, str]:
    """("ok", ""), ("absent", why), or ("denied", the fix)."""
    if not os.path.exists("/dev/kvm"):
        try:
            with open("/proc/cpuinfo") as f:
                flags = f.read()
        except OSError:
            flags = ""
        if " vmx" not in flags and " svm" not in flags:
            why = ("this CPU has no VMX/SVM (or this is a VM without nested "
                   "virtualisation)")
        else:
            why = ("the CPU has VMX/SVM but KVM is not loaded: modprobe "
                   "kvm_intel (or kvm_amd); if that fails, enable "
                   "virtualisation in the firmware setup")
        return "absent", f"no /dev/kvm: {why}"
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
    except PermissionError:
        user = os.environ.get("USER") or str(os.getuid())
        return "denied", ("/dev/kvm exists but this user may not open it.  "
                          f"Fix: usermod -aG kvm {user} and log in again, or "
                          "run as root; --accel tcg runs without KVM")
    except OSError as e:
        return "denied", f"/dev/kvm: {e.strerror}"
    return "ok", ""


def firmware_dirs(qemu: str) -> list[str]:
    r = subprocess.run([qemu, "-L", "help"], capture_output=True, text=True,
                       check=False)
    return [os.path.realpath(d) for d in r.stdout.split()[:-1]]


def module_dir(qemu: str) -> str:
    if os.environ.get("QEMU_MODULE_DIR"):
        return os.environ["QEMU_MODULE_DIR"]
    return os.path.join(os.path.dirname(os.path.dirname(
        os.path.realpath(qemu))), "lib", "x86_64-linux-gnu", "qemu")


def check_module(qemu: str) -> None:
    r = subprocess.run([qemu, "-object", "free-page-hint,help"],
                       capture_output=True, text=True, check=False)
    if r.returncode != 0 or not r.stdout.startswith("free-page-hint options:"):
        said = (r.stdout + r.stderr).strip()
        raise CannotRun(
            f"{qemu} has no free-page-hint object ({said}): the fph module "
            f"qom-free-page-hint.so is not in QEMU's module directory "
            f"{module_dir(qemu)}.  Fix: apt-get install --reinstall fph-qemu "
            "(from a checkout: make build, and run build/fph-qemu)")


def explain_launch(qemu: str, log: str, accel: str) -> str:
    """QEMU's own message on a failed start, and the fix."""
    low = log.lower()
    if ("bios" in low or "romfile" in low or "rom image" in low
            or "option rom" in low):
        dirs = " ".join(firmware_dirs(qemu)) or "?"
        return (f"QEMU cannot find its firmware: {log.strip()}.  Fix: "
                "apt-get install seabios qemu-system-data ipxe-qemu (fph-qemu "
                f"depends on them); QEMU looks in {dirs}")
    if "kvm" in low and "permission denied" in low:
        fix = kvm_state()[1] or ("let this user open /dev/kvm (group kvm) "
                                 "or run as root")
        return f"{log.strip()}.  Fix: {fix}"
    if "free-page-hint" in low:
        return (f"{log.strip()}.  Fix: apt-get install --reinstall fph-qemu "
                f"(module directory {module_dir(qemu)})")
    return f"QEMU ({accel}) did not start: {log.strip()}"


def probe(qemu: str, guest: str, accel: str, tmp: str) -> dict:
    """Start (paused) what every run starts: q35 with @accel, the guest's
    kernel, fph.  query-version on success; CannotRun with the fix if it
    does not start."""
    args = guestctl.qemu_args(guest, mem="128M", accel=accel)
    vm = QEMUMachine(qemu, args=["-S", *args, "-object",
                                 "free-page-hint,id=fph0"],
                     base_temp_dir=tmp)
    try:
        vm.launch()
        ver = vm.cmd("query-version")
        st = vm.cmd("query-fph-stats")
        if not st.get("device-present"):
            raise CannotRun(f"-object free-page-hint plugged no device: {st}")
        return ver
    except CannotRun:
        raise
    except Exception as e:  # noqa: BLE001 - QEMU's log says why
        log = vm.get_log() or str(e)
        raise CannotRun(explain_launch(qemu, log, accel)) from None
    finally:
        vm.shutdown()


# ----------------------------------------------------------------------- runs
def sizes(mem: int) -> dict:
    fill = max(32, min(256, mem // 8))
    return {"fill": fill, "dirty": mem * 6 // 10, "fragment": mem // 2,
            "churn_dirty": mem * 3 // 10, "churn": max(32, min(128, mem // 16))}


def plan(scenarios: list[str], mem: int) -> list[tuple[str, bool, dict]]:
    """(scenario, fph, scenario.run keyword arguments) per run."""
    z = sizes(mem)
    fill = f"fph-workload fill {z['fill']}"
    verify = "fph-workload verify || true"
    runs = []
    for sc in scenarios:
        if sc == "freed-dirty":
            kw = dict(prepare=[fill, f"fph-workload dirty {z['dirty']}"],
                      after=[verify])
            runs += [(sc, False, kw), (sc, True, kw)]
        elif sc == "fragmented":
            runs.append((sc, True, dict(
                prepare=[fill, f"fph-workload fragment {z['fragment']}"],
                after=[verify])))
        elif sc == "churn":
            runs.append((sc, True, dict(
                prepare=[fill, f"fph-workload dirty {z['churn_dirty']}"],
                during=[f"fph-workload churn {z['churn']}", "sleep 3"],
                after=["sleep 2", verify,
                       "fph-workload churn-status || true"])))
    return runs


def one_run(qemu: str, guest: str, variant: dict, sc: str, fph: bool,
            kw: dict, mem: int, smp: int, corrupt: bool, keep: bool,
            baseline: dict | None) -> dict:
    want_pages = sizes(mem)["fill"] * (1 << 20) // PAGE
    rec = {"variant": variant["name"], "scenario": sc,
           "fph": fph, "result": "FAIL", "problems": []}
    injected = []

    def on_arrival(g):
        injected.append(g.check(CORRUPT, timeout=60).strip())

    t0 = time.monotonic()
    try:
        res = S.run(qemu, guest, f"selftest-{sc}", fph, mem_mib=mem, smp=smp,
                    accel=variant["accel"], keep=keep,
                    on_arrival=on_arrival if corrupt else None,
                    log=lambda m: print(f"  {m}", file=sys.stderr), **kw)
    except Exception as e:  # noqa: BLE001 - a failed run, reported as such
        rec["problems"].append(f"{type(e).__name__}: {e}".strip())
        rec["seconds"] = round(time.monotonic() - t0, 1)
        return rec
    rec["seconds"] = round(time.monotonic() - t0, 1)
    rec.update(transferred_bytes=res.transferred, ram_bytes=res.ram_bytes,
               total_time_ms=res.total_time_ms, downtime_ms=res.downtime_ms,
               pages_skipped=res.pages_skipped,
               guest_not_free_bytes=res.unfree_bytes)
    if injected:
        rec["injected"] = injected[0]
    p = rec["problems"]
    verify = guestctl.parse_kv(res.verify, "verify")
    rec["verify"] = verify
    pages, bad = int(verify.get("pages", 0) or 0), verify.get("bad")
    rec["pages_verified"] = pages
    if bad is None or "FAIL" in verify:
        bad_n = int(bad) if bad and bad.isdigit() else -1
        rec["pages_bad"] = bad_n
        said = " ".join(f"{k}={v}" if v else k for k, v in verify.items())
        p.append("verify on the destination failed: "
                 f"{said or res.verify.strip()[-300:]}")
    else:
        rec["pages_bad"] = int(bad)
    if pages != want_pages:
        p.append(f"verified {pages} pages, expected {want_pages}")
    if sc == "churn":
        churn = guestctl.parse_kv(res.verify, "churn")
        rec["churn"] = churn
        if churn.get("bad") != "0" or "FAIL" in churn:
            p.append(f"churn found damaged memory: {churn}")
        elif int(churn.get("iterations", 0) or 0) == 0:
            p.append(f"churn did not run: {churn}")
    if fph:
        st = res.fph_stats or {}
        rec["fph_stats"] = st
        if res.pages_skipped == 0:
            p.append("fph skipped nothing (device-present "
                     f"{st.get('device-present')}, driver-ok "
                     f"{st.get('driver-ok')}): the guest driver did not hint")
        if baseline and "transferred_bytes" in baseline and \
                res.transferred >= baseline["transferred_bytes"]:
            p.append(f"fph sent {res.transferred} bytes, default QEMU "
                     f"{baseline['transferred_bytes']}: no saving")
    if not p:
        rec["result"] = "PASS"
    return rec


# -------------------------------------------------------------------- output
def mib(n) -> str:
    return "-" if n is None else f"{n / (1 << 20):.0f} MiB"


def summary(report: dict) -> str:
    lines = []
    h = report["host"]
    lines.append(f"fph-selftest: {report['qemu']} (QEMU {report['qemu_version']}), "
                 f"guest Linux {report['guest_kernel']}, {report['mem_mib']} MiB, "
                 f"{report['smp']} vCPU")
    lines.append(f"host: {h['kernel']}, {h['cpu']}; accelerator: "
                 f"{report['accel_note']}")
    fmt = "{:<15} {:<12} {:<8} {:>9} {:>8} {:>8} {:>9} {:>15}  {}"
    lines.append(fmt.format("variant", "scenario", "mode", "sent", "time",
                            "downtime", "skipped", "verified/bad", "result"))
    for v in report["variants"]:
        if v.get("skipped"):
            lines.append(f"{v['name']:<15} SKIPPED: {v['skipped']}")
    for r in report["runs"]:
        lines.append(fmt.format(
            r["variant"], r["scenario"], "fph" if r["fph"] else "default",
            mib(r.get("transferred_bytes")),
            f"{r['total_time_ms'] / 1000:.1f} s" if "total_time_ms" in r else "-",
            f"{r['downtime_ms']} ms" if "downtime_ms" in r else "-",
            str(r.get("pages_skipped", "-")) if r["fph"] else "-",
            f"{r.get('pages_verified', 0)}/{r.get('pages_bad', '-')}",
            r["result"]))
        for p in r["problems"]:
            lines.append(f"    {p}")
    n_fail = sum(r["result"] != "PASS" for r in report["runs"])
    lines.append(f"{report['result']}: {len(report['runs'])} runs, {n_fail} "
                 f"failed, {report['seconds']:.0f} s; JSON: {report['json']}")
    return "\n".join(lines)


def loud(msg: str) -> None:
    bar = "!" * 72
    print(f"{bar}\n{msg}\n{bar}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- main
def main() -> int:
    default_qemu = (os.path.join(PREFIX, "bin", "qemu-system-x86_64")
                    if INSTALLED else None)
    default_guest = os.path.join(SHARE, "guest") if INSTALLED else None
    ap = argparse.ArgumentParser(
        prog="fph-selftest", description="Migrate a small guest with and "
        "without fph on this host, every page checked on the destination "
        "(docs/usage.rst, \"Before you enable fph\").")
    ap.add_argument("--mem", type=int, default=2048, metavar="MIB",
                    help="guest RAM in MiB (default 2048; at least 512)")
    ap.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                    help="auto (default): KVM where /dev/kvm works, else TCG; "
                         "kvm: fail without it; tcg: never KVM")
    ap.add_argument("--smp", type=int, default=0,
                    help="vCPUs (default 2 under KVM, 1 under TCG)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help=f"comma-separated, of {','.join(SCENARIOS)} (default all)")
    ap.add_argument("--json", default="fph-selftest.json", metavar="PATH",
                    help="where the report goes (default ./fph-selftest.json)")
    ap.add_argument("--qemu", default=default_qemu,
                    help=f"the emulator (default {default_qemu or 'none: not installed'})")
    ap.add_argument("--guest", default=default_guest, metavar="DIR",
                    help="the guest: DIR/vmlinuz, DIR/initramfs (default "
                         f"{default_guest or 'none: not installed'})")
    ap.add_argument("--keep", action="store_true",
                    help="keep each run's directory (QEMU logs, consoles)")
    ap.add_argument("--x-corrupt-page", action="store_true",
                    help=argparse.SUPPRESS)
    a = ap.parse_args()
    t_start = time.monotonic()
    try:
        scenarios = [s for s in a.scenarios.split(",") if s]
        unknown = [s for s in scenarios if s not in SCENARIOS]
        if unknown or not scenarios:
            raise CannotRun(f"--scenarios: unknown {unknown}; "
                            f"choose from {','.join(SCENARIOS)}")
        if a.mem < 512:
            raise CannotRun("--mem: at least 512 (MiB)")
        if not a.qemu or not os.access(a.qemu, os.X_OK):
            raise CannotRun(f"no emulator at {a.qemu}.  Fix: apt-get install "
                            "./fph-qemu_*.deb, or give --qemu")
        if not a.guest or not all(os.path.isfile(os.path.join(a.guest, f))
                                  for f in ("vmlinuz", "initramfs")):
            raise CannotRun(f"no guest (vmlinuz, initramfs) in {a.guest}.  "
                            "Fix: apt-get install --reinstall fph-qemu (from "
                            "a checkout: make image, or make selftest)")
        json_dir = os.path.dirname(os.path.abspath(a.json))
        if not os.access(json_dir, os.W_OK):
            raise CannotRun(f"cannot write {a.json}: give --json PATH")
        check_module(a.qemu)
        kvm, why = kvm_state()
        if a.accel == "kvm" and kvm != "ok":
            raise CannotRun(f"--accel kvm: {why}")
        if a.accel == "auto" and kvm == "denied":
            raise CannotRun(why)
        use_kvm = a.accel != "tcg" and kvm == "ok"
        smp = a.smp or (2 if use_kvm else 1)
        tmp = tempfile.mkdtemp(prefix="fph-selftest-")
        try:
            if use_kvm:
                note = "KVM"
                variants = [{"name": "kvm", "accel": "kvm",
                             "dirty_log": "bitmap, manual clear (QEMU's "
                                          "default)"},
                            {"name": "kvm-dirty-ring",
                             "accel": "kvm,dirty-ring-size=4096",
                             "dirty_log": "dirty ring, 4096 entries"}]
            else:
                why = why or "--accel tcg"
                note = (f"TCG, NOT KVM ({why}): this proves this build and "
                        "the guest driver, not KVM's dirty logging on this "
                        "host")
                loud(f"fph-selftest: running under TCG, NOT KVM: {why}.\n"
                     "TCG is slower and proves nothing "
                     "about KVM's dirty logging;\nrun it on a host with "
                     "working /dev/kvm before enabling fph there.")
                variants = [{"name": "tcg", "accel": "tcg",
                             "dirty_log": "TCG"},
                            {"name": "kvm-dirty-ring",
                             "accel": "kvm,dirty-ring-size=4096",
                             "skipped": "no KVM (the dirty ring is KVM's)"}]
            ver = None
            for v in variants:
                if v.get("skipped"):
                    print(f"fph-selftest: {v['name']}: SKIPPED: "
                          f"{v['skipped']}", file=sys.stderr)
                    continue
                try:
                    ver = probe(a.qemu, a.guest, v["accel"], tmp)
                except CannotRun as e:
                    if v["name"] == "kvm-dirty-ring" and \
                            "dirty" in str(e).lower():
                        v["skipped"] = (f"this host's KVM has no dirty ring "
                                        f"(Linux 5.11+, x86): {e}")
                        loud(f"fph-selftest: {v['name']}: SKIPPED: "
                             f"{v['skipped']}")
                        continue
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except CannotRun as e:
        print(f"fph-selftest: cannot run: {e}", file=sys.stderr)
        return 2

    q = (ver or {}).get("qemu", {})
    try:
        with open(os.path.join(a.guest, "kver")) as f:
            gk = f.read().strip()
    except OSError:
        gk = "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f
                        if ln.startswith("model name")), "?")
    except OSError:
        pass
    report = {
        "tool": "fph-selftest", "format": 1,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "qemu": os.path.realpath(a.qemu),
        "qemu_version": f"{q.get('major')}.{q.get('minor')}.{q.get('micro')}",
        "guest_kernel": gk, "mem_mib": a.mem, "smp": smp,
        "accel": "kvm" if use_kvm else "tcg", "accel_note": note,
        "host": {"kernel": platform.release(), "cpu": cpu},
        "corrupt_page_injected": a.x_corrupt_page,
        "variants": variants, "runs": [], "json": os.path.abspath(a.json),
    }
    runs = plan(scenarios, a.mem)
    todo = [v for v in variants if not v.get("skipped")]
    n, total = 0, len(runs) * len(todo)
    for v in todo:
        baseline = None
        for sc, fph, kw in runs:
            n += 1
            print(f"fph-selftest: [{n}/{total}] {v['name']} {sc} "
                  f"{'fph' if fph else 'default'}...", file=sys.stderr,
                  flush=True)
            rec = one_run(a.qemu, a.guest, v, sc, fph, kw, a.mem, smp,
                          a.x_corrupt_page, a.keep,
                          baseline if sc == "freed-dirty" else None)
            if sc == "freed-dirty" and not fph:
                baseline = rec
            print(f"fph-selftest:   {rec['result']} "
                  f"({rec['seconds']:.0f} s; sent "
                  f"{mib(rec.get('transferred_bytes'))})"
                  + "".join(f"\n    {p}" for p in rec["problems"]),
                  file=sys.stderr, flush=True)
            report["runs"].append(rec)
    ok = all(r["result"] == "PASS" for r in report["runs"]) and report["runs"]
    report["result"] = "PASS" if ok else "FAIL"
    report["seconds"] = round(time.monotonic() - t_start, 1)
    with open(a.json + ".tmp", "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    os.replace(a.json + ".tmp", a.json)
    print(summary(report))
    if not use_kvm:
        print("WARNING: ran under TCG, not KVM: see the accelerator line "
              "above.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
