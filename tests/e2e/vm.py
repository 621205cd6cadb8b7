# SPDX-License-Identifier: GPL-2.0-or-later
"""QEMU processes for the tests and the bench, on QEMU's own python/qemu.

A VM is a qemu.machine.QEMUMachine running the test guest under TCG: QMP
through QEMUMachine (vm.cmd(...), raising qemu.qmp.ExecuteError), the
guest's serial console on QEMUMachine's console socket, driven by
guestctl.Guest (the one serial-console helper).

The guest is the busybox initramfs of scripts/build-guest-image.sh, or,
with disk=OVERLAY, a distribution on a disk: the DiskImage in image_dir
(scripts/build-debian-image.sh), its kernel and initrd booted directly and
its root file system on virtio-blk, the qcow2 OVERLAY over the cached
image.  A migration's source and destination open the same overlay
(DiskImage.overlay() makes one per migration).

QEMU's python/qemu lives in the QEMU source tree the build unpacks
(QEMU_SRC in build/qemu.env); meson and the Makefile put QEMU_SRC/python
on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    from qemu.machine import QEMUMachine
    from qemu.qmp import ExecuteError  # noqa: F401 - re-exported for callers
except ImportError:
    sys.exit("fph tests: QEMU's python/qemu is not importable; run through "
             "meson or make, or set PYTHONPATH=$QEMU_SRC/python "
             "(QEMU_SRC from build/qemu.env)")

import guestctl


class MigrationError(Exception):
    """The migration failed, was cancelled, or did not finish in time."""


class DiskImage:
    """A guest on a disk: image_dir/image.json, as scripts/build-debian-image.sh
    writes it (disk, kernel, initrd: file names in image_dir; append: the
    kernel command line; kver)."""

    # Under TCG a systemd guest takes 30-60 s to its agent, more on a
    # loaded machine.
    READY_TIMEOUT = 240.0

    def __init__(self, image_dir: str):
        self.dir = image_dir
        path = os.path.join(image_dir, "image.json")
        with open(path) as f:
            self.desc = json.load(f)
        self.name = self.desc.get("name", os.path.basename(image_dir))
        self.kver = self.desc.get("kver", "")
        self.append = self.desc["append"]
        self.disk, self.kernel, self.initrd = (
            os.path.realpath(os.path.join(image_dir, self.desc[k]))
            for k in ("disk", "kernel", "initrd"))
        self.format = self.desc.get("format", "qcow2")
        for f in (self.disk, self.kernel, self.initrd):
            if not os.path.isfile(f):
                raise FileNotFoundError(f"{path}: {f} missing")

    @staticmethod
    def present(image_dir: str) -> bool:
        return os.path.isfile(os.path.join(image_dir, "image.json"))

    def overlay(self, path: str) -> str:
        """Create the qcow2 @path over the image (its backing file, which
        is never written) and return @path; one per migration, opened by
        its source and its destination."""
        try:
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2",
                            "-b", self.disk, "-F", self.format, path],
                           check=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        except FileNotFoundError as e:
            raise RuntimeError("qemu-img not found (apt-get install "
                               "qemu-utils)") from e
        except subprocess.CalledProcessError as e:
            raise RuntimeError(f"qemu-img create {path}: {e.stdout}") from e
        return path

    def qemu_args(self, disk: str, mem: str = "1G", append: str | None = None,
                  extra: list[str] | None = None, smp: int = 1,
                  accel: str = "tcg") -> list[str]:
        """QEMU arguments booting the image's kernel with its root on
        virtio-blk, the qcow2 @disk (cache=none: what reaches the disk
        is on the disk, as shared-storage migration wants)."""
        return ["-machine", "q35", "-accel", accel, "-m", mem,
                "-smp", str(smp), "-nodefaults", "-no-user-config",
                "-kernel", self.kernel, "-initrd", self.initrd,
                "-append", self.append if append is None else append,
                "-drive", f"if=none,id=root,file={disk},format=qcow2,"
                          "cache=none,discard=unmap",
                "-device", "virtio-blk-pci,drive=root,id=root-blk",
                *(extra or [])]


class VM(QEMUMachine):
    """One QEMU process running the test guest, launched on construction.

    @append: the kernel command line (default: guestctl.DEFAULT_APPEND, or
    the disk image's own).  @disk: boot the DiskImage in @image_dir with
    @disk, a qcow2 overlay over it (DiskImage.overlay()), as its root.
    @fph: with -object free-page-hint,id=fph0, plus @fph_opts (",reclaim=1G").
    @accel: the -accel argument (default TCG; fph-selftest: "kvm",
    "kvm,dirty-ring-size=4096")."""

    def __init__(self, qemu: str, image_dir: str, workdir: str, name: str,
                 mem: str = "1G", fph: bool = True, incoming: str | None = None,
                 append: str | None = None,
                 extra: list[str] | None = None, smp: int = 1,
                 disk: str | None = None, fph_opts: str = "",
                 accel: str = "tcg"):
        self.image: DiskImage | None = None
        self.ready_timeout = 120.0
        if disk:
            self.image = DiskImage(image_dir)
            self.ready_timeout = DiskImage.READY_TIMEOUT
            args = self.image.qemu_args(disk, mem=mem, append=append,
                                        extra=extra, smp=smp, accel=accel)
        else:
            args = guestctl.qemu_args(image_dir, mem=mem,
                                      append=(guestctl.DEFAULT_APPEND if append is None
                                              else append),
                                      extra=extra, smp=smp, accel=accel)
        if fph:
            args += ["-object", f"free-page-hint,id=fph0{fph_opts}"]
        if incoming:
            args += ["-incoming", incoming]
        super().__init__(qemu, args=args, name=name, log_dir=workdir,
                         base_temp_dir=workdir)
        self.serial_log = os.path.join(workdir, f"{name}.serial.log")
        self.guest: guestctl.Guest | None = None
        # The console is a socket pair from the start: nothing the guest
        # prints is lost, and a destination is not held up by it.
        self.set_console()
        self.launched_at = time.monotonic()
        self.boot_s: float | None = None   # launch to FPH-GUEST-READY
        self.launch()

    @property
    def log_path(self) -> str:
        """QEMU's stdout/stderr (kept in workdir after shutdown)."""
        return os.path.join(self.log_dir, f"{self._name}.log")

    def connect_guest(self, wait_ready: bool,
                      timeout: float | None = None) -> guestctl.Guest:
        """The guest on the serial console; @wait_ready: once it printed
        FPH-GUEST-READY (within @timeout s, default 120, a disk image's
        DiskImage.READY_TIMEOUT)."""
        self.guest = guestctl.Guest(self.console_socket,
                                    log_path=self.serial_log)
        if wait_ready:
            self.guest.wait_ready(timeout or self.ready_timeout)
            self.boot_s = time.monotonic() - self.launched_at
        return self.guest

    def stats(self) -> dict:
        return self.cmd("query-fph-stats")

    def timed_cmd(self, name: str, limit_s: float = 10.0, **args):
        """cmd() that fails after @limit_s instead of waiting for a wedged
        main loop; returns (result, seconds taken)."""
        self._qmp.settimeout(limit_s)
        t0 = time.monotonic()
        try:
            return self.cmd(name, **args), time.monotonic() - t0
        finally:
            self._qmp.settimeout(None)

    def kill(self) -> None:
        if self.guest:
            self.guest.close()
            self.guest = None
        super().kill()


class Pair:
    """A source and its destinations: the QEMU processes of one or more
    migrations in a work directory of their own (mkdtemp(@prefix), in
    @parent), every one killed when the with-block ends and the directory
    removed (with @keep, kept and said so through @log).  @vm_args: VM's
    keyword arguments for every VM started here (mem, smp, extra, ...);
    vm() and destination() may override them.  The one way the tests and
    the scripts (scenario.run, postcopy.run) start a migration's VMs."""

    def __init__(self, qemu: str, image_dir: str, prefix: str,
                 keep: bool = False, log=print, parent: str | None = None,
                 **vm_args):
        self.qemu, self.image_dir = qemu, image_dir
        self.vm_args = vm_args
        self.keep, self.log = keep, log
        self.dir = tempfile.mkdtemp(prefix=prefix, dir=parent)
        self.vms: list[VM] = []

    def __enter__(self) -> Pair:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def vm(self, name: str, **vm_args) -> VM:
        """VM @name, launched (with the pair's VM arguments and @vm_args)."""
        m = VM(self.qemu, self.image_dir, self.dir, name,
               **{**self.vm_args, **vm_args})
        self.vms.append(m)
        return m

    def destination(self, name: str, caps: tuple[str, ...] = (),
                    **vm_args) -> tuple[VM, str]:
        """VM @name listening for a migration (-incoming defer, then
        migrate-incoming on a UNIX socket in the directory); returns it
        and the URI to migrate to.  @caps (and the return path) are set
        before it listens, as some (postcopy-preempt) must be."""
        dst = self.vm(name, incoming="defer", **vm_args)
        uri = f"unix:{os.path.join(self.dir, name + '.sock')}"
        if caps:
            set_capabilities(dst, caps)
        dst.cmd("migrate-incoming", uri=uri)
        return dst, uri

    def close(self) -> None:
        for m in self.vms:
            m.kill()
        if self.keep:
            self.log(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def set_capabilities(vm: VM, caps: tuple[str, ...],
                     return_path: bool = True) -> None:
    """The return path plus @caps on, as a careful operator has it: the
    source completes only once the destination has loaded the state, and
    keeps running if the destination fails (e.g. lacks a device)."""
    rp = ("return-path",) if return_path else ()
    vm.cmd("migrate-set-capabilities", capabilities=[
        {"capability": c, "state": True} for c in (*rp, *caps)])


def migrate(src: VM, dst: VM, uri: str, max_bandwidth: int,
            downtime_ms: int = 300, timeout: float = 600) -> dict:
    """Migrate src -> dst over @uri; returns query-migrate at completion."""
    start_migration(src, dst, uri, max_bandwidth, downtime_ms)
    return wait_migration(src, timeout)


def start_migration(src: VM, dst: VM, uri: str, max_bandwidth: int,
                    downtime_ms: int = 300, caps: tuple[str, ...] = (),
                    return_path: bool = True) -> None:
    """Start src -> dst over @uri with the return path (and @caps) on;
    return_path=False and no @caps: no capability is changed (the bench)."""
    if return_path or caps:
        set_capabilities(dst, caps, return_path)
        set_capabilities(src, caps, return_path)
    src.cmd("migrate-set-parameters", max_bandwidth=max_bandwidth,
            downtime_limit=downtime_ms)
    src.cmd("migrate", uri=uri)


def wait_for(pred, timeout: float, what: str) -> None:
    """Poll @pred every 20 ms until it is true; AssertionError naming
    @what after @timeout s."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def wait_migration(src: VM, timeout: float = 600, interval: float = 0.05,
                   peers: tuple[VM, ...] = ()) -> dict:
    """Wait for the migration to complete, polling query-migrate every
    @interval s; returns query-migrate.  Raises MigrationError as soon as
    one of @peers (e.g. src and dst) has exited."""
    deadline = time.monotonic() + timeout
    while True:
        for m in peers:
            if not m.is_running():
                raise MigrationError(f"QEMU exited during migration (exit code "
                                     f"{m.exitcode()}, log {m.log_path})")
        info = src.cmd("query-migrate")
        status = info.get("status")
        if status == "completed":
            return info
        if status in ("failed", "cancelled"):
            raise MigrationError(f"migration {status}: {info.get('error-desc')}")
        if time.monotonic() > deadline:
            src.cmd("migrate_cancel")
            raise MigrationError("migration timed out")
        time.sleep(interval)
