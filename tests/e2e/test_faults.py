# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end faults during migration, real guest under TCG: nothing lost,
nothing leaked, QEMU still responsive.

usage: python3 -m pytest -v -s tests/e2e/test_faults.py --qemu QEMU
       --image IMAGE_DIR [-k NAME]   (tests/e2e/conftest.py)
"""

from __future__ import annotations

import os
import signal
import time

import fph_names as N
import guestctl
import postcopy
import targets as T
import vm as V

SLOW = 100_000_000        # 100 MB/s: a 1 GiB migration lasts seconds
CRAWL = 4_000_000         # 4 MB/s: still migrating a guest reboot later
FAST = T.BANDWIDTH_10G


class Setup(V.Pair):
    """A source guest holding a verified pattern, and its destinations
    (vm.Pair: all killed, the scratch dir removed, at the end); @vm_args:
    vm.Pair's, for every VM started here."""

    def __init__(self, qemu: str, image: str, fph_src: bool = True,
                 src_extra: list[str] | None = None, **vm_args):
        super().__init__(qemu, image, "fph-faults-", **vm_args)
        try:
            self.src = self.vm("src", fph=fph_src, extra=src_extra)
            self.guest = self.src.connect_guest(wait_ready=True)
            self.guest.check("fph-workload fill 96")
            self.guest.check("fph-workload dirty 400")
        except BaseException:
            self.close()
            raise

    def start_slow(self, name: str, bandwidth: int = 0,
                   caps: tuple[str, ...] = ()) -> V.VM:
        """Start migrating to a new destination slowly enough to act
        while it runs; returns once the guest has sent hints."""
        dst, uri = self.destination(name)
        V.start_migration(self.src, dst, uri, bandwidth or SLOW, caps=caps)
        V.wait_for(lambda: self.src.stats()["requests"] > 0, 60,
                   "hint requests")
        return dst

    def finish(self) -> dict:
        """Let the running migration finish at full speed."""
        self.src.cmd("migrate-set-parameters", **{"max-bandwidth": FAST})
        return V.wait_migration(self.src, 300)


# What the socket shutdown of migrate_cancel makes a blocked send report.
CANCEL_RACE_ERRORS = ("Channel error", "Unable to write to socket: Broken pipe")


def cancel(vm: V.VM, stalled: bool = False) -> str:
    """migrate_cancel and wait for the migration to end; its end state.

    @stalled (the destination is SIGSTOPped): QEMU 10.0's migrate_cancel
    shuts the return path down before it sets the state to cancelling, and
    on a socket that also ends the stream: the migration thread, blocked
    in a write, can wake, see the error and fail the migration first
    ("Channel error: Input/output error", or "Unable to write to socket:
    Broken pipe" when the write itself returns the shutdown's EPIPE).
    Either way it is over, which is what cancel is for; anything else is a
    hang or another failure."""
    vm.cmd("migrate_cancel")
    ended = ("cancelled", "failed") if stalled else ("cancelled",)
    V.wait_for(lambda: vm.cmd("query-migrate")["status"] in ended, 60,
               "the migration to end after migrate_cancel")
    info = vm.cmd("query-migrate")
    if info["status"] == "failed":
        desc = info.get("error-desc", "")
        assert any(m in desc for m in CANCEL_RACE_ERRORS), info
        return f"failed ({info['error-desc']}: QEMU's cancel race)"
    return "cancelled"


def stall(s: Setup, dst: V.VM, uri: str) -> dict:
    """Start migrating to @dst and SIGSTOP it at once: the migration thread
    blocks in a socket write with the bitmap lock held while the guest's
    first hints arrive.  Returns the source's stats 2 s later."""
    V.start_migration(s.src, dst, uri, FAST)
    os.kill(dst.get_pid(), signal.SIGSTOP)
    V.wait_for(lambda: s.src.stats()["requests"] > 0, 60, "hint requests")
    time.sleep(2)
    st = s.src.stats()
    print(f"  destination stopped; {st['requests']} requests, "
          f"{st['pages-armed']} pages armed (0: the first one waits)")
    return st


