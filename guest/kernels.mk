# SPDX-License-Identifier: GPL-2.0-only
#
# The kernels whose source was read against the driver: the allocator
# internals it depends on (the per-CPU list layout of mm/page_alloc.c, the
# pcp->lock regime, buddy_order()) compared, per series, from its first
# sublevel on (what changed per series: fph_compat.h, docs/design.rst
# "Kernels").  6.1 before 6.1.57 takes pcp->lock from softirq without a
# trylock, where the driver's hold with IRQs on could deadlock, and before
# 6.1.97 has one per-CPU list of THP blocks, not two.
#
# SERIES:FIRST-SUBLEVEL[:FIRST-DEBIAN-ABI]: Debian names its 6.1 kernels
# 6.1.0-ABI-FLAVOUR, without the sublevel; ABI is the first one built from
# that sublevel on (6.1.98-1: ABI 23).  Kbuild refuses any other kernel;
# kernels-regex.sh turns the list into dkms.conf's BUILD_EXCLUSIVE_KERNEL
# and the kernel hook (dkms-kernel-hook) skips the others with a message.
fph-kernels-read := 6.1:97:23 6.12:0 7.2:0 7.3:0
