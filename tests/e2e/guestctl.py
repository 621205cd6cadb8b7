#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Host side of the fph guest's serial command protocol (stdlib only).

The guest's /init (guest-image/init) prints ``FPH-GUEST-READY`` on its serial
console, then executes each line it receives with ``sh -c`` and frames the
output as::

    FPH-BEGIN id=<id>
    ...output...
    FPH-DONE rc=<rc> id=<id>

Commands are sent as ``@<id> <command>`` so each reply is matched to its
command even across a reconnect or a migration (the id is chosen here).

The console is QEMUMachine's console socket (vm.VM): a socket pair that
exists before the guest starts, so nothing the guest prints is lost.
Typical use::

    m = vm.VM(qemu, image_dir, workdir, "src")       # launched
    g = m.connect_guest(wait_ready=True)
    rc, out = g.run("fph-workload meminfo", 30)
    kv = parse_kv(out, "meminfo")                    # {'memtotal_kib': '...'}
"""

from __future__ import annotations

import os
import re
import select
import socket
import time
import uuid

READY = "FPH-GUEST-READY"


class GuestError(Exception):
    """Protocol failure: timeout or the connection closed."""

    def __init__(self, msg: str, output: str = ""):
        super().__init__(msg)
        self.output = output


class Guest:
    """Drive the fph guest through its serial console socket."""

    def __init__(self, sock: socket.socket, log_path: str | None = None,
                 echo: bool = False):
        self.buf = ""          # received, not yet consumed
        self.transcript = []   # everything received (str chunks)
        self._log = open(log_path, "a", buffering=1) if log_path else None
        self._echo = echo
        self._counter = 0
        self._tag = uuid.uuid4().hex[:8]
        self.sock = sock
        sock.setblocking(False)

    # ------------------------------------------------------------ transport
    def close(self) -> None:
        # The socket is the QEMUMachine's; it closes it at shutdown.
        self.sock = None
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _recv(self, timeout: float) -> bool:
        """Read what is available within timeout. False on EOF."""
        if self.sock is None:
            return False
        r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not r:
            return True
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return True
        if not data:
            return False
        text = data.decode("utf-8", "replace").replace("\r", "")
        self.buf += text
        self.transcript.append(text)
        if self._log:
            self._log.write(text)
        if self._echo:
            print(text, end="", flush=True)
        return True

    def send_line(self, line: str) -> None:
        data = (line + "\n").encode()
        while data:
            try:
                n = self.sock.send(data)
                data = data[n:]
            except BlockingIOError:
                select.select([], [self.sock], [], 1.0)

    def expect(self, pattern: str | re.Pattern, timeout: float) -> re.Match:
        """Wait until pattern appears in the received text; consume up to
        the end of the match and return the match."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        return self._expect(rx, timeout, f"waiting for {rx.pattern!r}")[1]

    def _expect(self, rx: re.Pattern, timeout: float,
                doing: str) -> tuple[str, re.Match]:
        """The console's one wait: read until @rx matches the received
        text (within @timeout s), consume up to the end of the match and
        return (the text before it, the match).  GuestError "timeout
        (...) @doing" or "serial connection closed @doing" otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                before = self.buf[:m.start()]
                self.buf = self.buf[m.end():]
                return before, m
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError(f"timeout ({timeout:.0f}s) {doing}", self.buf)
            if not self._recv(min(left, 0.5)):
                raise GuestError(f"serial connection closed {doing}", self.buf)

    @property
    def log(self) -> str:
        return "".join(self.transcript)

    # ------------------------------------------------------------- protocol
    def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait for FPH-GUEST-READY; return the seconds waited."""
        t0 = time.monotonic()
        self.expect(re.escape(READY) + r"\n", timeout)
        return time.monotonic() - t0

    def run(self, cmd: str, timeout: float = 60.0) -> tuple[int, str]:
        """Run cmd in the guest (sh -c, stdin /dev/null); return (rc, output).

        Output is stdout+stderr with CRs removed, and may contain kernel
        console messages printed meanwhile.  Raises GuestError on timeout
        (the command may still be running in the guest).
        """
        if "\n" in cmd:
            raise ValueError("command must be a single line")
        self._counter += 1
        cid = f"{self._tag}-{self._counter}"
        self.send_line(f"@{cid} {cmd}")
        self.expect(r"FPH-BEGIN id=" + re.escape(cid) + r"\n", timeout)
        rx = re.compile(r"FPH-DONE rc=(-?\d+) id=" + re.escape(cid) + r"\n")
        out, m = self._expect(rx, timeout, f"running {cmd!r}")
        return int(m.group(1)), out

    def check(self, cmd: str, timeout: float = 60.0) -> str:
        """run() that raises GuestError unless rc == 0; returns the output."""
        rc, out = self.run(cmd, timeout)
        if rc != 0:
            raise GuestError(f"{cmd!r} failed rc={rc}:\n{out}", out)
        return out

    def ping(self, timeout: float = 10.0) -> bool:
        """True if the guest answers a no-op command."""
        try:
            return self.run("true", timeout)[0] == 0
        except GuestError:
            return False

    def start_background(self, name: str, cmd: str) -> None:
        """Start @cmd in the guest's background (see background())."""
        self.check(background(name, cmd))

    def wait_background(self, name: str, timeout: float) -> str:
        """Wait for the background command @name to end; its output.
        Raises GuestError if it does not end in time or exits non-zero."""
        return self.check(background_wait(name), timeout)

    def poweroff(self, timeout: float = 10.0) -> None:
        """Power the guest off (poweroff -f); no reply is expected."""
        self._counter += 1
        self.send_line(f"@{self._tag}-{self._counter} poweroff -f")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._recv(0.2):
            pass