def unstall(s: Setup, dst: V.VM) -> None:
    """Cancel the stalled migration, then let @dst go."""
    print(f"  migrate_cancel: {cancel(s.src, stalled=True)}")
    os.kill(dst.get_pid(), signal.SIGCONT)
    dst.kill()


def assert_responsive(vm: V.VM, commands: tuple[str, ...]) -> None:
    """Each QMP command answers in < 100 ms."""
    worst = 0.0
    for name in commands:
        _, took = vm.timed_cmd(name, 10)
        worst = max(worst, took)
    print(f"  QMP while stalled: slowest command {worst * 1000:.1f} ms")
    assert worst < 0.1, f"QMP took {worst:.3f} s"


def assert_idle(vm: V.VM) -> dict:
    """No epoch left open, counters sane, QEMU answering."""
    st = vm.stats()
    assert st["epoch"] == 0, st
    assert st["pages-skipped"] <= st["pages-armed"], st
    assert not N.unexpected_rejects(st), st
    return st


def verify(guest: guestctl.Guest) -> str:
    out = guest.check("fph-workload verify", timeout=120)
    kv = guestctl.parse_kv(out, "verify")
    assert kv.get("bad") == "0", out
    return out.strip()


def test_cancel_then_migrate(qemu: str, image: str) -> None:
    """migrate_cancel while hints flow, then migrate again: data intact."""
    with Setup(qemu, image) as s:
        # Slow enough that the hints cannot finish it before the cancel.
        s.start_slow("dst1", CRAWL)
        how = cancel(s.src)
        st = assert_idle(s.src)
        print(f"  {how} after {st['requests']} requests, "
              f"{st['pages-skipped']} pages skipped; epoch closed")
        print("  source: " + verify(s.guest))
        dst2, uri2 = s.destination("dst2")
        info = V.migrate(s.src, dst2, uri2, FAST)
        print(f"  second migration: {info['ram']['transferred'] >> 20} MiB")
        assert_idle(s.src)
        print("  destination: " + verify(dst2.connect_guest(False)))


# The guest's hung-task watchdog at its shortest useful setting: a task in
# uninterruptible sleep for 2 s is reported within 4 s.
HUNG_TASK_SECS = 2
# The driver waits this long for an answer, then ends its pass and leaves
# the request with the device (guest/virtio_fph_main.c FPH_ANSWER_WAIT).
ANSWER_WAIT_SECS = 5


def test_stalled_destination(qemu: str, image: str) -> None:
    """Destination stopped with a hint in flight: the guest's worker waits
    without tripping the hung-task watchdog and gives up after its bound;
    device reset, stop, cont and cancel stay responsive; a second
    migration is intact."""
    with Setup(qemu, image) as s:
        s.guest.check("echo %d > /proc/sys/kernel/hung_task_timeout_secs"
                      % HUNG_TASK_SECS)
        dst, uri = s.destination("stalled")
        stall(s, dst, uri)
        # stall() waited 2 s after the first request; wait past the
        # driver's bound and two watchdog periods.
        time.sleep(ANSWER_WAIT_SECS + 2 * HUNG_TASK_SECS - 2 + 1)
        log = s.guest.check("dmesg")
        hung = [ln for ln in log.splitlines() if "blocked for more than" in ln]
        assert not hung, "hung-task warning in the guest: " + hung[0]
        late = s.guest.check("cat /sys/kernel/debug/virtio_fph/late_answers")
        assert int(late) >= 1, f"late_answers {late.strip()}"
        assert "pass ended; hinting goes on once the host answers" in log
        print(f"  stalled {ANSWER_WAIT_SECS + 2 * HUNG_TASK_SECS + 1} s: no "
              f"hung-task warning ({HUNG_TASK_SECS} s watchdog), the pass "
              f"ended after {ANSWER_WAIT_SECS} s ({late.strip()} late)")
        # The guest resets the device (driver unbind) and binds again.
        t0 = time.monotonic()
        s.guest.check("rmmod virtio_fph && insmod /lib/modules/fph/virtio_fph.ko",
                      timeout=30)
        print(f"  guest device reset and rebind: {time.monotonic() - t0:.2f} s")
        assert_responsive(s.src, ("query-status", "stop", "query-status",
                                  "cont", "query-fph-stats", "query-migrate"))
        unstall(s, dst)
        assert_idle(s.src)
        dst2, uri2 = s.destination("after-stall")
        info = V.migrate(s.src, dst2, uri2, FAST)
        print(f"  second migration: {info['ram']['transferred'] >> 20} MiB, "
              f"{s.src.stats()['pages-skipped']} pages skipped in all")
        print("  destination: " + verify(dst2.connect_guest(False)))


