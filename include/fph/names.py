# SPDX-License-Identifier: GPL-2.0-or-later
"""The names fph counts under, written once.

REJECT_REASONS: why the device dropped a range (or a whole request).
RECLAIM_OUTCOMES: what the last page-cache reclaim request came to; the
ones with guest=True are the guest's VIRTIO_FPH_RECLAIM_S_* (in that
order: include/fph/virtio_fph.h has the numbers) and the names its
driver's reclaim_result takes.  CHECKS: the order in which the device
checks a request, and the reason each failing check counts under.

Each name is written here in upper case (STALE_EPOCH) and becomes
FPH_REJECT_STALE_EPOCH in C, "stale_epoch" as a stats and trace key
(fph_reject_name()) and "stale-epoch" in QMP and sysfs.  Never rename one:
all three are ABI.  The order is ABI for the stats too: append.

scripts/gen-names.py makes from this, at build time: the C header
fph_names.h (the core's enums, the module's QAPI glue, the qtests' libqos
driver, the guest driver's reclaim_result names), the QAPI definitions
FphRejectInfo and FphReclaimOutcome in qapi-schema/fph.json, and the
tables of docs/usage.rst and docs/virtio-fph-spec.rst between their
"generated" markers.  "doc" is the QAPI member documentation (an
"@Name" there is a QAPI reference), "since" the version that added it.
"""

from __future__ import annotations

from typing import NamedTuple


class Name(NamedTuple):
    upper: str
    doc: str
    since: str = ""
    guest: bool = False

    @property
    def lower(self) -> str:
        return self.upper.lower()

    @property
    def key(self) -> str:
        return self.lower.replace("_", "-")


# The QAPI struct of the reasons' counters and the enum of the outcomes.
REJECT_INFO_DOC = ("Guest hints dropped by validation, by reason.  Reasons "
                   "that reject a whole request count once per request, the "
                   "others once per range.")
REJECT_INFO_SINCE = "0.1"
RECLAIM_OUTCOME_DOC = "What the last page-cache reclaim request came to."
RECLAIM_OUTCOME_SINCE = "0.2"

REJECT_REASONS = [
    Name("STALE_EPOCH", "request for an epoch that is over (or none open)"),
    Name("OUT_OF_RAM", "range not entirely inside hintable guest RAM (MMIO, "
         "ROM, other RAM blocks, beyond the end of RAM)"),
    Name("MISALIGNED", "address or length not a multiple of 4 KiB"),
    Name("MALFORMED", "bad request header, type, length, empty or wrapping "
         "range"),
    Name("OVER_LIMIT", "request with more ranges than the device accepts"),
    Name("NOT_ARMED", "confirmed range (or part of one) that was not armed "
         "in the current epoch"),
    Name("OVER_BUDGET", "range (or request) beyond what the device does per "
         "request and per epoch, or beyond the armed-set size it keeps "
         "(bounded by max-ranges, not by guest RAM); its pages are sent as "
         "without hints", since="0.2"),
]

RECLAIM_OUTCOMES = [
    Name("NONE", "no reclaim was asked for (reclaim is 0)"),
    Name("PENDING", "asked; the guest has not reported yet"),
    Name("OK", "the guest reclaimed page cache "
         "(@FphReclaimInfo.last-bytes)", guest=True),
    Name("UNSUPPORTED", "the guest kernel has no cgroup v2 memory.reclaim",
         guest=True),
    Name("WOULD_SWAP", "the guest could not keep the reclaim off anonymous "
         "memory (swap on, kernel before 6.10): nothing reclaimed",
         guest=True),
    Name("FAILED", "the guest's reclaim failed", guest=True),
    Name("NO_HELPER", "the guest has no reclaim helper installed",
         guest=True),
    Name("TIMEOUT", "no report within reclaim-timeout; the migration went on"),
    Name("CANCELLED", "the migration ended before the report"),
    Name("NO_DRIVER", "the guest driver did not negotiate reclaim (an older "
         "driver, or none bound)"),
]


class Check(NamedTuple):
    condition: str      # reStructuredText
    scope: str          # request, range or (part)
    status: str         # the response status, or (none)
    reason: str         # a REJECT_REASONS upper name


# The device checks a request in this order; the first failing check
# decides (docs/virtio-fph-spec.rst, "Device Requirements: Validation").
CHECKS = [
    Check("device-writable part shorter than 16 bytes", "request", "(none)",
          "MALFORMED"),
    Check("driver-readable part shorter than 16 bytes", "request",
          "INVALID", "MALFORMED"),
    Check("``type`` neither CANDIDATES nor CONFIRM", "request", "INVALID",
          "MALFORMED"),
    Check("``reserved`` or ``reserved2`` not 0", "request", "INVALID",
          "MALFORMED"),
    Check("``nr_ranges`` is 0", "request", "INVALID", "MALFORMED"),
    Check("``nr_ranges`` > ``max_ranges``", "request", "INVALID",
          "OVER_LIMIT"),
    Check("readable part not 16 + 16 x ``nr_ranges`` bytes", "request",
          "INVALID", "MALFORMED"),
    Check("``epoch`` not the open epoch (or none open)", "request", "STALE",
          "STALE_EPOCH"),
    Check("``len`` 0, or ``addr + len`` >= 2^64", "range", "OK",
          "MALFORMED"),
    Check("``addr`` or ``len`` not a multiple of 4096", "range", "OK",
          "MISALIGNED"),
    Check("range not wholly inside hintable RAM", "range", "OK",
          "OUT_OF_RAM"),
    Check("CONFIRM range with no page armed", "range", "OK", "NOT_ARMED"),
    Check("CONFIRM range partly armed", "(part)", "OK", "NOT_ARMED"),
    Check("epoch closed while the request was applied", "request", "STALE",
          "STALE_EPOCH"),
    Check("the epoch's work or armed-set budget is spent", "request",
          "STALE", "OVER_BUDGET"),
    Check("range beyond this request's share of the budget", "range", "OK",
          "OVER_BUDGET"),
    Check("device out of memory", "request", "INVALID", "OVER_LIMIT"),
]