def background(name: str, cmd: str) -> str:
    """The guest command line that starts @cmd in the background, where it
    may outlive a migration: its output goes to /run/fph-NAME.log, its exit
    code to /run/fph-NAME.rc when it ends."""
    rc = f"/run/fph-{name}.rc"
    # The exit code appears whole (rename), once the log is complete.
    return (f"rm -f {rc}; ( {{ {cmd}; }} >/run/fph-{name}.log 2>&1; "
            f"echo $? >{rc}.tmp; mv {rc}.tmp {rc} ) >/dev/null 2>&1 &")


def background_wait(name: str) -> str:
    """The guest command line that waits for background() @name to end,
    prints its output and fails unless it exited 0."""
    return (f"while ! test -e /run/fph-{name}.rc; do sleep 1; done; "
            f"cat /run/fph-{name}.log; test \"$(cat /run/fph-{name}.rc)\" = 0")


def parse_kv(output: str, prefix: str | None = None) -> dict[str, str]:
    """Parse the last `prefix key=value ... ok|FAIL` line of fph-workload
    output into a dict (bare words map to "", e.g. {'ok': ''})."""
    lines = [ln for ln in output.splitlines()
             if prefix is None or ln.split(" ", 1)[0] == prefix]
    if not lines:
        return {}
    kv: dict[str, str] = {}
    for tok in lines[-1].split():
        k, sep, v = tok.partition("=")
        kv[k] = v if sep else ""
    return kv


# --------------------------------------------------------------- QEMU helpers
DEFAULT_APPEND = "console=ttyS0 transparent_hugepage=never quiet"


def qemu_args(image_dir: str, mem: str = "1G", append: str = DEFAULT_APPEND,
              extra: list[str] | None = None, smp: int = 1,
              accel: str = "tcg") -> list[str]:
    """QEMU arguments for the fph test guest (q35; TCG unless @accel, the
    -accel argument: "kvm,dirty-ring-size=4096"); QEMUMachine adds the
    monitor, the console and -display none."""
    return ["-machine", "q35", "-accel", accel, "-m", mem,
            "-smp", str(smp), "-nodefaults", "-no-user-config",
            "-kernel", os.path.join(image_dir, "vmlinuz"),
            "-initrd", os.path.join(image_dir, "initramfs"),
            "-append", append, *(extra or [])]