# The device behind a PCIe root port, where q35 can hot-unplug it (ACPI
# hotplug, as libvirt lays out q35 domains); not on pcie.0, which cannot.
ROOT_PORT = ["-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1"]
EJECTABLE = ["-object", "free-page-hint,id=fph0,plug=off", *ROOT_PORT,
             "-device", "virtio-fph-pci,bus=rp1"]
# The guest powers off the slot at 0000:01:00 (acpiphp: _EJ0, QEMU
# unplugs the device at once, also during a migration).
EJECT = ("slot=$(grep -l '^0000:01:00$' /sys/bus/pci/slots/*/address) && "
         "test -n \"$slot\" && echo 0 > \"${slot%/address}/power\"")


def test_eject_while_stalled(qemu: str, image: str) -> None:
    """The guest ejects the device while a hint waits behind a stalled
    destination: the unplug completes at once and QMP stays responsive;
    the guest migrates on without the device, data intact."""
    with Setup(qemu, image, fph_src=False, src_extra=EJECTABLE) as s:
        dst, uri = s.destination("stalled", fph=False, extra=ROOT_PORT)
        st = stall(s, dst, uri)
        # What patch 10 (ram_filter_cancel) is for: the eject finds a request in the hand-off.
        assert st["requests"] > 0 and st["pages-armed"] == 0, st
        t0 = time.monotonic()
        s.guest.check(EJECT, timeout=30)
        V.wait_for(lambda: not s.src.timed_cmd("query-fph-stats", 1)[0]
                   ["device-present"], 10, "the device to go")
        gone = time.monotonic() - t0
        print(f"  guest ejected the device: gone after {gone:.2f} s")
        assert gone < 2, f"unplug took {gone:.2f} s"
        assert_responsive(s.src, ("query-status", "query-fph-stats",
                                  "query-migrate"))
        unstall(s, dst)
        s.guest.check("fph-workload dirty 100")
        dst2, uri2 = s.destination("after-eject", fph=False, extra=ROOT_PORT)
        info = V.migrate(s.src, dst2, uri2, FAST)
        print(f"  migration without the device: "
              f"{info['ram']['transferred'] >> 20} MiB")
        print("  destination: " + verify(dst2.connect_guest(False)))


def test_destination_without_object(qemu: str, image: str) -> None:
    """Destination lacks -object free-page-hint: clear error, source fine."""
    with Setup(qemu, image) as s:
        dst, uri = s.destination("plain", fph=False)
        try:
            V.migrate(s.src, dst, uri, FAST, timeout=60)
        except V.MigrationError as e:
            print(f"  source: {e}")
        else:
            raise AssertionError("migration to a destination without the "
                                 "device succeeded")
        dst.wait(30)
        log = open(dst.log_path, errors="replace").read()
        line = next(ln for ln in log.splitlines() if "virtio-fph" in ln)
        print(f"  destination: {line.strip()}")
        assert s.src.cmd("query-status")["status"] == "running"
        assert_idle(s.src)
        print("  source: " + verify(s.guest))


def test_ping_pong(qemu: str, image: str) -> None:
    """A -> B -> A' with fph both ways: pattern intact at every stop."""
    with Setup(qemu, image) as s:
        here, guest = s.src, s.guest
        for hop in ("B", "A2"):
            there, uri = s.destination(hop)
            info = V.migrate(here, there, uri, FAST)
            st = here.stats()
            assert st["pages-skipped"] > 0, st
            assert_idle(here)
            guest = there.connect_guest(False)
            print(f"  -> {hop}: {info['ram']['transferred'] >> 20} MiB, "
                  f"skipped {st['pages-skipped']} pages; " + verify(guest))
            guest.check("fph-workload dirty 200")
            here = there


