# SPDX-License-Identifier: GPL-2.0-or-later
"""Page-cache reclaim at the start of a migration (reclaim=SIZE on the
free-page-hint object), on the busybox guest and whatever kernel its image
has (tests/kernels/run.sh runs this on 6.1 and 6.12).

The guest fills its page cache from a virtio-blk disk that source and
destination share: a raw file of random data, read through the block
device while a holder keeps it open (the kernel drops a block device's
cache at its last close).  The guest's reclaim helper is
guest/reclaim/fph-reclaim, run by busybox uevent as the udev rule runs it.

usage: python3 -m pytest -v -s tests/e2e/test_reclaim.py --qemu QEMU
       --image IMAGE_DIR [-k NAME]   (tests/e2e/conftest.py)
"""

from __future__ import annotations

import hashlib
import os

import fph_names as N
import guestctl
import targets as T
import vm as V

MEM = "1G"
DISK_MIB = 512
# Written, not synced, before the migration: must arrive, and reach the disk.
DIRTY_OFF_MIB, DIRTY_MIB = 256, 64
# The kernel drops a block device's page cache at its last close.
HOLD = "(sleep 100000 </dev/vda &); sleep 0.2"
FILL = "cat /dev/vda >/dev/null"
MEMINFO = "grep -E '^(MemFree|Buffers|Dirty):' /proc/meminfo"
# The object's options of the tests that reclaim.
RECLAIM = ",reclaim=1G,reclaim-timeout=20000"


