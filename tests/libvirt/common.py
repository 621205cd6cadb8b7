# SPDX-License-Identifier: GPL-2.0-or-later
"""What the rig's tests share (test_migrate.py, test_snapshot.py,
test_stacks.py): the work directory with the installed emulator and the
guest and two hosts (Rig), the test guest's domain (Domain), one `virsh
migrate` with the source's query-fph-stats polled (Migration), the
guest's checksummed fill and its checks.  conftest.py's fixture
libvirt_rig puts the rig up for a test file (root, libvirt installed) and
always tears it down."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
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

    def __init__(self, build: str, image: str, prefix: str = "fph-libvirt"):
        self.work = tempfile.mkdtemp(prefix=prefix + ".", dir="/var/tmp")
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
        print(f"libvirtd {ver}: {a.name} (host_uuid {a.host_uuid}, "
              f"migration on {a.address}), {b.name} (host_uuid "
              f"{b.host_uuid}, {b.address}); emulator {self.emulator}")

    def close(self) -> None:
        for h in self.hosts:
            h.stop()
        if os.environ.get("FPH_KEEP"):
            print(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def docs_xml(r: Rig, name: str, fph: bool = True) -> str:
    """docs/libvirt-domain.xml as domain @name of the rig (its emulator,
    its guest, the serial console on a UNIX socket), with or without the
    fph <qemu:commandline>."""
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
                     f"path='{serial_path(name)}'/><target port='0'/></serial>",
                     xml, flags=re.S)
    assert n == 1, "docs/libvirt-domain.xml: no pty serial and console"
    if not fph:
        xml = without_fph(xml)
    return xml


def without_fph(xml: str) -> str:
    """@xml without docs/libvirt-domain.xml's -object free-page-hint."""
    xml, n = re.subn(r"\s*<qemu:arg value='-object'/>\s*"
                     r"<qemu:arg value='free-page-hint[^']*'/>", "", xml)
    assert n == 1, "docs/libvirt-domain.xml: no -object free-page-hint"
    return xml


def serial_path(name: str) -> str:
    """Where the domain @name's serial console listens (in its host's
    namespace)."""
    return f"{SERIAL_DIR}/{name}.serial"


class Domain:
    """A domain of the test guest on the rig: docs/libvirt-domain.xml as
    @name, with or without fph, or the domain XML @xml (which must have
    its serial console on serial_path(@name))."""

    def __init__(self, r: Rig, name: str, fph: bool, xml: str | None = None):
        self.rig, self.name, self.fph = r, name, fph
        self.host: rig.Host | None = None
        self.guest: guestctl.Guest | None = None
        self.sock: socket.socket | None = None
        self.serial = serial_path(name)
        if xml is None:
            xml = docs_xml(r, name, fph)
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

    def disconnect(self) -> None:
        """Close the connection to the guest's serial socket (before its
        QEMU goes away: a migration, a save)."""
        if self.guest:
            self.guest.close()
            self.sock.close()
            self.guest = None

    def close(self) -> None:
        self.disconnect()
        for h in self.rig.hosts:
            h.virsh("destroy", self.name, check=False)
            h.virsh("undefine", self.name, check=False)


class StatsPoller:
    """query-fph-stats of domain @name on @host every 0.2 s in a thread
    while the with-block runs (a migration, a save: libvirt stops the
    source once it is done); .stats is the last answer, .polls their
    number."""

    def __init__(self, host: rig.Host, name: str):
        self.host, self.name = host, name
        self.stats: dict | None = None
        self.polls = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll)

    def _poll(self) -> None:
        while not self._done.is_set():
            try:
                self.stats = self.host.fph_stats(self.name)
                self.polls += 1
            except (rig.VirshError, ValueError, KeyError,
                    subprocess.TimeoutExpired):
                pass
            self._done.wait(0.2)

    def __enter__(self) -> "StatsPoller":
        # The counters add up over the QEMU process's life: what happens
        # in the with-block is the difference to this.
        try:
            self.base: dict | None = self.host.fph_stats(self.name)
        except (rig.VirshError, ValueError, KeyError):
            self.base = None
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def delta(self, key: str) -> int:
        """How much counter @key grew in the with-block."""
        assert self.stats is not None, \
            f"query-fph-stats of {self.name} never answered"
        return self.stats[key] - (self.base[key] if self.base else 0)

    def skipped(self) -> str:
        if not self.stats:
            return "query-fph-stats never answered"
        return (f"{self.delta('pages-skipped')} pages skipped "
                f"({mib(self.delta('bytes-skipped'))}), "
                f"{self.delta('requests')} guest requests")


class Migration:
    """One `virsh migrate` of @dom to @dst, the source polled meanwhile."""

    def __init__(self, dom: Domain, dst: rig.Host, mode: str,
                 flags: tuple[str, ...] = ()):
        """@mode: one of MODES; @flags: more options of virsh migrate."""
        self.dom, self.src, self.dst, self.mode = dom, dom.host, dst, mode
        self.flags = flags
        self.stats: dict | None = None     # last query-fph-stats of the source
        self.polls = 0
        self.events = ""

    def run(self) -> None:
        dom, src, dst = self.dom, self.src, self.dst
        dom.disconnect()
        events = subprocess.Popen(
            ["virsh", "-q", "-c", dst.uri, "event", "--all", "--loop"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1)   # connected before the migration starts
        poller = StatsPoller(src, dom.name)
        if dom.fph:
            poller.__enter__()
        t0 = time.monotonic()
        try:
            src.virsh("migrate", "--live", "--p2p", "--persistent",
                      *MODES[self.mode], *self.flags, dom.name, dst.uri,
                      timeout=600)
        except rig.VirshError:
            dom.show_log()
            raise
        finally:
            self.seconds = time.monotonic() - t0
            if dom.fph:
                poller.__exit__()
                self.stats, self.polls = poller.stats, poller.polls
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


def dirty(dom: Domain) -> None:
    dom.guest.check(f"fph-workload dirty {DIRTY_MIB}", timeout=300)


def verify(dom: Domain) -> None:
    out = dom.guest.check("fph-workload verify", timeout=300)
    v = guestctl.parse_kv(out, "verify")
    assert v.get("bad") == "0" and int(v.get("pages", 0)) == FILL_MIB * 256, \
        f"fill not intact on {dom.host.name}: {out.strip()}"


def check_destination(dom: Domain, src: rig.Host,
                      persistent_fph: bool = True) -> None:
    """The domain runs on its new host, persistent, gone from @src; with
    fph bound (and, @persistent_fph, in its persistent definition)."""
    dst = dom.host
    assert dst.state(dom.name) == "running", dst.state(dom.name)
    info = dst.dominfo(dom.name)
    assert info.get("Persistent") == "yes", info
    assert dom.name not in src.virsh("list", "--all", "--name").split(), \
        f"{dom.name} still defined on {src.name}"
    inactive = dst.virsh("dumpxml", "--inactive", dom.name)
    if dom.fph:
        assert "free-page-hint" in inactive or not persistent_fph, \
            "the persistent definition on the destination lost fph"
        st = dst.fph_stats(dom.name)
        assert st["enabled"] and st["device-present"] and st["driver-ok"], st
