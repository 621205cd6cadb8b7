#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""`virsh migrate` of a domain with fph between two libvirt hosts on this
machine (tests/libvirt/rig.py: two libvirtd, each in its own mount
namespace with its own state, run, config and log directories and its own
host_uuid, talking over loopback only).

The domain is docs/libvirt-domain.xml (the test guest, TCG, 1 GiB) with
its serial console on a UNIX socket, which the test drives with
tests/e2e/guestctl.py.  The guest keeps a checksummed 128 MiB fill and
writes and frees 600 MiB before each migration, and the same domain
without fph makes the same migrations in the same run:

    A -> B  virsh migrate --live --p2p --persistent
    B -> A  the same with --parallel --parallel-connections 2 (back)
    A -> B  the same with --postcopy --postcopy-after-precopy, the guest
            churning memory meanwhile (at 100 MiB/s and a 1 ms downtime
            limit), so that precopy does not converge and libvirt switches

After each: `virsh domjobinfo --completed` on the source (the data
transferred, printed with and without fph; then the source's inactive
definition is undefined), query-fph-stats of the source
(virsh qemu-monitor-command, polled while the migration runs: libvirt
stops the source once it is done) shows pages skipped, the fill verifies
on the destination, and the destination's domain is running, persistent,
and has fph enabled with the guest driver bound.