class Rig(V.Pair):
    """The shared disk in the pair's workdir (vm.Pair); VMs with the
    object's options @opts, the same on every side."""

    def __init__(self, qemu: str, image: str, opts: str = ""):
        super().__init__(qemu, image, "fph-reclaim-", mem=MEM, fph_opts=opts)
        self.disk = os.path.join(self.dir, "disk.raw")
        self.swap: str | None = None
        try:
            with open("/dev/urandom", "rb") as r, open(self.disk, "wb") as w:
                chunk = r.read(16 << 20)
                for _ in range(DISK_MIB // 16):
                    w.write(chunk)
        except BaseException:
            self.close()
            raise

    def add_swap_disk(self) -> None:
        """A second disk (/dev/vdb) for swap, on every VM booted after."""
        self.swap = os.path.join(self.dir, "swap.raw")
        with open(self.swap, "wb") as f:
            f.truncate(64 << 20)

    def drives(self) -> list[str]:
        extra = ["-drive", f"if=none,id=d0,file={self.disk},format=raw,cache=none",
                 "-device", "virtio-blk-pci,drive=d0"]
        if self.swap:
            extra += ["-drive", f"if=none,id=d1,file={self.swap},format=raw,cache=none",
                      "-device", "virtio-blk-pci,drive=d1"]
        return extra

    def boot(self, name: str, append: str | None = None) -> V.VM:
        return self.vm(name, extra=self.drives(), append=append)

    def migrate(self, src: V.VM, name: str) -> tuple[V.VM, dict]:
        dst, uri = self.destination(name, extra=self.drives())
        info = V.migrate(src, dst, uri, T.BANDWIDTH_10G)
        info["fph"] = src.stats()
        src.kill()
        return dst, info


def meminfo_kib(g: guestctl.Guest) -> dict[str, int]:
    out = g.check(MEMINFO)
    return {line.split(":")[0]: int(line.split()[1]) for line in out.splitlines()
            if ":" in line}


def sent_mib(info: dict) -> int:
    return info["ram"]["transferred"] >> 20


def report(what: str, info: dict) -> None:
    r = info["fph"]["reclaim"]
    print(f"{what}: sent {sent_mib(info)} MiB, skipped "
          f"{info['fph']['bytes-skipped'] >> 20} MiB, setup {info.get('setup-time')} ms, "
          f"downtime {info['downtime']} ms; reclaim {r['last-outcome']}: "
          f"{r['last-bytes'] >> 20} of {r['last-asked'] >> 20} MiB, guest "
          f"{r['last-guest-us'] // 1000} ms, waited {r['last-wait-ms']} ms")


def test_off_unchanged(qemu: str, image: str) -> None:
    """Reclaim off: nothing asked, the guest's page cache stays and is sent"""
    with Rig(qemu, image) as rig:
        src = rig.boot("src")
        g = src.connect_guest(wait_ready=True)
        g.check(f"{HOLD}; {FILL}", 300)
        before = meminfo_kib(g)
        assert before["Buffers"] >= (DISK_MIB - 16) << 10, before
        dst, info = rig.migrate(src, "dst")
        report("reclaim off", info)
        r = info["fph"]["reclaim"]
        assert r["requests"] == 0 and r["last-outcome"] == N.OUTCOME["NONE"], r
        after = meminfo_kib(dst.connect_guest(wait_ready=False))
        assert after["Buffers"] >= before["Buffers"] - (8 << 10), (before, after)
        assert sent_mib(info) >= DISK_MIB - 16, sent_mib(info)


def test_keeps_dirty_data(qemu: str, image: str) -> None:
    """Reclaim on: clean cache dropped and not sent, unsynced writes kept"""
    with Rig(qemu, image, RECLAIM) as rig:
        src = rig.boot("src")
        g = src.connect_guest(wait_ready=True)
        # No writeback until the test syncs: the data stays dirty.
        g.check("echo 0 >/proc/sys/vm/dirty_writeback_centisecs; "
                "echo 360000 >/proc/sys/vm/dirty_expire_centisecs")
        g.check(f"{HOLD}; {FILL}", 300)
        md5 = g.check(f"dd if=/dev/urandom of=/tmp/pat bs=1M count={DIRTY_MIB} "
                      f"2>/dev/null && dd if=/tmp/pat of=/dev/vda bs=1M "
                      f"seek={DIRTY_OFF_MIB} conv=notrunc 2>/dev/null && "
                      f"md5sum </tmp/pat").split()[0]
        # Most of it (the kernel may start writing back some).
        before = meminfo_kib(g)
        assert before["Dirty"] >= (DIRTY_MIB // 2) << 10, before

        dst, info = rig.migrate(src, "dst")
        report("reclaim on", info)
        r = info["fph"]["reclaim"]
        assert r["last-outcome"] == N.OUTCOME["OK"], r
        # Nearly all of the clean cache: the dirty part is not reclaimable.
        assert r["last-bytes"] >= (DISK_MIB - DIRTY_MIB - 48) << 20, r
        assert sent_mib(info) <= DISK_MIB - 200, sent_mib(info)
        assert info["downtime"] < 1000, info["downtime"]

        d = dst.connect_guest(wait_ready=False)
        read = (f"dd if=/dev/vda bs=1M skip={DIRTY_OFF_MIB} count={DIRTY_MIB} "
                "2>/dev/null | md5sum")
        assert d.check(read).split()[0] == md5, "dirty data lost on the destination"
        log = d.check("cat /run/fph-reclaim.log; dmesg | grep 'reclaim [0-9]'")
        print(log.strip())

        # A second migration: the destination numbers its request after the
        # source's, so the driver takes it as new.
        dst2, info2 = rig.migrate(dst, "dst2")
        report("second migration", info2)
        r2 = info2["fph"]["reclaim"]
        assert r2["last-outcome"] == N.OUTCOME["OK"], r2

        # Synced, dropped and read back from the disk: the same.
        d2 = dst2.connect_guest(wait_ready=False)
        d2.check("sync; pkill sleep; sleep 0.5; echo 3 >/proc/sys/vm/drop_caches")
        assert meminfo_kib(d2)["Buffers"] < 8 << 10, "the block device's cache stayed"
        assert d2.check(read).split()[0] == md5, "dirty data did not reach the disk"
        with open(rig.disk, "rb") as f:
            f.seek(DIRTY_OFF_MIB << 20)
            host = hashlib.md5(f.read(DIRTY_MIB << 20)).hexdigest()
        assert host == md5, "the disk file does not hold the data"


def test_no_helper(qemu: str, image: str) -> None:
    """A guest without the helper answers at once: no wait, a clear outcome"""
    with Rig(qemu, image, RECLAIM) as rig:
        # The image's /init reads fph.reclaim=0.
        src = rig.boot("src", append=f"{guestctl.DEFAULT_APPEND} fph.reclaim=0")
        src.connect_guest(wait_ready=True)
        dst, info = rig.migrate(src, "dst")
        report("no helper", info)
        r = info["fph"]["reclaim"]
        assert r["last-outcome"] == N.OUTCOME["NO_HELPER"], r
        assert r["last-wait-ms"] < 2000, r


def test_swap_on(qemu: str, image: str) -> None:
    """Swap on: reclaimed on kernels with memory.reclaim swappiness= (6.10+),
    refused before (it could swap processes out)"""
    with Rig(qemu, image, RECLAIM) as rig:
        rig.add_swap_disk()
        src = rig.boot("src")
        g = src.connect_guest(wait_ready=True)
        g.check(f"mkswap /dev/vdb >/dev/null && swapon /dev/vdb && {HOLD} && {FILL}", 300)
        kver = g.check("uname -r").strip()
        new = tuple(int(x) for x in kver.split("-")[0].split(".")[:2]) >= (6, 10)
        dst, info = rig.migrate(src, "dst")
        report(f"swap on, {kver}", info)
        r = info["fph"]["reclaim"]
        if new:
            assert r["last-outcome"] == N.OUTCOME["OK"] and r["last-bytes"] >= 400 << 20, r
        else:
            assert r["last-outcome"] == N.OUTCOME["WOULD_SWAP"] and r["last-bytes"] == 0, r
            buffers = meminfo_kib(dst.connect_guest(wait_ready=False))["Buffers"]
            assert buffers >= (DISK_MIB - 16) << 10, f"reclaimed anyway: {buffers} KiB left"


# The test's own helper (test_result_mid_pass): hold passes between
# batches (debugfs hold_pass); once a request is out and the epoch's pass
# has sent a batch (and so waits), drop the clean page cache, post the
# result, log the driver's pass count, let the pass go on; log the pass
# count again when the driver has reported.
DBG = "/sys/kernel/debug/virtio_fph"
MID_PASS_HELPER = (
    "d=$(echo /sys/bus/virtio/drivers/virtio_fph/virtio*); "
    "echo 1 >$d/reclaim_helper; "
    f"b=$(cat {DBG}/batches); "
    f"echo Y >{DBG}/hold_pass; "
    "until read -r seq _ <$d/reclaim_request && [ $seq != 0 ]; do sleep 0.01; done; "
    f"until [ $(cat {DBG}/batches) -gt $b ]; do sleep 0.01; done; "
    "f=$(awk '/^Buffers:/ {print $2}' /proc/meminfo); "
    "echo 1 >/proc/sys/vm/drop_caches; "
    "g=$(awk '/^Buffers:/ {print $2}' /proc/meminfo); "
    "echo \"$seq $(( (f - g) * 1024 )) ok\" >$d/reclaim_result; "
    f"echo passes-at-post $(cat {DBG}/passes) >/run/mid-pass.log; "
    f"echo N >{DBG}/hold_pass; "
    f"until [ $(cat {DBG}/reclaim_last_us) != 0 ]; do sleep 0.01; done; "
    f"echo passes-at-report $(cat {DBG}/passes) epoch $(cat {DBG}/epoch) "
    ">>/run/mid-pass.log")
# Free 4 KiB holes for the pass to walk: tens of thousands of one-range
# requests, a pass of seconds.
MID_PASS_FRAGMENT_MIB = 128


def test_result_mid_pass(qemu: str, image: str) -> None:
    """A result posted while a pass runs: reported only after the pass that
    follows it, so the cache the helper dropped is not sent"""
    # One range per request: a pass takes long enough to post into; two
    # such passes before the report.
    with Rig(qemu, image, ",reclaim=1G,reclaim-timeout=60000,max-ranges=1") as rig:
        src = rig.boot("src", append=f"{guestctl.DEFAULT_APPEND} fph.reclaim=0")
        g = src.connect_guest(wait_ready=True)
        g.check(f"{HOLD}; {FILL}", 300)
        assert meminfo_kib(g)["Buffers"] >= (DISK_MIB - 16) << 10
        g.check(f"fph-workload fragment {MID_PASS_FRAGMENT_MIB}")
        g.check(f"({MID_PASS_HELPER}) </dev/null >/run/mid-pass.err 2>&1 &")
        dst, info = rig.migrate(src, "dst")
        report("result mid-pass", info)
        d = dst.connect_guest(wait_ready=False)
        log = d.check("cat /run/mid-pass.log /run/mid-pass.err").strip()
        print(log)
        seen = log.split()
        # Posted while the epoch's first pass was still running ...
        assert seen[:2] == ["passes-at-post", "0"], \
            f"the result was not posted mid-pass: {log}"
        # ... and reported after that pass and the next one, which found
        # what the helper freed; still in the first epoch.
        assert seen[2:6] == ["passes-at-report", "2", "epoch", "1"], \
            f"reported before the pass after the result: {log}"
        r = info["fph"]["reclaim"]
        assert r["last-outcome"] == N.OUTCOME["OK"] and r["last-bytes"] >= 400 << 20, r
        assert sent_mib(info) <= DISK_MIB - 200, sent_mib(info)
