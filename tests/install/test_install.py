#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The emulator's command line, outside qtest: build/fph-qemu and
`make install PREFIX=...` into a scratch prefix.  The installed emulator
finds the module (no QEMU_MODULE_DIR) and its firmware (no -L),
query-fph-stats answers, and -device help lists the module's device
before anything loaded it; both emulators look for firmware in the same
directories and start with the default NIC and with virtio-net (boot
ROMs found); -object free-page-hint,help lists the object's options; the
example of README's "Using it" runs as written.  TAP on stdout.

usage: test_install.py BUILDDIR IMAGE_DIR
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time

try:
    from qemu.machine import QEMUMachine
except ImportError:
    sys.exit("test_install: QEMU's python/qemu is not importable; set "
             "PYTHONPATH=$QEMU_SRC/python (QEMU_SRC from build/qemu.env)")

import emulator_check as E

# The example's network card in HMP's info pci.
VIRTIO_NET = b"Ethernet controller: PCI device 1af4:1000"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tap(num: int, problems: list[str], what: str) -> int:
    for p in problems:
        print(f"# {p}".replace("\n", "\n# "))
    print(f"{'not ok' if problems else 'ok'} {num} {what}")
    return 1 if problems else 0


def installed_module(qemu: str, prefix: str) -> list[str]:
    vm = QEMUMachine(qemu, args=["-M", "q35", "-accel", "tcg", "-nodefaults",
                                 "-object", "free-page-hint,id=fph0"],
                     base_temp_dir=prefix)
    try:
        vm.launch()
        stats = vm.cmd("query-fph-stats")
    except Exception as e:  # noqa: BLE001 - report as a TAP failure
        return [f"{e}\n{vm.get_log()}"]
    finally:
        vm.shutdown()
    if stats["enabled"] and stats["device-present"]:
        return []
    return [f"query-fph-stats not enabled: {stats}"]


def device_help(qemu: str) -> list[str]:
    r = subprocess.run([qemu, "-M", "none", "-device", "help"],
                       capture_output=True, text=True, check=False)
    if r.returncode == 0 and 'name "virtio-fph-pci"' in r.stdout:
        return []
    return [f"rc {r.returncode}: {r.stderr.strip()}"]


def readme_example() -> str:
    """The first indented code block of README's "Using it"."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("\n## Using it\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"^((?:    .*\n)+)", section, re.MULTILINE)
    return "".join(line[4:] for line in block.group(1).splitlines(True))


def run_readme_example(build: str, image: str) -> list[str]:
    """Run the example with sh in a directory whose build/ is BUILDDIR
    (and build/guest the test guest), on a pipe as its terminal: wait for
    the guest, ask the monitor (Ctrl-a c) for the fph object's stats and
    the PCI devices, quit."""
    if not os.path.exists(os.path.join(image, "vmlinuz")):
        return [f"no test guest in {image}: make image"]
    cmd = readme_example()
    if "..." in cmd or not cmd.startswith("build/fph-qemu "):
        return [f"not an example of build/fph-qemu, or with '...': {cmd}"]
    with tempfile.TemporaryDirectory(prefix="fph-readme-") as tmp:
        os.mkdir(os.path.join(tmp, "build"))
        for name in os.listdir(build):
            if name != "guest":
                os.symlink(os.path.join(os.path.abspath(build), name),
                           os.path.join(tmp, "build", name))
        os.symlink(os.path.abspath(image), os.path.join(tmp, "build", "guest"))
        p = subprocess.Popen(["sh", "-c", cmd], cwd=tmp, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = bytearray()
        threading.Thread(target=lambda: [out.extend(b) for b in
                                         iter(lambda: p.stdout.read1(4096), b"")],
                         daemon=True).start()

        def wait_for(what: bytes, timeout: float) -> bool:
            end = time.monotonic() + timeout
            while time.monotonic() < end and p.poll() is None:
                if what in out:
                    return True
                time.sleep(0.2)
            return what in out

        def send(data: bytes) -> None:
            p.stdin.write(data)
            p.stdin.flush()

        try:
            ready = wait_for(b"FPH-GUEST-READY", 240)
            if ready:
                send(b"\x01c")                       # Ctrl-a c: the monitor
                send(b"qom-get /objects/fph0 stats\n")
                wait_for(b'"device-present"', 30)
                send(b"info pci\n")
                wait_for(VIRTIO_NET, 30)
                send(b"quit\n")
            p.wait(timeout=30)
        except (subprocess.TimeoutExpired, OSError):
            p.kill()
            p.wait()
        text = out.decode(errors="replace")
    problems = []
    if not ready:
        problems.append("the guest did not come up (no FPH-GUEST-READY)")
    if not re.search(r'"device-present":\s*true', text):
        problems.append("qom-get /objects/fph0 stats: no device-present true")
    if VIRTIO_NET.decode() not in text:
        problems.append(f"info pci: no '{VIRTIO_NET.decode()}'")
    if problems:
        problems.insert(0, f"$ {cmd}")
        problems.append("output (tail):\n" + text[-3000:])
    return problems


def main() -> int:
    build, image = sys.argv[1:3]
    wrapper = os.path.join(build, "fph-qemu")
    print("1..7")
    rc = 0
    with tempfile.TemporaryDirectory(prefix="fph-install-") as prefix:
        subprocess.run([os.path.join(ROOT, "scripts/install.sh"), build, prefix],
                       check=True, stdout=sys.stderr)
        installed = os.path.join(prefix, "bin/qemu-system-x86_64")
        # The installed emulator must find its module dir by itself.
        os.environ.pop("QEMU_MODULE_DIR", None)
        rc |= tap(1, installed_module(installed, prefix),
                  "installed emulator loads the module and answers "
                  "query-fph-stats")
        rc |= tap(2, device_help(installed),
                  "-device help lists virtio-fph-pci from the module dir")
        dirs = E.firmware_dirs(wrapper)
        inst = E.firmware_dirs(installed)
        print(f"# firmware directories: {' '.join(dirs)}")
        rc |= tap(3, [] if dirs == inst and dirs else
                  [f"build/fph-qemu {dirs}, installed {inst}"],
                  "build/fph-qemu and the installed emulator look for "
                  "firmware in the same directories")
        rc |= tap(4, E.start_nics(wrapper),
                  "build/fph-qemu starts with the default NIC and with "
                  "-nic user,model=virtio-net-pci (boot ROMs found)")
        rc |= tap(5, E.start_nics(installed),
                  "installed emulator starts with the default NIC and with "
                  "-nic user,model=virtio-net-pci (boot ROMs found)")
        rc |= tap(6, E.object_help(wrapper) + E.object_help(installed),
                  "-object free-page-hint,help lists every option with its "
                  "description and defaults (build/fph-qemu, installed)")
    rc |= tap(7, run_readme_example(build, image),
              "README's \"Using it\" example runs as written: a guest, a "
              "network card, the fph device")
    return rc


if __name__ == "__main__":
    sys.exit(main())
