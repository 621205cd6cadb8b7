# SPDX-License-Identifier: GPL-2.0-or-later
"""fph-bench: what is compared (contenders) and on what (scenarios)."""

from __future__ import annotations

import dataclasses

import guestctl
import pgbench


@dataclasses.dataclass(frozen=True)
class Contender:
    """One way of running the guest.  All contenders use the same emulator
    binary and the same guest image; they differ in the device given to
    QEMU and in which guest modules /init loads (fph.skipmods, see
    guest-image/init)."""
    name: str
    label: str
    qemu_args: tuple[str, ...]
    skipmods: str
    fph: bool = False
    # Only in the scenarios that name it (Scenario.contenders).
    opt_in: bool = False
    # Migration capabilities turned on on both sides, and parameters set
    # on both sides (migrate-set-parameters; QEMU 10.x's names).
    caps: tuple[str, ...] = ()
    params: tuple[tuple[str, object], ...] = ()
    # In the contender list when --contenders is not given.
    in_default: bool = True

    @property
    def multifd(self) -> bool:
        return "multifd" in self.caps


MULTIFD_CAPS = ("multifd",)
MULTIFD_PARAMS = (("multifd-channels", 2), ("zero-page-detection", "multifd"))

CONTENDERS = (
    Contender("default", "default QEMU", (), "virtio_fph,virtio_balloon"),
    # What a user who wants a faster migration turns on today (issue #33):
    # multifd, 2 channels, zero pages detected in the send threads (the
    # default of zero-page-detection since QEMU 9.0; set explicitly).
    Contender("default-multifd", "default QEMU, multifd x2",
              (), "virtio_fph,virtio_balloon", caps=MULTIFD_CAPS,
              params=MULTIFD_PARAMS, in_default=False),
    Contender("balloon-hint", "virtio-balloon free-page-hint",
              ("-object", "iothread,id=io0", "-device",
               "virtio-balloon-pci,free-page-hint=on,iothread=io0"),
              "virtio_fph"),
    Contender("balloon-report", "virtio-balloon free-page-reporting",
              ("-device", "virtio-balloon-pci,free-page-reporting=on"),
              "virtio_fph"),
    Contender("fph", "fph", ("-object", "free-page-hint,id=fph0"),
              "virtio_balloon", fph=True),
    Contender("fph-multifd", "fph, multifd x2", ("-object", "free-page-hint,id=fph0"),
              "virtio_balloon", fph=True, caps=MULTIFD_CAPS, params=MULTIFD_PARAMS,
              in_default=False),
    Contender("fph-reclaim", "fph, reclaim=1G",
              ("-object", "free-page-hint,id=fph0,reclaim=1G,reclaim-timeout=30000"),
              "virtio_balloon", fph=True, opt_in=True),
)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One guest memory state at migration time, on one guest: the busybox
    initramfs (scripts/build-guest-image.sh) or the Debian 13 disk image
    (scripts/build-debian-image.sh, --guest debian13).  @layout: a RAM
    layout (layout_args(); "" plain -m); @contenders: only these (default:
    all); @target: "migrate" to a destination QEMU, or "snapshot": a live
    snapshot to a file (migrate file: with mapped-ram, the guest running;
    SNAPSHOT_CAPS); @base: the scenario whose guest state it prepares
    (default: its own)."""
    name: str
    label: str
    guest: str = "busybox"
    layout: str = ""
    contenders: tuple[str, ...] = ()
    target: str = "migrate"
    base: str = ""
    # In the scenario list when --scenarios is not given.
    in_default: bool = True


GUESTS = ("busybox", "debian13")
# A snapshot's capabilities, on top of the contender's.
SNAPSHOT_CAPS = ("mapped-ram",)
# 1 GiB of file data, not zero pages: a 16 MiB random chunk written 64 times.
PAGE_CACHE_FILE = "/var/tmp/fph-cold"
# pgbench runs this long from the end of its setup: through the migration.
PGBENCH_S = 90
# debian-cache-pgbench: pgbench runs this long from its start (10 s before
# the migration, which takes ~5-15 s), covering POST_S after it; its
# progress is reported every second.
CACHE_PGBENCH_S, POST_S = 75, 30


def layout_args(layout: str, mem_mib: int) -> tuple[str, ...]:
    """QEMU arguments for a RAM layout libvirt generates: "numa", two NUMA
    nodes of half the RAM each on memory backends (a domain with <numa>
    cells); "memfd", all RAM on one shared memfd backend (<memoryBacking>
    <source type='memfd'/><access mode='shared'/>, e.g. for virtiofs)."""
    if layout == "numa":
        half = mem_mib // 2
        return ("-object", f"memory-backend-ram,id=m0,size={half}M",
                "-object", f"memory-backend-ram,id=m1,size={mem_mib - half}M",
                "-numa", "node,memdev=m0", "-numa", "node,memdev=m1")
    if layout == "memfd":
        return ("-object", f"memory-backend-memfd,id=ram0,size={mem_mib}M,share=on",
                "-machine", "memory-backend=ram0")
    raise ValueError(f"unknown RAM layout {layout}")


SCENARIOS = (
    Scenario("idle", "idle, fresh boot"),
    Scenario("freed-dirty", "75% of RAM written, then freed"),
    Scenario("fragmented", "60% of RAM written, every other page freed"),
    Scenario("churn", "freed-dirty + 64 MiB alloc/write/free churn at 64 MiB/s "
             "during migration"),
    Scenario("snapshot-idle", "idle, live snapshot to a file (mapped-ram)",
             contenders=("default", "fph"), target="snapshot", base="idle", in_default=False),
    Scenario("snapshot-freed-dirty", "freed-dirty, live snapshot to a file (mapped-ram)",
             contenders=("default", "fph"), target="snapshot", base="freed-dirty",
             in_default=False),
    Scenario("debian-idle", "Debian 13, systemd up, nothing else", "debian13"),
    Scenario("debian-freed", "Debian 13, a process wrote 60% of RAM and exited",
             "debian13"),
    Scenario("debian-page-cache", "Debian 13, 1 GiB of file data read (clean page cache)",
             "debian13", contenders=("default", "balloon-hint", "balloon-report", "fph",
                                     "fph-reclaim")),
    Scenario("debian-cache-pgbench", "Debian 13, 1 GiB of cold file data, then pgbench "
             f"(scale {pgbench.SCALE}, 2 clients) running through the migration",
             "debian13", contenders=("default", "fph", "fph-reclaim")),
    Scenario("debian-pgbench", f"Debian 13, pgbench (scale {pgbench.SCALE}, 2 clients) "
             "running through the migration", "debian13"),
    Scenario("debian-freed-numa", "debian-freed on 2 NUMA nodes (memory-backend-ram)",
             "debian13", layout="numa", contenders=("default", "fph")),
    Scenario("debian-freed-memfd", "debian-freed with RAM on a shared memfd "
             "(-machine memory-backend=)", "debian13", layout="memfd",
             contenders=("default", "fph")),
)

CONTENDER_NAMES = tuple(c.name for c in CONTENDERS)
SCENARIO_NAMES = tuple(s.name for s in SCENARIOS)


def default_contenders() -> list[str]:
    return [c.name for c in CONTENDERS if c.in_default]


def scenario_names(guest: str) -> list[str]:
    return [s.name for s in SCENARIOS if s.guest == guest]


def default_scenarios(guest: str) -> list[str]:
    return [s.name for s in SCENARIOS if s.guest == guest and s.in_default]


def contender(name: str) -> Contender:
    return next(c for c in CONTENDERS if c.name == name)


def scenario(name: str) -> Scenario:
    return next(s for s in SCENARIOS if s.name == name)


def base_scenario(name: str) -> str:
    """The scenario whose guest state @name prepares (its own by default)."""
    return scenario(name).base or name


def scenario_qemu_args(name: str, mem_mib: int) -> list[str]:
    layout = scenario(name).layout
    return list(layout_args(layout, mem_mib)) if layout else []


def prepare_cmds(name: str, mem_mib: int) -> list[str]:
    """Guest commands that prepare a scenario (run before migrating).  Sizes
    scale with RAM so that the scenarios mean the same at every guest size."""
    scenario = base_scenario(name)
    if scenario.startswith("debian-"):
        return _prepare_debian(scenario, mem_mib)
    dirty = f"fph-workload dirty {mem_mib * 3 // 4}"
    if scenario == "freed-dirty":
        return [dirty]
    if scenario == "fragmented":
        return [f"fph-workload fragment {mem_mib * 6 // 10}"]
    # Paced at 64 MiB/s, half of the 1 Gbit/s bandwidth, so that every
    # contender can converge: flat out (~270 MB/s under TCG) the writer
    # outruns 1 Gbit/s and whether a run converges is luck.
    if scenario == "churn":
        return [dirty, "fph-workload churn 64 --rate=64"]
    return []


def _prepare_debian(scenario: str, mem_mib: int) -> list[str]:
    # Every Debian scenario starts from a settled system.
    cmds = ["systemctl is-system-running --wait >/dev/null; true"]
    if scenario in ("debian-freed", "debian-freed-numa", "debian-freed-memfd"):
        cmds.append(f"fph-workload dirty {mem_mib * 6 // 10}")
    elif scenario == "debian-page-cache":
        cmds += [_write_cold_file(), _read_cold_file()]
    elif scenario == "debian-cache-pgbench":
        # The file is read once, before the database is used: colder.
        cmds += [_write_cold_file(), *pgbench.SETUP, _read_cold_file(),
                 guestctl.background("pgbench", pgbench.run_for(CACHE_PGBENCH_S, True)),
                 "sleep 10"]
    elif scenario == "debian-pgbench":
        cmds += [*pgbench.SETUP,
                 guestctl.background("pgbench", pgbench.run_for(PGBENCH_S))]
    return cmds


def _write_cold_file() -> str:
    return (f"dd if=/dev/urandom of={PAGE_CACHE_FILE}.chunk bs=1M count=16 status=none && "
            f"for i in $(seq 64); do cat {PAGE_CACHE_FILE}.chunk; done >{PAGE_CACHE_FILE} && "
            f"rm {PAGE_CACHE_FILE}.chunk && sync")


def _read_cold_file() -> str:
    return f"echo 3 >/proc/sys/vm/drop_caches && cat {PAGE_CACHE_FILE} >/dev/null"


# The destination's clock when it runs its first command (after_cmds), the
# start of the POST_S window: within ~1 s of the switchover.
GUEST_NOW = "date +%s.%N"
# What re-reading the cold file takes: the cost of having dropped it.
REREAD = f"dd if={PAGE_CACHE_FILE} of=/dev/null bs=1M 2>&1 | tail -1"


def after_cmds(scenario: str) -> list[str]:
    """Guest commands run on the destination after the migration (output
    kept)."""
    if scenario == "churn":
        return ["fph-workload churn-status", "fph-workload stop churn"]
    if scenario == "debian-pgbench":
        # Wait for the run to end; its summary (tps, failed transactions),
        # then TPC-B's invariants.
        return [guestctl.background_wait("pgbench"), pgbench.INVARIANTS]
    if scenario == "debian-cache-pgbench":
        return [GUEST_NOW, guestctl.background_wait("pgbench"), pgbench.INVARIANTS, REREAD]
    if scenario == "debian-page-cache":
        return [REREAD]
    return []
