# SPDX-License-Identifier: GPL-2.0-or-later
"""Two libvirt hosts on one machine, for `virsh migrate` between them.

Each Host is a libvirtd (the distribution's, Debian 12: 9.0, monolithic)
in a mount namespace of its own (unshare --mount, private propagation), in
which per-host directories under the rig's work directory are bind-mounted
over the paths libvirt has built in:

    WORK/HOST/etc    -> /etc/libvirt       libvirtd.conf, qemu.conf, domains
    WORK/HOST/run    -> /run/libvirt       sockets, running domains' state
    WORK/HOST/lib    -> /var/lib/libvirt   per-domain dirs, the serial sockets
    WORK/HOST/log    -> /var/log/libvirt   libvirtd.log, qemu/DOMAIN.log
    WORK/HOST/cache  -> /var/cache/libvirt capabilities cache

so two daemons keep separate domain lists, state and logs, and nothing of
the machine's own /etc/libvirt or /run/libvirt is read or changed.  Each
has its own host_uuid (libvirt refuses a migration whose destination has
the source's host UUID: "Attempt to migrate guest to the same host").

Transport, loopback only: the daemons' sockets are 0700, root's, in
WORK/HOST/run (visible from both namespaces, as WORK is not covered), so
the peer-to-peer URI of the other host is
qemu+unix:///system?socket=WORK/OTHER/run/libvirt-sock; libvirt accepts
migrating "to the same host" only through an explicit UNIX socket, which
is this.  QEMU's migration stream goes over TCP on a loopback address of the host's
own, 127.0.0.2, 127.0.0.3, ... (qemu.conf migration_address, where the
destination listens, and migration_host, what it tells the source to
connect to; libvirt refuses 127.0.0.1 and "localhost" in both, not the
rest of 127.0.0.0/8, which Linux routes to lo all the same), each host
taking its incoming ports from a range of its own.

Also per host, in its namespace:
- no cgroups: /sys/fs/cgroup is unmounted, so libvirt runs the domains
  without (as in a container); with them, both daemons would name the
  domain's cgroup machine/qemu-ID-NAME.libvirt-qemu, the same while a
  migration runs when both give the domain the same ID;
- /dev/userfaultfd (postcopy's destination, as QEMU runs as libvirt-qemu
  and vm.unprivileged_userfaultfd is 0 by default; libvirt 9.0 does not
  label it): a node of the rig's own, owned by libvirt-qemu, bind-mounted
  over the machine's, and listed in qemu.conf cgroup_device_acl, so that
  libvirt puts it in each domain's private /dev;
- Host.binds: more bind mounts (a host without the fph module);
- stdio_handler = "file": QEMU's log in WORK/HOST/log/qemu/DOMAIN.log
  without a virtlogd per host.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import time
import uuid

MOUNTS = {"etc": "/etc/libvirt", "run": "/run/libvirt",
          "lib": "/var/lib/libvirt", "log": "/var/log/libvirt",
          "cache": "/var/cache/libvirt"}

# libvirt's default cgroup_device_acl, plus /dev/userfaultfd.
DEVICE_ACL = ["/dev/null", "/dev/full", "/dev/zero", "/dev/random",
              "/dev/urandom", "/dev/ptmx", "/dev/kvm", "/dev/userfaultfd"]

# In the new mount namespace: the per-host directories over libvirt's,
# no cgroups, our /dev/userfaultfd; then libvirtd -d (it returns once
# the daemon listens).
NS_SCRIPT = r"""
set -e
d=$1; shift
for m in etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt \
         log:/var/log/libvirt cache:/var/cache/libvirt; do
    mkdir -p "${m#*:}"
    mount --bind "$d/${m%%:*}" "${m#*:}"
done
if grep -q ' /sys/fs/cgroup' /proc/self/mounts; then
    umount -R /sys/fs/cgroup 2>/dev/null || umount -l /sys/fs/cgroup
