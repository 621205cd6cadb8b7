#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Per-kernel guest checks for tests/kernels/run.sh and dkms.sh.

usage: guest_check.py QEMU IMAGE_DIR CHECK [KVER]

CHECK is one of
  bound     boot with -object free-page-hint: the guest runs KVER (if
            given), virtio_fph is loaded and bound to the virtio-fph device,
            and the driver is active (debugfs disabled_reason 0)
  modalias  an FPH_MODPROBE=1 image: virtio_fph is not in /lib/modules/fph
            but in /lib/modules/KVER/updates, was loaded by `modprobe` of the
            device's modalias and is bound; booted without the device it
            is not loaded at all
  verify    fill 128 MiB with checksummed pages, dirty and free 300 MiB,
            migrate with fph, verify every page on the destination, and
            require skipped pages; reports the driver's longest pcp->lock
            hold (debugfs lock_hold_max_ns) as the destination has it

Exit 0 on success, 1 on failure; prints one summary line.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import guestctl  # noqa: E402
import scenario as S  # noqa: E402
import vm as V  # noqa: E402

DRV = "/sys/bus/virtio/drivers/virtio_fph"


class Fail(Exception):
    pass


@contextlib.contextmanager
def booted(qemu: str, image: str, workdir: str, name: str,
           fph: bool) -> Iterator[V.VM]:
    """A 512 MiB guest, ready for commands; killed on the way out."""
    m = V.VM(qemu, image, workdir, name, mem="512M", fph=fph)
    try:
        m.connect_guest(wait_ready=True)
        yield m
    finally:
        m.kill()


def workdir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="fph-kcheck-",
                                       ignore_cleanup_errors=True)


def module_loaded(g: guestctl.Guest) -> bool:
    lsmod = g.check("lsmod")
    return any(ln.split()[:1] == ["virtio_fph"] for ln in lsmod.splitlines())


def bound_device(g: guestctl.Guest) -> str:
    """Name of the virtio device virtio_fph is bound to (device id 0x003f)."""
    out = g.check(f"for d in {DRV}/virtio*; do [ -e \"$d\" ] && "
                  "echo \"$(basename $d) $(cat $d/device)\"; done; true")
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].startswith("virtio") and \
                parts[1] == "0x003f":
            return parts[0]
    raise Fail(f"virtio_fph is not bound to a device 0x003f: {out!r}")


def check_kver(g: guestctl.Guest, kver: str | None) -> str:
    running = g.check("uname -r").strip().splitlines()[-1]
    if kver and running != kver:
        raise Fail(f"guest runs {running}, expected {kver}")
    return running


def check_bound(qemu: str, image: str, kver: str | None) -> str:
    with workdir() as work, booted(qemu, image, work, "bound", True) as m:
        g = m.guest
        running = check_kver(g, kver)
        if not module_loaded(g):
            raise Fail("virtio_fph not in lsmod")
        dev = bound_device(g)
        reason = g.check("cat /sys/kernel/debug/virtio_fph/disabled_reason")
        if reason.strip().splitlines()[-1] != "0":
            raise Fail(f"driver disabled: reason {reason.strip()}")
        return f"{running}: virtio_fph bound to {dev}, active"


def check_modalias(qemu: str, image: str, kver: str | None) -> str:
    with workdir() as work:
        with booted(qemu, image, work, "with", True) as m:
            g = m.guest
            running = check_kver(g, kver)
            g.check("test ! -e /lib/modules/fph/virtio_fph.ko")
            g.check(f"test -f /lib/modules/{running}/updates/virtio_fph.ko")
            alias = g.check(
                f"grep virtio_fph /lib/modules/{running}/modules.alias")
            if "virtio:d0000003Fv*" not in alias:
                raise Fail(f"modules.alias: {alias!r}")
            if not module_loaded(g):
                raise Fail(f"virtio_fph not loaded: {g.check('lsmod')!r}")
            dev = bound_device(g)
            modalias = g.check(
                f"cat {DRV}/{dev}/modalias").strip().splitlines()[-1]
            if not modalias.startswith("virtio:d0000003Fv"):
                raise Fail(f"device modalias {modalias!r}")
            if f"fph-init: modprobe {modalias}: ok" not in g.log:
                raise Fail("/init did not load it by modalias")
            # `modprobe` resolves the alias to the installed module.
            dep = g.check(f"modprobe -D {modalias}")
            if "updates/virtio_fph.ko" not in dep:
                raise Fail(f"modprobe -D {modalias}: {dep!r}")

        # Without the device nothing asks for the driver.
        with booted(qemu, image, work, "without", False) as m:
            if module_loaded(m.guest):
                raise Fail("virtio_fph loaded without a virtio-fph device")
        return (f"{running}: modprobe {modalias} loaded "
                f"updates/virtio_fph.ko, bound to {dev}; not loaded "
                "without the device")


LOCK_HOLD = ("f=/sys/kernel/debug/virtio_fph/lock_hold_max_ns; "
             "[ -e $f ] && echo \"lock_hold_max_ns=$(cat $f)\"; true")


def check_verify(qemu: str, image: str, kver: str | None) -> str:
    res = S.run(qemu, image, "kverify", True,
                prepare=["fph-workload fill 128", "fph-workload dirty 300"],
                after=["fph-workload verify", LOCK_HOLD], log=lambda *_: None)
    hold = [ln.split("=", 1)[1].strip() for ln in res.verify.splitlines()
            if ln.startswith("lock_hold_max_ns=")]
    v = guestctl.parse_kv(res.verify, "verify")
    if "FAIL" in res.verify or v.get("bad") != "0" or \
            int(v.get("pages", "0")) != 32768:
        raise Fail(f"verify: {res.verify!r}")
    if res.pages_skipped <= 0:
        raise Fail("no page skipped")
    return (f"verify 32768 pages bad=0, transferred {S.mib(res.transferred)}, "
            f"skipped {S.mib(res.bytes_skipped)}, {res.total_time_ms} ms, "
            f"lock_hold_max_ns {hold[-1] if hold else 'n/a'}")


CHECKS = {"bound": check_bound, "modalias": check_modalias,
          "verify": check_verify}


def main() -> int:
    if len(sys.argv) not in (4, 5) or sys.argv[3] not in CHECKS:
        print(__doc__, file=sys.stderr)
        return 2
    qemu, image, check = sys.argv[1:4]
    kver = sys.argv[4] if len(sys.argv) == 5 else None
    try:
        msg = CHECKS[check](qemu, image, kver)
    except Exception as e:  # noqa: BLE001 - one line, then the details
        print(f"FAIL {check}: {type(e).__name__}: {e}")
        out = getattr(e, "output", "")
        if out:
            print(out[-3000:])
        return 1
    print(f"PASS {check}: {msg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