def test_driver_reload(qemu: str, image: str) -> None:
    """Guest driver unloaded and reloaded while the migration hints."""
    with Setup(qemu, image) as s:
        dst = s.start_slow("dst")
        s.guest.check("rmmod virtio_fph && insmod /lib/modules/fph/"
                      "virtio_fph.ko && fph-workload dirty 100", timeout=120)
        s.finish()
        st = assert_idle(s.src)
        print(f"  completed; {st['requests']} requests, "
              f"{st['pages-skipped']} pages skipped")
        guest = dst.connect_guest(False)
        print("  destination: " + verify(guest))
        # The reloaded driver is bound and answers on the destination too.
        print("  " + guest.check("cat /sys/kernel/debug/virtio_fph/"
                                 "disabled_reason").strip().splitlines()[-1])


def test_guest_reboot(qemu: str, image: str) -> None:
    """Guest reboots while the migration hints: device reset mid-request,
    driver probes again, migration completes with the new data intact."""
    with Setup(qemu, image) as s:
        # Slow enough that the reboot and the new fill happen on the source.
        dst = s.start_slow("dst", CRAWL)
        s.guest.send_line("reboot -f")
        s.guest.wait_ready(120)
        s.guest.check("fph-workload fill 64")
        s.finish()
        st = assert_idle(s.src)
        print(f"  completed after reboot; {st['requests']} requests, "
              f"{st['pages-skipped']} pages skipped")
        print("  destination: " + verify(dst.connect_guest(False)))


def test_postcopy_after_hinting(qemu: str, image: str) -> None:
    """Switch to postcopy after hints were applied: no epoch opens in
    postcopy, and the destination has every page the guest uses."""
    with Setup(qemu, image) as s:
        dst = s.start_slow("dst", CRAWL, caps=("postcopy-ram",))
        V.wait_for(lambda: s.src.stats()["pages-skipped"] > 0, 60, "skips")
        s.src.cmd("migrate-set-parameters", **{"max-bandwidth": FAST})
        s.src.cmd("migrate-start-postcopy")
        V.wait_migration(s.src, 300)
        st = assert_idle(s.src)
        print(f"  postcopy completed; {st['pages-skipped']} pages skipped "
              f"before the switch, {st['epochs-seen']} epochs")
        print("  destination: " + verify(dst.connect_guest(False)))


def test_postcopy_free_first(qemu: str, image: str) -> None:
    """Postcopy while the guest reuses memory it had freed (issue #34's
    shape, tests/e2e/postcopy.py): the pages fph skipped reach the
    destination as zero pages right after the switch, so the guest's
    writes to them fault on nothing.  Default QEMU, fph and fph with
    postcopy-preempt in one run; fph's vCPU blocktime at most 0.3x default
    QEMU's and its post-switch workload done at least 3x sooner; guest data
    intact on the destination.  Postcopy finishes at full speed once the
    workload is done (its duration is make bench-postcopy's)."""
    runs = {c.name: postcopy.run(qemu, image, c, finish_bw=FAST)
            for c in postcopy.CONTENDERS}
    for r in runs.values():
        print("  " + postcopy.describe(r))
    base = runs["default"]
    for name in ("fph", "fph-preempt"):
        r = runs[name]
        assert r["skipped"] > 0, f"{name}: fph skipped nothing before the switch"
        print(f"  {name}: blocktime {r['blocked_ms'] / max(base['blocked_ms'], 1):.2f}x "
              f"default QEMU's (limit 0.3), workload "
              f"{base['after_s'] / r['after_s']:.1f}x sooner (limit 3)")
        assert r["blocked_ms"] <= 0.3 * base["blocked_ms"], (r, base)
        assert 3 * r["after_s"] <= base["after_s"], (r, base)


