# SPDX-License-Identifier: GPL-2.0-or-later
"""QEMU processes for the end-to-end tests: QMP client, VM, migration.

stdlib only.  A VM is the patched emulator (build/fph-qemu) running the
test guest under TCG, with a QMP socket and the guest serial console on
a second socket (driven by guestctl.Guest).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

import guestctl


class QMPError(Exception):
    pass


class QMP:
    """Minimal synchronous QMP client; events are kept in .events."""

    def __init__(self, path: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.file = self.sock.makefile("rwb")
        self.events: list[dict] = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError(f"bad greeting {greeting}")
        self.cmd("qmp_capabilities")

    def _read(self) -> dict:
        line = self.file.readline()
        if not line:
            raise QMPError("QMP connection closed")
        return json.loads(line)

    def cmd(self, name: str, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.file.write(json.dumps(msg).encode() + b"\n")
        self.file.flush()
        while True:
            resp = self._read()
            if "event" in resp:
                self.events.append(resp)
                continue
            if "error" in resp:
                raise QMPError(f"{name}: {resp['error']['desc']}")
            return resp["return"]

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class VM:
    """One QEMU process running the test guest."""

    def __init__(self, qemu: str, image_dir: str, workdir: str, name: str,
                 mem: str = "1G", fph: bool = True, incoming: str | None = None,
                 append: str = guestctl.DEFAULT_APPEND,
                 extra: list[str] | None = None):
        self.name = name
        self.qmp_path = os.path.join(workdir, f"{name}.qmp")
        self.serial_path = os.path.join(workdir, f"{name}.serial")
        self.log_path = os.path.join(workdir, f"{name}.log")
        for p in (self.qmp_path, self.serial_path):
            if os.path.exists(p):
                os.unlink(p)
        args = guestctl.qemu_args(qemu, image_dir, self.serial_path, mem=mem,
                                  append=append, extra=extra)
        # The serial socket must not hold up a migration destination.
        args = [a.replace("wait=on", "wait=off") for a in args]
        args += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        if fph:
            args += ["-object", "free-page-hint,id=fph0"]
        if incoming:
            args += ["-incoming", incoming]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.qmp = QMP(self.qmp_path)
        self.guest: guestctl.Guest | None = None

    def connect_guest(self, wait_ready: bool) -> guestctl.Guest:
        self.guest = guestctl.Guest(self.serial_path,
                                    log_path=self.log_path + ".serial")
        if wait_ready:
            self.guest.wait_ready(120)
        return self.guest

    def stats(self) -> dict:
        return self.qmp.cmd("query-fph-stats")

    def kill(self) -> None:
        if self.guest:
            self.guest.close()
        self.qmp.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
        self.log.close()


def migrate(src: VM, dst: VM, uri: str, max_bandwidth: int,
            downtime_ms: int = 300, timeout: float = 600) -> dict:
    """Migrate src -> dst over @uri; returns query-migrate at completion.

    The return path is on, as a careful operator would have it: the source
    only completes once the destination has loaded the state, and keeps
    running if the destination fails (e.g. lacks a device)."""
    start_migration(src, dst, uri, max_bandwidth, downtime_ms)
    return wait_migration(src, timeout)


def start_migration(src: VM, dst: VM, uri: str, max_bandwidth: int,
                    downtime_ms: int = 300, caps: tuple[str, ...] = ()) -> None:
    """Start src -> dst over @uri with the return path (and @caps) on."""
    on = [{"capability": c, "state": True} for c in ("return-path", *caps)]
    dst.qmp.cmd("migrate-set-capabilities", capabilities=on)
    src.qmp.cmd("migrate-set-capabilities", capabilities=on)
    src.qmp.cmd("migrate-set-parameters", **{
        "max-bandwidth": max_bandwidth, "downtime-limit": downtime_ms})
    src.qmp.cmd("migrate", uri=uri)


def wait_migration(src: VM, timeout: float = 600) -> dict:
    """Wait for the migration to complete; returns query-migrate."""
    deadline = time.monotonic() + timeout
    while True:
        info = src.qmp.cmd("query-migrate")
        status = info.get("status")
        if status == "completed":
            return info
        if status in ("failed", "cancelled"):
            raise QMPError(f"migration {status}: {info.get('error-desc')}")
        if time.monotonic() > deadline:
            src.qmp.cmd("migrate_cancel")
            raise QMPError("migration timed out")
        time.sleep(0.05)