fi
if [ -n "$UFFD_DEV" ]; then
    mount -t tmpfs -o mode=0755,size=64k fph-dev "$d/dev"
    mknod -m 0600 "$d/dev/userfaultfd" c ${UFFD_DEV%:*} ${UFFD_DEV#*:}
    chown libvirt-qemu:libvirt-qemu "$d/dev/userfaultfd"
    [ -e /dev/userfaultfd ] || touch /dev/userfaultfd
    mount --bind "$d/dev/userfaultfd" /dev/userfaultfd
fi
for b in $EXTRA_BINDS; do
    mount --bind "${b%%:*}" "${b#*:}"
done
exec libvirtd -d -f "$d/etc/libvirtd.conf" -p "$d/libvirtd.pid"
"""


class VirshError(Exception):
    pass


def _uffd_dev() -> str:
    """major:minor of the misc device userfaultfd, or '' (no postcopy)."""
    try:
        with open("/proc/misc") as f:
            for line in f:
                minor, name = line.split()
                if name == "userfaultfd":
                    return f"10:{minor}"
    except OSError:
        pass
    return ""


class Host:
    """One libvirt "host": a libvirtd in its own mount namespace."""

    def __init__(self, workdir: str, name: str, index: int):
        """@index: 0, 1, ...: the host's loopback address 127.0.0.(2+index)
        and incoming migration ports 49152+32*index...+31."""
        self.name = name
        self.address = f"127.0.0.{2 + index}"
        port_min = 49152 + 32 * index
        self.dir = os.path.join(workdir, name)
        self.host_uuid = str(uuid.uuid4())
        self.port_min = port_min
        self.pid: int | None = None
        # (source, target) bind mounts of the host's namespace besides
        # MOUNTS: e.g. an empty directory over the emulator's module
        # directory, a host without the fph module.
        self.binds: list[tuple[str, str]] = []

    # ------------------------------------------------------------ paths
    @property
    def uri(self) -> str:
        return f"qemu+unix:///system?socket={self.dir}/run/libvirt-sock"

    def path(self, inside: str) -> str:
        """The machine's path of @inside, a path in the host's namespace
        under one of MOUNTS."""
        for sub, mnt in MOUNTS.items():
            if inside == mnt or inside.startswith(mnt + "/"):
                return self.dir + "/" + sub + inside[len(mnt):]
        return inside

    def qemu_log(self, dom: str) -> str:
        return self.path(f"/var/log/libvirt/qemu/{dom}.log")

    # ---------------------------------------------------------- daemon
    def _write_config(self) -> None:
        qemu = pwd.getpwnam("libvirt-qemu")
        for sub in (*MOUNTS, "dev"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "lib", "qemu"), exist_ok=True)
        os.chown(os.path.join(self.dir, "lib", "qemu"), qemu.pw_uid, qemu.pw_gid)
        os.makedirs(os.path.join(self.dir, "log", "qemu"), exist_ok=True)
        with open(os.path.join(self.dir, "etc", "libvirtd.conf"), "w") as f:
            f.write(f'host_uuid = "{self.host_uuid}"\n'
                    'unix_sock_group = "root"\n'
                    'unix_sock_ro_perms = "0700"\n'
                    'unix_sock_rw_perms = "0700"\n'
                    'unix_sock_admin_perms = "0700"\n'
                    'auth_unix_ro = "none"\n'
                    'auth_unix_rw = "none"\n'
                    'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n')
        acl = ", ".join(f'"{d}"' for d in DEVICE_ACL)
        with open(os.path.join(self.dir, "etc", "qemu.conf"), "w") as f:
            f.write('stdio_handler = "file"\n'
                    f'migration_address = "{self.address}"\n'
                    f'migration_host = "{self.address}"\n'
                    f'migration_port_min = {self.port_min}\n'
                    f'migration_port_max = {self.port_min + 31}\n'
                    f'cgroup_device_acl = [ {acl} ]\n')

    def start(self, timeout: float = 60.0) -> None:
        self._write_config()
        env = dict(os.environ, UFFD_DEV=_uffd_dev(),
                   EXTRA_BINDS=" ".join(f"{s}:{t}" for s, t in self.binds))
        p = subprocess.run(["unshare", "--mount", "--propagation", "private",
                            "--", "sh", "-c", NS_SCRIPT, "sh", self.dir],
                           env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
        if p.returncode != 0:
            raise VirshError(f"{self.name}: libvirtd did not start "
                             f"(rc {p.returncode}): {p.stdout.strip()}")
        with open(os.path.join(self.dir, "libvirtd.pid")) as f:
            self.pid = int(f.read().strip())
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.virsh("uri", timeout=10)
                return
            except (VirshError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline or not _alive(self.pid):
                    raise
                time.sleep(0.5)

    def stop(self) -> None:
        """Destroy its domains, then stop the daemon."""
        if self.pid is None:
            return
        try:
            for dom in self.virsh("list", "--all", "--name").split():
                self.virsh("destroy", dom, check=False)
                self.virsh("undefine", dom, check=False)
        except (VirshError, subprocess.TimeoutExpired):
            pass
        try:
            os.kill(self.pid, signal.SIGTERM)
            for _ in range(100):
                os.kill(self.pid, 0)
                time.sleep(0.1)
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.pid = None

    # ------------------------------------------------------------ virsh
    def virsh(self, *args: str, check: bool = True,
              timeout: float = 120.0) -> str:
        p = subprocess.run(["virsh", "-q", "-c", self.uri, *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise VirshError(f"{self.name}: virsh {' '.join(args)}: "
                             f"{(p.stderr or p.stdout).strip()}")
        return p.stdout

    def qmp(self, dom: str, command: str, **arguments) -> dict:
        """A QMP command through virsh qemu-monitor-command; its return."""
        cmd = {"execute": command}
        if arguments:
            cmd["arguments"] = arguments
        out = self.virsh("qemu-monitor-command", dom, json.dumps(cmd))
        return json.loads(out)["return"]

    def fph_stats(self, dom: str) -> dict:
        return self.qmp(dom, "query-fph-stats")

    def state(self, dom: str) -> str:
        return self.virsh("domstate", dom, check=False).strip()

    def dominfo(self, dom: str) -> dict[str, str]:
        return _colon_table(self.virsh("dominfo", dom))

    def jobinfo_completed(self, dom: str) -> dict[str, str]:
        return _colon_table(self.virsh("domjobinfo", dom, "--completed"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def _colon_table(out: str) -> dict[str, str]:
    """virsh's "Key:   value" listing as a dict."""
    table = {}
    for line in out.splitlines():
        k, sep, v = line.partition(":")
        if sep:
            table[k.strip()] = v.strip()
    return table


def size_bytes(value: str) -> int:
    """virsh's "123.456 MiB" as bytes."""
    num, unit = value.split()
    scale = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
             "TiB": 1 << 40}[unit]
    return int(float(num) * scale)
