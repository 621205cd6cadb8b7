# SPDX-License-Identifier: GPL-2.0-or-later
"""A distribution guest: Debian 13 (trixie) with systemd, 2 GiB, 2 vCPUs,
under TCG, its root on a virtio-blk qcow2 overlay that a migration's source
and destination share.  The fph driver is the one DKMS built in the image
(scripts/build-debian-image.sh); udev loads it by modalias.  A real
service workload runs while the guest migrates with fph at 1 Gbit/s
(pgbench and stress-ng --verify, after a process wrote and freed memory),
and on the destination TPC-B's invariants, stress-ng's verification, a
filled pattern and the disk are checked.  With reclaim=1G, the guest's
helper drops clean page cache before the bulk round and a file written
without fsync arrives and reaches the disk.  The comparison with default QEMU
and the other contenders is the bench's (bench/fph-bench.py --guest debian13).

usage: python3 -m pytest -v -s tests/e2e/test_debian.py --qemu QEMU
       --image IMAGE_DIR [-k NAME]   (tests/e2e/conftest.py)

IMAGE_DIR: the OUTDIR of scripts/build-debian-image.sh (`make image-debian`
makes build/debian13); without its image.json every test is skipped.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

import fph_names as N
import guestctl
import pgbench
import scenario as S
import targets as T
import vm as V

GBIT = 125_000_000          # 1 Gbit/s, in bytes per second
MEM_MIB = 2048
MEM = f"{MEM_MIB}M"
SMP = 2
FPH_ALIAS = "virtio:d0000003Fv00001AF4"
# stress-ng's 2 vm workers write (random bytes) and verify this much in
# all during the migration (--vm-bytes is divided among them).
STRESS_MIB = 512


@pytest.fixture(scope="module")
def debian(image: str) -> str:
    """--image, the Debian image's directory; without its image.json
    every test is skipped."""
    if not V.DiskImage.present(image):
        pytest.skip(f"no Debian image in {image} (make image-debian)")
    return image


def pair(qemu: str, image: str, prefix: str, fph_opts: str = "") -> V.Pair:
    """The source and destination of a migration of the image, each
    MEM, SMP vCPUs, with fph (and @fph_opts)."""
    return V.Pair(qemu, image, prefix, mem=MEM, smp=SMP, fph=True,
                  fph_opts=fph_opts)


def wait_bound(g: guestctl.Guest, timeout: float = 60) -> str:
    """The virtio device whose driver is virtio_fph (udev may still be
    loading it when the agent starts); returns its sysfs name."""
    deadline = time.monotonic() + timeout
    while True:
        rc, out = g.run("for d in /sys/bus/virtio/drivers/virtio_fph/virtio*; do "
                        "[ -e \"$d\" ] && basename \"$d\"; done", 30)
        if out.split():
            return out.split()[-1]
        if time.monotonic() > deadline:
            raise AssertionError("no device bound to virtio_fph: "
                                 + g.check("lsmod; ls /sys/bus/virtio/devices/*/"))
        time.sleep(2)


# Running in the guest while it migrates (asserted: still running when
# the migration has completed).
LOAD_S = 90
DURING = {
    "pgbench": pgbench.run_for(LOAD_S),
    "stress": (f"stress-ng --vm 2 --vm-bytes {STRESS_MIB}M --vm-method "
               f"rand-set --verify --timeout {LOAD_S}s --metrics-brief"),
}
# Written by a process that exits before the migration: free, dirty memory.
FREED_MIB = 600


def check_driver(g: guestctl.Guest, kver: str) -> str:
    """The DKMS-built driver, loaded by udev through its modalias alone."""
    dev = wait_bound(g)
    alias = g.check(f"cat /sys/bus/virtio/devices/{dev}/modalias").strip()
    assert alias == FPH_ALIAS, alias
    assert g.check(f"modprobe -R {alias}").strip() == "virtio_fph"
    path = g.check("modinfo -n virtio_fph").strip()
    assert path.startswith(f"/lib/modules/{kver}/updates/dkms/virtio_fph.ko"), path
    dkms = g.check(f"dkms status -m virtio-fph -k {kver}").strip()
    assert ": installed" in dkms, dkms
    conf = g.check("grep -rs virtio_fph /etc/modules /etc/modules-load.d "
                   "/usr/lib/modules-load.d /run/modules-load.d /proc/cmdline; "
                   "true").strip()
    assert not conf, conf
    return f"{dev} ({alias}) -> {path}; {dkms}"


def test_pgbench_migration(qemu: str, debian: str) -> None:
    """postgresql running pgbench and stress-ng --verify migrate with fph at
    1 Gbit/s on a shared qcow2; TPC-B invariants hold on the destination."""
    with pair(qemu, debian, "fph-debian-") as p:
        img = V.DiskImage(debian)
        overlay = img.overlay(os.path.join(p.dir, "disk.qcow2"))
        src = p.vm("src", disk=overlay)
        g = src.connect_guest(wait_ready=True)
        print(f"  boot:     {src.boot_s:.1f} s to the agent ({img.name}, "
              f"{MEM}, {SMP} vCPUs, TCG); "
              + g.check("systemd-analyze | head -1").strip())
        kver = g.check("uname -r").strip()
        assert kver == img.kver, (kver, img.kver)
        state = g.run("systemctl is-system-running --wait", 120)[1].strip()
        assert state.splitlines()[-1] == "running", \
            state + g.run("systemctl --failed --no-legend")[1]
        print("  driver:   " + check_driver(g, kver))
        t0 = time.monotonic()
        for cmd in pgbench.SETUP:
            g.check(cmd, pgbench.SETUP_TIMEOUT)
        g.check("fph-workload fill 128")
        for name, cmd in DURING.items():
            g.start_background(name, cmd)
        g.check(f"fph-workload dirty {FREED_MIB}", 300)
        meminfo = guestctl.parse_kv(g.check("fph-workload meminfo"), "meminfo")
        print(f"  workload: {time.monotonic() - t0:.0f} s to set up; pgbench "
              f"and stress-ng running, {FREED_MIB} MiB written and freed, "
              f"MemFree {int(meminfo['memfree_kib']) >> 10} MiB")

        dst, uri = p.destination("dst", disk=overlay)
        info = V.migrate(src, dst, uri, GBIT)
        st = src.stats()
        src.kill()
        g2 = dst.connect_guest(wait_ready=False)
        for name in DURING:
            assert g2.run(f"test -e /run/fph-{name}.rc")[0] != 0, \
                f"{name} ended before the migration did: it ran beside it only in part"
        print(f"  migrated: {S.mib(info['ram']['transferred'])} in "
              f"{info['total-time']} ms, downtime {info['downtime']} ms, "
              f"{info['ram']['dirty-sync-count']} syncs; skipped "
              f"{S.mib(st['bytes-skipped'])} ({st['requests']} requests)")

        tps = pgbench.check_run(g2.wait_background("pgbench", LOAD_S + 300))
        stress = g2.wait_background("stress", LOAD_S + 300)
        assert "failed: 0" in stress and "passed: 2" in stress, stress
        total, rows = pgbench.check_invariants(g2)
        verify = guestctl.parse_kv(g2.check("fph-workload verify", 300), "verify")
        assert verify.get("bad") == "0" and verify.get("pages") == "32768", verify
        print(f"  dest:     pgbench {tps}, 0 failed; stress-ng --verify 0 "
              f"failed; sum(abalance) = sum(bbalance) = sum(tbalance) = "
              f"sum(delta) = {total} over {rows} history rows; pattern bad=0")
        # The database goes on working on the shared disk after the move.
        pgbench.check_run(g2.check(f"{pgbench.PG} pgbench -n -t 50 bench", 600))
        g2.check("systemctl stop postgresql && sync", 300)
        g2.close()
        dst.shutdown()   # QMP quit: the overlay closed cleanly, then checked
        check = subprocess.run(["qemu-img", "check", overlay], text=True,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT).stdout.strip()
        assert "No errors were found" in check, check
        assert st["pages-skipped"] > 0, st
        assert not N.unexpected_rejects(st), st["rejected"]
        assert st["bytes-skipped"] >= (FREED_MIB << 20) // 2, \
            f"under half of the {FREED_MIB} MiB freed was skipped"


# Clean page cache the reclaim test reads, and what it writes unsynced.
COLD_MIB, UNSYNCED_MIB = 512, 64
RECLAIM = ",reclaim=1G,reclaim-timeout=30000"


def test_reclaim_unsynced_file(qemu: str, debian: str) -> None:
    """reclaim=1G: the helper (udev rule, fph-reclaim@.service) drops the
    clean page cache of a 512 MiB file, which is then not sent; a file
    written without fsync arrives intact and reaches the disk."""
    with pair(qemu, debian, "fph-debian-reclaim-", fph_opts=RECLAIM) as p:
        img = V.DiskImage(debian)
        overlay = img.overlay(os.path.join(p.dir, "disk.qcow2"))
        src = p.vm("src", disk=overlay)
        g = src.connect_guest(wait_ready=True)
        dev = wait_bound(g)
        g.run("udevadm settle", 60)
        helper = g.check(f"cat /sys/bus/virtio/devices/{dev}/reclaim_helper").strip()
        assert helper == "1", f"the udev rule did not declare the helper: {helper}"
        # The cold file: written, synced, dropped, read once.
        g.check(f"dd if=/dev/urandom of=/var/tmp/chunk bs=1M count=16 status=none && "
                f"for i in $(seq {COLD_MIB // 16}); do cat /var/tmp/chunk; done "
                f">/var/tmp/cold && rm /var/tmp/chunk && sync && "
                f"echo 3 >/proc/sys/vm/drop_caches && cat /var/tmp/cold >/dev/null", 600)
        cold_md5 = g.check("md5sum </var/tmp/cold").split()[0]
        # No writeback until the test syncs: the file stays dirty.
        g.check("sysctl -qw vm.dirty_writeback_centisecs=0 vm.dirty_expire_centisecs=360000")
        md5 = g.check(f"dd if=/dev/urandom bs=1M count={UNSYNCED_MIB} status=none | "
                      f"tee /var/tmp/unsynced | md5sum").split()[0]
        dirty = int(g.check("awk '/^Dirty:/ {print $2}' /proc/meminfo").strip())
        assert dirty >= (UNSYNCED_MIB // 2) << 10, f"only {dirty} KiB dirty"

        dst, uri = p.destination("dst", disk=overlay)
        info = V.migrate(src, dst, uri, T.BANDWIDTH_10G)
        st = src.stats()
        src.kill()
        r = st["reclaim"]
        print(f"  migrated: {S.mib(info['ram']['transferred'])} in {info['total-time']} ms "
              f"(setup {info['setup-time']} ms), downtime {info['downtime']} ms; "
              f"reclaim {r['last-outcome']}: {r['last-bytes'] >> 20} MiB in "
              f"{r['last-guest-us'] // 1000} ms, waited {r['last-wait-ms']} ms; "
              f"skipped {S.mib(st['bytes-skipped'])}")
        assert r["last-outcome"] == N.OUTCOME["OK"], r
        assert r["last-bytes"] >= (COLD_MIB - 64) << 20, r
        g2 = dst.connect_guest(wait_ready=False)
        print("  guest:    " + g2.check(
            "journalctl -q -o cat -u 'fph-reclaim@*' | grep reclaimed | tail -1; "
            "dmesg | grep -o 'reclaim [0-9]*: .*' | tail -1").strip())
        assert g2.check("md5sum </var/tmp/unsynced").split()[0] == md5, \
            "the unsynced file differs on the destination"
        g2.check("sync && echo 3 >/proc/sys/vm/drop_caches", 300)
        assert g2.check("md5sum </var/tmp/unsynced", 300).split()[0] == md5, \
            "the unsynced file did not reach the disk intact"
        assert g2.check("md5sum </var/tmp/cold", 300).split()[0] == cold_md5, \
            "the reclaimed file differs when read back"
        g2.close()
        dst.shutdown()
        check = subprocess.run(["qemu-img", "check", overlay], text=True,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT).stdout.strip()
        assert "No errors were found" in check, check
