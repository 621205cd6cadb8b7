#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot smoke test: boot the fph guest under TCG and drive fph-workload.

usage: tests/e2e/boot_smoke.py [IMAGE_DIR]

IMAGE_DIR holds vmlinuz + initramfs from scripts/build-guest-image.sh
(default: $FPH_GUEST_DIR or build/guest; built there if missing).
QEMU: $QEMU (default /work/dev/qemu/build/qemu-system-x86_64); if it does not
exist yet, waits up to $QEMU_WAIT seconds (default 0) for it to appear.
Exit 0 on success, 1 on failure; the serial transcript is kept in
IMAGE_DIR/boot-smoke.serial.log.  Overall time limit: 120 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guestctl  # noqa: E402
from guestctl import Guest, GuestError, parse_kv  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIME_LIMIT = 120.0


class Fail(Exception):
    pass


def main() -> int:
    t_start = time.monotonic()
    image = (sys.argv[1] if len(sys.argv) > 1
             else os.environ.get("FPH_GUEST_DIR", os.path.join(ROOT, "build", "guest")))
    qemu = os.environ.get("QEMU", guestctl.DEFAULT_QEMU)

    if not (os.path.exists(os.path.join(image, "vmlinuz"))
            and os.path.exists(os.path.join(image, "initramfs"))):
        print(f"boot-smoke: building guest image in {image}", flush=True)
        subprocess.run([os.path.join(ROOT, "scripts", "build-guest-image.sh"), image],
                       check=True)

    wait_qemu = float(os.environ.get("QEMU_WAIT", "0"))
    deadline = time.monotonic() + wait_qemu
    while not os.access(qemu, os.X_OK):
        if time.monotonic() >= deadline:
            print(f"boot-smoke: FAIL: QEMU {qemu} not found (set QEMU=...)")
            return 1
        time.sleep(5)

    tmp = tempfile.mkdtemp(prefix="fph-boot-smoke.")
    sock = os.path.join(tmp, "serial.sock")
    log_path = os.path.join(image, "boot-smoke.serial.log")
    if os.path.exists(log_path):
        os.unlink(log_path)
    qlog = open(os.path.join(tmp, "qemu.log"), "w+")
    proc = guestctl.launch_qemu(qemu, image, sock, stdout=qlog)
    guest = None
    step = "connect"
    try:
        def left() -> float:
            rem = TIME_LIMIT - (time.monotonic() - t_start)
            if rem <= 0:
                raise Fail(f"time limit {TIME_LIMIT:.0f}s exceeded")
            return rem

        guest = Guest(sock, connect_timeout=min(30.0, left()), log_path=log_path)
        step = "boot"
        t_boot = guest.wait_ready(min(90.0, left()))
        print(f"boot-smoke: guest ready after {t_boot:.1f}s", flush=True)

        def run(cmd: str, prefix: str, timeout: float = 60.0) -> dict[str, str]:
            nonlocal step
            step = cmd
            t0 = time.monotonic()
            rc, out = guest.run(cmd, min(timeout, left()))
            kv = parse_kv(out, prefix)
            print(f"boot-smoke: [{time.monotonic() - t0:5.1f}s] {cmd}: rc={rc} "
                  f"{out.strip().splitlines()[-1] if out.strip() else '(no output)'}",
                  flush=True)
            if rc != 0 or "ok" not in kv:
                raise Fail(f"{cmd!r} failed (rc={rc}):\n{out}")
            return kv

        mi = run("fph-workload meminfo", "meminfo")
        total = int(mi["memtotal_kib"])
        if not 700 * 1024 < total <= 1024 * 1024:
            raise Fail(f"memtotal_kib={total} not plausible for -m 1G")
        fill = run("fph-workload fill 64", "fill")
        if fill.get("pages") != str(64 * 256):
            raise Fail(f"fill pages={fill.get('pages')} != {64 * 256}")
        ver = run("fph-workload verify", "verify")
        if ver.get("bad") != "0" or ver.get("pages") != str(64 * 256):
            raise Fail(f"verify reported {ver}")
        dirty = run("fph-workload dirty 100", "dirty")
        if dirty.get("mib") != "100":
            raise Fail(f"dirty reported {dirty}")
        ver = run("fph-workload verify", "verify")
        if ver.get("bad") != "0":
            raise Fail(f"verify after dirty reported {ver}")
        mi2 = run("fph-workload meminfo", "meminfo")
        print(f"boot-smoke: used_kib {mi['used_kib']} -> {mi2['used_kib']} "
              "(fill 64 MiB held)", flush=True)
        rc, kmods = guest.run("cat /proc/modules", min(20.0, left()))
        print("boot-smoke: modules: " + " ".join(
            ln.split()[0] for ln in kmods.splitlines() if ln.strip()), flush=True)

        step = "poweroff"
        guest.poweroff()
        try:
            proc.wait(timeout=min(20.0, left()))
        except subprocess.TimeoutExpired:
            raise Fail("QEMU did not exit after poweroff -f")
        total_t = time.monotonic() - t_start
        print(f"boot-smoke: PASS ({total_t:.1f}s total, boot {t_boot:.1f}s)")
        return 0
    except (Fail, GuestError) as e:
        print(f"boot-smoke: FAIL at step '{step}': {e}")
        out = getattr(e, "output", "")
        if out:
            print("---- pending serial output ----\n" + out[-3000:])
        if guest is not None:
            print("---- serial transcript (tail) ----\n" + guest.log[-3000:])
        qlog.seek(0)
        q = qlog.read()
        if q.strip():
            print("---- qemu output ----\n" + q[-3000:])
        print(f"boot-smoke: serial log: {log_path}")
        return 1
    finally:
        if guest is not None:
            guest.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        qlog.close()
        for f in ("serial.sock", "qemu.log"):
            try:
                os.unlink(os.path.join(tmp, f))
            except OSError:
                pass
        os.rmdir(tmp)


if __name__ == "__main__":
    sys.exit(main())
