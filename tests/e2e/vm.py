# SPDX-License-Identifier: GPL-2.0-or-later
"""QEMU processes for the tests and the bench, on QEMU's own python/qemu.

A VM is a qemu.machine.QEMUMachine running the test guest under TCG: QMP
through QEMUMachine (vm.cmd(...), raising qemu.qmp.ExecuteError), the
guest's serial console on QEMUMachine's console socket, driven by
guestctl.Guest (the one serial-console helper).

QEMU's python/qemu lives in the QEMU source tree the build unpacks
(QEMU_SRC in build/qemu.env); meson and the Makefile put QEMU_SRC/python
on PYTHONPATH.
"""

from __future__ import annotations

import os
import sys
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


class VM(QEMUMachine):
    """One QEMU process running the test guest, launched on construction."""

    def __init__(self, qemu: str, image_dir: str, workdir: str, name: str,
                 mem: str = "1G", fph: bool = True, incoming: str | None = None,
                 append: str = guestctl.DEFAULT_APPEND,
                 extra: list[str] | None = None, smp: int = 1):
        args = guestctl.qemu_args(image_dir, mem=mem, append=append,
                                  extra=extra, smp=smp)
        if fph:
            args += ["-object", "free-page-hint,id=fph0"]
        if incoming:
            args += ["-incoming", incoming]
        super().__init__(qemu, args=args, name=name, log_dir=workdir,
                         base_temp_dir=workdir)
        self.serial_log = os.path.join(workdir, f"{name}.serial.log")
        self.guest: guestctl.Guest | None = None
        # The console is a socket pair from the start: nothing the guest
        # prints is lost, and a destination is not held up by it.
        self.set_console()
        self.launch()

    @property
    def log_path(self) -> str:
        """QEMU's stdout/stderr (kept in workdir after shutdown)."""
        return os.path.join(self.log_dir, f"{self._name}.log")

    def connect_guest(self, wait_ready: bool) -> guestctl.Guest:
        self.guest = guestctl.Guest(self.console_socket,
                                    log_path=self.serial_log)
        if wait_ready:
            self.guest.wait_ready(120)
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