# Room for one 512 MiB DIMM, and a guest that onlines hot-added memory as
# ZONE_MOVABLE: it can empty that zone again, and offlining all of it frees
# the zone's per-CPU lists (zone_pcp_reset()).  Two vCPUs: the offline
# and the driver's walks run at the same time, not by turns.
MEMHP = {"mem": "1G,slots=2,maxmem=3G", "smp": 2,
         "append": guestctl.DEFAULT_APPEND + " memhp_default_state=online_movable"}
DIMM = ["-object", "memory-backend-ram,id=mem1,size=512M",
        "-device", "pc-dimm,id=dimm1,memdev=mem1"]
MEMORY = "/sys/devices/system/memory"
# The online memory blocks of ZONE_MOVABLE (an offline block's valid_zones
# lists the zones it could go to).
MOVABLE = f"grep -l '^Movable$' {MEMORY}/memory*/valid_zones"
DBG = "/sys/kernel/debug/virtio_fph"
# The guest offlines ZONE_MOVABLE block by block, sampling meanwhile (every
# 20 ms plus what a sample takes) the driver's passes (ended or aborted),
# the per-CPU pages its walks found, and the block being offlined (its
# state is going-offline from before MEM_GOING_OFFLINE to after
# MEM_OFFLINE); the samples are the output.
OFFLINE = (f"( while ! test -e /run/offlined; do echo sample $(cat {DBG}/passes "
           f"{DBG}/aborted_passes {DBG}/pcp_pages_seen) $(grep -l going-offline "
           f"{MEMORY}/memory*/state); usleep 20000; done ) & ok=1; "
           f"for z in $({MOVABLE}); do echo offline > ${{z%/valid_zones}}/state "
           "|| { ok=0; break; }; done; touch /run/offlined; wait; test $ok = 1")
# What a kernel bug, or the driver giving up a walk, prints.
DMESG_BAD = ("BUG|WARNING|Oops|general protection|Call Trace|pass failed|"
             "per-CPU lists not hinted")


def driver_stats(guest: guestctl.Guest) -> dict[str, int]:
    """The guest driver's pass counters (debugfs)."""
    out = guest.check(f"cd {DBG} && grep . passes aborted_passes "
                      "pcp_pages_seen")
    return {k: int(v) for k, _, v in
            (ln.partition(":") for ln in out.split() if ":" in ln)}


def movable_present(guest: guestctl.Guest) -> int:
    """ZONE_MOVABLE's present pages (0: unpopulated)."""
    out = guest.check("awk '/zone +Movable/ {z=1} z && $1 == \"present\" "
                      "{print $2; exit}' /proc/zoneinfo")
    return int(out.split()[-1])


def paused_walks(samples: str) -> int:
    """Of OFFLINE's samples: the most passes that ended in a row while
    blocks went offline and the walks found no per-CPU page.  Of two
    passes ending in such a stretch, the second ran wholly within it, its
    per-CPU walk (a pass's first) included."""
    best, start = 0, None
    for ln in samples.splitlines():
        row = ln.split()[1:] if ln.startswith("sample ") else []
        if len(row) != 4:
            start = None
            continue
        if start is None or start[2] != row[2]:
            start = row
        best = max(best, int(row[0]) + int(row[1]) - int(start[0])
                   - int(start[1]))
    return best


