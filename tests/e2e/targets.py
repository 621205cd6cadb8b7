# SPDX-License-Identifier: GPL-2.0-or-later
"""The figures the end-to-end tests and the bench share, written once:
the bandwidth they migrate at, and the bounds on what fph may send of a
guest that wrote memory and freed it (freed-dirty).

Imported by scenario.py, test_migration.py, test_faults.py,
test_reclaim.py, test_debian.py, bench/fph-bench.py and bench/report.py;
stdlib only (scripts/install.sh ships it with scenario.py)."""

# 10 Gbit/s in bytes/s (max-bandwidth): the migrations' usual limit, and
# the bench's default.  Time then reflects bytes, and TCG's send rate,
# not the limit, bounds a migration on this machine.
BANDWIDTH_10G = 1_250_000_000

# Two bounds on the same migration (freed-dirty: fph sends what the guest
# did not free), two criteria against two measures of "in use":
#
# The end-to-end tests' pass/fail bound (test_migration.py freed_dirty and
# numa_verify): bytes sent at most this times RAM - MemFree, the memory the
# guest does not report free, including what its kernel reserved at boot
# (MemTotal < RAM: the struct page array, the kernel image, firmware
# areas).  No free-page scheme can skip those pages: they are not in the
# buddy allocator.  This is the physical limit (docs/design.rst, "Limits"):
# fph measured below 1.0 times it (test_numa_verify's comment); the margin
# is the test's allowance, far below what sending the freed memory would
# cost.
MAX_SENT_PER_NOT_FREE = 1.3

# The project's target, checked and reported by the bench (bench/report.py,
# "Targets"; docs/benchmarks.md): bytes sent at most this times
# MemTotal - MemFree, what the guest itself counts as used.  It leaves the
# kernel's boot reservation out, so fph misses it on freed-dirty, where
# little is used and the reservation weighs most, and meets it on
# fragmented: a report's verdict, not a test that could pass.
TARGET_SENT_PER_USED = 1.15
