# SPDX-License-Identifier: GPL-2.0-or-later
"""fph-bench: what is compared (contenders) and on what (scenarios)."""

from __future__ import annotations

import dataclasses


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


CONTENDERS = (
    Contender("default", "default QEMU", (), "virtio_fph,virtio_balloon"),
    Contender("balloon-hint", "virtio-balloon free-page-hint",
              ("-object", "iothread,id=io0", "-device",
               "virtio-balloon-pci,free-page-hint=on,iothread=io0"),
              "virtio_fph"),
    Contender("balloon-report", "virtio-balloon free-page-reporting",
              ("-device", "virtio-balloon-pci,free-page-reporting=on"),
              "virtio_fph"),
    Contender("fph", "fph", ("-object", "free-page-hint,id=fph0"),
              "virtio_balloon", fph=True),
)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One guest memory state at migration time."""
    name: str
    label: str


SCENARIOS = (
    Scenario("idle", "idle, fresh boot"),
    Scenario("freed-dirty", "75% of RAM written, then freed"),
    Scenario("fragmented", "60% of RAM written, every other page freed"),
    Scenario("churn", "freed-dirty + 64 MiB alloc/write/free churn at 64 MiB/s "
             "during migration"),
)

CONTENDER_NAMES = tuple(c.name for c in CONTENDERS)
SCENARIO_NAMES = tuple(s.name for s in SCENARIOS)


def contender(name: str) -> Contender:
    return next(c for c in CONTENDERS if c.name == name)


def prepare_cmds(scenario: str, mem_mib: int) -> list[str]:
    """Guest commands that prepare a scenario (run before migrating).  Sizes
    scale with RAM so that the scenarios mean the same at every guest size."""
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


def after_cmds(scenario: str) -> list[str]:
    """Guest commands run on the destination after the migration (output
    kept)."""
    if scenario == "churn":
        return ["fph-workload churn-status", "fph-workload stop churn"]
    return []