def test_memory_hot_remove(qemu: str, image: str) -> None:
    """Memory hot remove while the driver hints: per-CPU walks pause while
    ZONE_MOVABLE goes offline (the last block frees its per-CPU lists) and
    resume after, the DIMM unplugs, data intact after two migrations, no
    kernel complaint.  The guest offlines the memory during the first
    migration, as the walks run epoch after epoch; device_del follows
    between the two (QEMU refuses it during a migration)."""
    with Setup(qemu, image, **MEMHP) as s:
        s.src.cmd("object-add", **{"qom-type": "memory-backend-ram",
                                   "id": "mem1", "size": 512 << 20})
        s.src.cmd("device_add", driver="pc-dimm", id="dimm1", memdev="mem1")
        V.wait_for(lambda: s.guest.check(MOVABLE + " | wc -l").split()[-1]
                   == "4", 60, "the DIMM's 4 memory blocks online movable")
        # Movable allocations prefer ZONE_MOVABLE: the pattern is written
        # anew there, and the offline has to migrate it, which keeps each
        # block going offline long enough for a few passes.
        s.guest.check("fph-workload fill 448", timeout=120)
        print(f"  DIMM online: ZONE_MOVABLE {movable_present(s.guest)} pages")
        # Alloc/free churn keeps per-CPU lists filled and, writing faster
        # than the migration sends, keeps it iterating (it cannot
        # converge): a sync, a new epoch and a new pass every iteration.
        s.guest.check("fph-workload churn 8 0")
        dst1, uri1 = s.destination("dst1", extra=DIMM)
        V.start_migration(s.src, dst1, uri1, SLOW, downtime_ms=1)
        V.wait_for(lambda: s.src.stats()["epochs-seen"] >= 3, 60,
                   "the migration's third epoch")
        before = driver_stats(s.guest)
        assert before["pcp_pages_seen"] > 0, before
        t0 = time.monotonic()
        s.guest.start_background("offline", OFFLINE)
        try:
            samples = s.guest.wait_background("offline", 60)
        except guestctl.GuestError as e:
            raise AssertionError("the guest did not offline ZONE_MOVABLE "
                                 f"within 60 s: {e.output}") from e
        took = time.monotonic() - t0
        passes = paused_walks(samples)
        after = driver_stats(s.guest)
        status = s.src.cmd("query-migrate")["status"]
        ended = (after["passes"] + after["aborted_passes"]
                 - before["passes"] - before["aborted_passes"])
        print(f"  ZONE_MOVABLE offline in {took:.1f} s, migration {status}; "
              f"{ended} passes ended meanwhile, {passes} in a row finding "
              "no per-CPU page while a block went offline")
        assert status == "active", "the migration ended before the offline"
        assert movable_present(s.guest) == 0, "ZONE_MOVABLE still populated"
        # Two: one pass ran wholly while blocks went offline (and found
        # nothing); an unpaused walk finds the pages churn frees.
        assert passes >= 2, ("per-CPU walks found pages while blocks went "
                             f"offline: {passes} passes in a row found none, "
                             f"of {ended}")
        # The walks resume once the offline is over.
        V.wait_for(lambda: driver_stats(s.guest)["pcp_pages_seen"] >
                   after["pcp_pages_seen"], 30, "a per-CPU walk after the offline")
        print("  " + s.guest.check("fph-workload stop churn && "
                                   "fph-workload churn-status").splitlines()[-1])
        s.src.cmd("migrate-set-parameters", downtime_limit=300)
        s.finish()
        assert_idle(s.src)
        g1 = dst1.connect_guest(False)
        print("  dst1: " + verify(g1))
        # The hot remove proper, now that no migration runs (QEMU refuses
        # device_del during one): ACPI eject, the memory offline already.
        blocks = f"ls -d {MEMORY}/memory[0-9]* | wc -l"
        n = int(g1.check(blocks).split()[-1])
        dst1.cmd("device_del", id="dimm1")
        V.wait_for(lambda: not dst1.cmd("query-memory-devices"), 60,
                   "the DIMM to unplug")
        dst1.cmd("object-del", id="mem1")
        assert int(g1.check(blocks).split()[-1]) == n - 4, "blocks not removed"
        # To a destination without the DIMM: hinting works on, per-CPU
        # walks included.
        seen = driver_stats(g1)["pcp_pages_seen"]
        dst2, uri2 = s.destination("dst2")
        info = V.migrate(dst1, dst2, uri2, FAST)
        st = assert_idle(dst1)
        g2 = dst2.connect_guest(False)
        again = driver_stats(g2)["pcp_pages_seen"] - seen
        print(f"  DIMM unplugged; to dst2 without it: "
              f"{info['ram']['transferred'] >> 20} MiB, "
              f"{st['pages-skipped']} pages skipped, {again} per-CPU pages found")
        assert again > 0, "no per-CPU walk found anything after the hot remove"
        print("  dst2: " + verify(g2))
        bad = g2.run(f"dmesg | grep -E '{DMESG_BAD}'")[1].strip()
        assert not bad, "the guest kernel complained:\n" + bad