usage: test_migrate.py BUILD IMAGE_DIR [TEST...]
       (BUILD: a build tree, installed with scripts/install.sh into a
       test-local prefix; IMAGE_DIR: make image's guest)
TAP; the whole file is skipped ("1..0 # SKIP") when not root.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import guestctl  # noqa: E402
import rig  # noqa: E402
import runner  # noqa: E402

FILL_MIB = 128
DIRTY_MIB = 600
SERIAL_DIR = "/var/lib/libvirt/qemu"   # writable by QEMU on every host

MODES = {
    "precopy": [],
    "parallel": ["--parallel", "--parallel-connections", "2"],
    # At 100 MiB/s a pass takes long enough for libvirt's switch to
    # post-copy (on the event of the second pass) to arrive before
    # precopy converges (over loopback it would at once).
    "postcopy": ["--postcopy", "--postcopy-after-precopy",
                 "--bandwidth", "100"],
}


def mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


class Rig:
    """The work directory, the installed emulator, the guest, two hosts."""

    def __init__(self, build: str, image: str):
        self.work = tempfile.mkdtemp(prefix="fph-libvirt-mig.", dir="/var/tmp")
        os.chmod(self.work, 0o755)
        self.hosts: list[rig.Host] = []
        try:
            self._setup(build, image)
        except BaseException:
            self.close()
            raise

    def _setup(self, build: str, image: str) -> None:
        self.prefix = os.path.join(self.work, "prefix")
        p = subprocess.run([os.path.join(ROOT, "scripts", "install.sh"),
                            build, self.prefix], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"scripts/install.sh failed:\n{p.stdout}")
        subprocess.run(["chmod", "-R", "a+rX", self.prefix], check=True)
        self.emulator = os.path.join(self.prefix, "bin", "qemu-system-x86_64")
        self.guest = os.path.join(self.work, "guest")
        os.makedirs(self.guest, mode=0o755)
        for f in ("vmlinuz", "initramfs"):
            shutil.copy(os.path.join(image, f), self.guest)
            os.chmod(os.path.join(self.guest, f), 0o644)
        for i, name in enumerate(("hostA", "hostB")):
            self.hosts.append(rig.Host(self.work, name, i))
            self.hosts[-1].start()
        a, b = self.hosts
        ver = subprocess.run(["libvirtd", "--version"], stdout=subprocess.PIPE,
                             text=True).stdout.split()[-1]
        print(f"# libvirtd {ver}: {a.name} (host_uuid {a.host_uuid}, "
              f"migration on {a.address}), {b.name} (host_uuid "
              f"{b.host_uuid}, {b.address}); emulator {self.emulator}")

    def close(self) -> None:
        for h in self.hosts:
            h.stop()
        if os.environ.get("FPH_KEEP"):
            print(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


class Domain:
    """docs/libvirt-domain.xml as domain @name, with or without fph."""

    def __init__(self, r: Rig, name: str, fph: bool):
        self.rig, self.name, self.fph = r, name, fph
        self.host: rig.Host | None = None
        self.guest: guestctl.Guest | None = None
        self.serial = f"{SERIAL_DIR}/{name}.serial"
        with open(os.path.join(ROOT, "docs", "libvirt-domain.xml")) as f:
            xml = f.read()
        subs = [("<name>fph-demo</name>", f"<name>{name}</name>"),
                ("/opt/fph/bin/qemu-system-x86_64", r.emulator),
                ("/var/lib/fph/guest/", r.guest + "/")]
        for old, new in subs:
            assert old in xml, f"docs/libvirt-domain.xml: no {old}"
            xml = xml.replace(old, new)
        # The serial console on a UNIX socket (libvirt adds the console).
        xml, n = re.subn(r"<serial type='pty'>.*?</console>",
                         f"<serial type='unix'><source mode='bind' "
                         f"path='{self.serial}'/><target port='0'/></serial>",
                         xml, flags=re.S)
        assert n == 1, "docs/libvirt-domain.xml: no pty serial and console"
        if not fph:
            xml, n = re.subn(r"\s*<qemu:arg value='-object'/>\s*"
                             r"<qemu:arg value='free-page-hint[^']*'/>", "", xml)
            assert n == 1, "docs/libvirt-domain.xml: no -object free-page-hint"
        self.xml = os.path.join(r.work, f"{name}.xml")
        with open(self.xml, "w") as f:
            f.write(xml)

    def start(self, host: rig.Host) -> None:
        host.virsh("define", self.xml)
        self.host = host
        try:
            host.virsh("start", self.name)
        except rig.VirshError:
            self.show_log()
            raise
        self.connect(boot=True)

    def connect(self, boot: bool = False) -> None:
        """Connect to the guest's serial socket on its current host and
        wait until the guest answers."""
        import socket
        if self.guest:
            self.guest.close()
        path = self.host.path(self.serial)
        deadline = time.monotonic() + (180 if boot else 60)
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                break
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self.sock = s
        self.guest = guestctl.Guest(s, log_path=os.path.join(
            self.rig.work, f"{self.name}.serial.log"))
        if boot:
            # Connected while the kernel boots (libvirt returns once
            # QEMU runs): nothing is sent before the guest listens.
            try:
                self.guest.wait_ready(120)
            except guestctl.GuestError:
                pass
        while not self.guest.ping(timeout=10):
            if time.monotonic() > deadline:
                raise guestctl.GuestError(f"{self.name}: guest does not answer "
                                          f"on {path}", self.guest.log)

    def show_log(self) -> None:
        log = self.host.qemu_log(self.name) if self.host else ""
        if log and os.path.exists(log):
            with open(log) as f:
                print("".join(f.readlines()[-20:]))

    def close(self) -> None:
        if self.guest:
            self.guest.close()
            self.sock.close()
            self.guest = None
        for h in self.rig.hosts:
            h.virsh("destroy", self.name, check=False)
            h.virsh("undefine", self.name, check=False)


class Migration:
    """One `virsh migrate` of @dom to @dst, the source polled meanwhile."""

    def __init__(self, dom: Domain, dst: rig.Host, mode: str):
        self.dom, self.src, self.dst, self.mode = dom, dom.host, dst, mode
        self.stats: dict | None = None     # last query-fph-stats of the source
        self.polls = 0
        self.events = ""

    def _poll(self, done: threading.Event) -> None:
        while not done.is_set():
            try:
                self.stats = self.src.fph_stats(self.dom.name)
                self.polls += 1
            except (rig.VirshError, ValueError, KeyError,
                    subprocess.TimeoutExpired):
                pass
            done.wait(0.2)

    def run(self) -> None:
        dom, src, dst = self.dom, self.src, self.dst
        if dom.guest:
            dom.guest.close()
            dom.sock.close()
            dom.guest = None
        events = subprocess.Popen(
            ["virsh", "-q", "-c", dst.uri, "event", "--all", "--loop"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1)   # connected before the migration starts
        done = threading.Event()
        poller = threading.Thread(target=self._poll, args=(done,))
        if dom.fph:
            poller.start()
        t0 = time.monotonic()
        try:
            src.virsh("migrate", "--live", "--p2p", "--persistent",
                      *MODES[self.mode], dom.name, dst.uri, timeout=600)
        except rig.VirshError:
            dom.show_log()
            raise
        finally:
            self.seconds = time.monotonic() - t0
            done.set()
            if dom.fph:
                poller.join()
            time.sleep(1)
            events.send_signal(signal.SIGINT)   # virsh event ends the loop
            self.events = events.communicate(timeout=30)[0]
        dom.host = dst
        # The source's statistics: complete also for post-copy (the
        # destination's, from the cookie, lack the post-copy phase).  The
        # source keeps the inactive definition for reading them, then
        # goes (what --undefinesource would have done).
        self.job = src.jobinfo_completed(dom.name)
        assert "Memory processed" in self.job, \
            f"domjobinfo --completed on {src.name}: {self.job}"
        self.transferred = rig.size_bytes(self.job["Memory processed"])
        self.postcopy = "Resumed Post-copy" in self.events
        assert src.state(dom.name) == "shut off", src.state(dom.name)
        src.virsh("undefine", dom.name)
        dom.connect()

    def report(self) -> str:
        j = {k: " ".join(v.split()) for k, v in self.job.items()}
        s = (f"{self.mode} {self.src.name} -> {self.dst.name}: "
             f"memory processed {mib(self.transferred)}, "
             f"data processed {j.get('Data processed', '?')}, "
             f"total time {j.get('Time elapsed', '?')}, "
             f"downtime {j.get('Total downtime', '?')}, "
             f"virsh migrate {self.seconds:.1f} s")
        if self.mode == "postcopy":
            s += (", switched to post-copy" if self.postcopy
                  else ", NOT switched to post-copy")
            if "Postcopy requests" in j:
                s += f" ({j['Postcopy requests']} page requests)"

        if self.stats:
            s += (f"; source skipped {self.stats['pages-skipped']} pages "
                  f"({mib(self.stats['bytes-skipped'])})")
        return s


RIG: Rig | None = None
RESULTS: dict[bool, dict[str, Migration]] = {}


def dirty(dom: Domain) -> None:
    dom.guest.check(f"fph-workload dirty {DIRTY_MIB}", timeout=300)


def verify(dom: Domain) -> None:
    out = dom.guest.check("fph-workload verify", timeout=300)
    v = guestctl.parse_kv(out, "verify")
    assert v.get("bad") == "0" and int(v.get("pages", 0)) == FILL_MIB * 256, \
        f"fill not intact on {dom.host.name}: {out.strip()}"


def check_destination(dom: Domain, src: rig.Host) -> None:
    dst = dom.host
    assert dst.state(dom.name) == "running", dst.state(dom.name)
    info = dst.dominfo(dom.name)
    assert info.get("Persistent") == "yes", info
    assert dom.name not in src.virsh("list", "--all", "--name").split(), \
        f"{dom.name} still defined on {src.name}"
    inactive = dst.virsh("dumpxml", "--inactive", dom.name)
    if dom.fph:
        assert "free-page-hint" in inactive, \
            "the persistent definition on the destination lost fph"
        st = dst.fph_stats(dom.name)
        assert st["enabled"] and st["device-present"] and st["driver-ok"], st


def run_domain(fph: bool) -> dict[str, Migration]:
    """Boot on host A, then precopy A->B, parallel B->A, postcopy A->B."""
    a, b = RIG.hosts
    dom = Domain(RIG, f"fph-mig-{'fph' if fph else 'default'}-{os.getpid()}",
                 fph)
    done: dict[str, Migration] = {}
    try:
        dom.start(a)
        dom.guest.check(f"fph-workload fill {FILL_MIB}", timeout=300)
        for mode, dst in (("precopy", b), ("parallel", a), ("postcopy", b)):
            src = dom.host
            dirty(dom)
            if mode == "postcopy":
                # Keep precopy from converging: the guest keeps writing
                # and a downtime of 1 ms is never reached, so libvirt
                # switches to postcopy after the first pass.
                dom.guest.check("fph-workload churn 64", timeout=60)
                src.virsh("migrate-setmaxdowntime", dom.name, "1")
            m = Migration(dom, dst, mode)
            m.run()
            done[mode] = m
            print("  " + ("fph:     " if fph else "default: ") + m.report())
            verify(dom)
            check_destination(dom, src)
            print(f"    on {dst.name}: running, persistent"
                  f"{', fph enabled, driver bound' if fph else ''}; "
                  f"the {FILL_MIB} MiB fill verified; gone from {src.name}")
            if mode == "postcopy":
                assert m.postcopy, \
                    f"no post-copy lifecycle event on {dst.name}: {m.events}"
                out = dom.guest.check("fph-workload churn-status")
                c = guestctl.parse_kv(out, "churn")
                assert c.get("bad") == "0", out
                dom.guest.check("fph-workload stop churn")
            if fph:
                assert m.stats is not None, \
                    f"{mode}: query-fph-stats of the source never answered"
                assert m.stats["pages-skipped"] > 0, \
                    f"{mode}: no page skipped on {src.name}: {m.stats}"
        return done
    finally:
        dom.close()


def test_default() -> None:
    """The domain without fph: precopy A->B, parallel B->A, postcopy A->B."""
    RESULTS[False] = run_domain(False)


def test_fph() -> None:
    """The domain with fph: the same three migrations, pages skipped on
    each source, fewer bytes than without fph, the fill intact."""
    RESULTS[True] = run_domain(True)
    base = RESULTS.get(False)
    if not base:
        return
    for mode, m in RESULTS[True].items():
        d = base[mode]
        ratio = m.transferred / d.transferred
        print(f"  {mode:8s}: default {mib(d.transferred)} in {d.seconds:.1f} s, "
              f"fph {mib(m.transferred)} in {m.seconds:.1f} s, ratio {ratio:.2f}")
    # 600 of 1024 MiB freed, 128 MiB filled: ~0.25 measured (precopy and
    # parallel), ~0.4 with post-copy (the guest churns 64 MiB meanwhile).
    for mode, bound in (("precopy", 0.5), ("parallel", 0.5), ("postcopy", 0.7)):
        m, d = RESULTS[True][mode], base[mode]
        assert m.transferred < bound * d.transferred, \
            f"{mode}: fph sent {mib(m.transferred)}, default {mib(d.transferred)}"


TESTS = [test_default, test_fph]


def main() -> int:
    global RIG
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (two libvirtd, mount namespaces)")
        return 0
    build, image = os.path.realpath(sys.argv[1]), sys.argv[2]
    p = subprocess.run([os.path.join(ROOT, "scripts", "apt-install.sh"),
                        "libvirt-daemon-system", "libvirt-clients"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode != 0:
        print(f"Bail out! cannot install libvirt: {p.stdout[-500:]}")
        return 1
    # meson's timeout sends SIGTERM: stop the two daemons and their
    # domains on the way out all the same.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        RIG = Rig(build, image)
    except Exception as e:  # noqa: BLE001 - one line for TAP
        print(f"Bail out! the two libvirt hosts did not start: {e}")
        return 1
    try:
        return runner.run_tests("libvirt-migrate", TESTS, sys.argv[3:])
    finally:
        RIG.close()


if __name__ == "__main__":
    sys.exit(main())
