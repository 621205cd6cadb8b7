/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel internals that virtio_fph depends on, and how they differ between
 * the kernels it builds for (guest/kernels.mk: 6.1.97+, 6.12, 7.2, 7.3).
 *
 * What was read, per series (Debian's linux-source packages; details and
 * line references in docs/design.rst, "Kernels"):
 *  - 6.1 (6.1.192): the per-CPU lists' THP order is pageblock_order, and
 *    there are two THP lists only since 6.1.97 (NR_PCP_THP); every
 *    pcp->lock taken from IRQ or softirq context is a trylock only since
 *    6.1.57 (before, free_unref_page_list() takes it from softirq).
 *  - 6.12 (6.12.117): THP order HPAGE_PMD_ORDER; remote drains take
 *    pcp->lock with spin_lock() on SMP and RT, irqsave on UP (since
 *    6.12.69); at most pcp->batch << CONFIG_PCP_BATCH_SCALE_MAX per hold.
 *  - 7.2 (7.2.13), 7.3 (7.3.4): the list layout and its mapping unchanged;
 *    remote drains take a plain spin_lock() everywhere (on UP the lists are
 *    never used: every trylock fails); alloc_pages_nolock() and
 *    free_pages_nolock() take pcp->lock and zone->lock from any context,
 *    NMI included, but only with trylocks; pages parked on
 *    zone->trylock_free_pages are neither PageBuddy nor on a list (the
 *    walk steps over them); buddy_order() moved to mm/page_alloc.h, still
 *    page_private(); PREEMPT_RT (-rt-amd64) has no THP, so 12 lists.
 */
#ifndef FPH_COMPAT_H
#define FPH_COMPAT_H

#include <linux/build_bug.h>
#include <linux/huge_mm.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/pageblock-flags.h>
#include <linux/spinlock.h>

/*
 * Number of buddy orders, i.e. the size of zone->free_area[].  Up to 6.3
 * MAX_ORDER was that count; 6.4 made MAX_ORDER the largest order
 * (inclusive) and 6.8 renamed it MAX_PAGE_ORDER, adding NR_PAGE_ORDERS.
 * MAX_ORDER_NR_PAGES has always been the largest block, so derive the
 * count from it rather than from the kernel version.
 */
#ifdef NR_PAGE_ORDERS
#define FPH_NR_ORDERS		NR_PAGE_ORDERS
#else
#define FPH_NR_ORDERS		(ilog2(MAX_ORDER_NR_PAGES) + 1)
#endif

/*
 * Order of a free buddy block, stored in the head page's private field.
 * buddy_order() itself lives in mm/internal.h (mm/page_alloc.h in 7.3);
 * this matches it in every series read.  Only stable under zone->lock.
 */
static inline unsigned int fph_buddy_order(struct page *page)
{
	return page_private(page);
}

/*
 * Granularity, in pages, at which memmap validity and online state can
 * change: a subsection with SPARSEMEM, every page otherwise.
 */
#ifdef PAGES_PER_SUBSECTION
#define FPH_VALID_SPAN		PAGES_PER_SUBSECTION
#else
#define FPH_VALID_SPAN		1UL
#endif

/*
 * Per-CPU free lists (zone->per_cpu_pageset, struct per_cpu_pages).
 *
 * pcp->lists[pindex] holds free blocks of one order each, linked through
 * page->pcp_list; mm/page_alloc.c maps order and migratetype to pindex in
 * order_to_pindex() and back in pindex_to_order(), both static.  In 6.1
 * and 6.12 alike: pindex = MIGRATE_PCPTYPES * order + migratetype for the
 * orders up to PAGE_ALLOC_COSTLY_ORDER (NR_LOWORDER_PCP_LISTS lists), then,
 * with THP, NR_PCP_THP = 2 lists of THP-sized blocks (not movable, then
 * movable).  The THP order is pageblock_order in 6.1 and HPAGE_PMD_ORDER
 * from 6.12 on (7.x: IS_ENABLED() instead of #ifdef, same mapping);
 * fph_pcp_check_layout() requires the two to be equal on 6.1, so one
 * definition serves all.  The order decides how many pages a list entry
 * stands for, so getting it wrong would hint pages in use: every constant
 * the mapping rests on is checked at build time, and kernels other than
 * those read (Kbuild) do not build until the mapping has been compared
 * with theirs.
 */
#ifndef FPH_KERNEL_READ	/* set by Kbuild for the kernels read */
#error "fph_pcp_order() not checked against this kernel's pindex_to_order()"
#endif

/* Order of the blocks on pcp->lists[@pindex]: pindex_to_order(). */
static inline unsigned int fph_pcp_order(unsigned int pindex)
{
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	if (pindex >= NR_LOWORDER_PCP_LISTS)
		return HPAGE_PMD_ORDER;
#endif
	return pindex / MIGRATE_PCPTYPES;
}

/* The list for @migratetype and @order: order_to_pindex(). */
static inline unsigned int fph_pcp_pindex(unsigned int migratetype,
					  unsigned int order)
{
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	if (order > PAGE_ALLOC_COSTLY_ORDER)
		return NR_LOWORDER_PCP_LISTS + (migratetype == MIGRATE_MOVABLE);
#endif
	return MIGRATE_PCPTYPES * order + migratetype;
}

/* Fails the build if the kernel's lists are not laid out as above. */
static inline void fph_pcp_check_layout(void)
{
	BUILD_BUG_ON(MIGRATE_UNMOVABLE != 0 || MIGRATE_MOVABLE != 1 ||
		     MIGRATE_RECLAIMABLE != 2 || MIGRATE_PCPTYPES != 3);
	BUILD_BUG_ON(PAGE_ALLOC_COSTLY_ORDER != 3 ||
		     PAGE_ALLOC_COSTLY_ORDER >= FPH_NR_ORDERS);
	BUILD_BUG_ON(NR_LOWORDER_PCP_LISTS !=
		     MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1));
	BUILD_BUG_ON(sizeof_field(struct per_cpu_pages, lists) !=
		     NR_PCP_LISTS * sizeof(struct list_head));
	BUILD_BUG_ON(fph_pcp_pindex(MIGRATE_UNMOVABLE, 0) != 0);
	BUILD_BUG_ON(fph_pcp_pindex(MIGRATE_RECLAIMABLE,
				    PAGE_ALLOC_COSTLY_ORDER) !=
		     NR_LOWORDER_PCP_LISTS - 1);
	BUILD_BUG_ON(fph_pcp_order(fph_pcp_pindex(MIGRATE_MOVABLE, 1)) != 1);
	BUILD_BUG_ON(fph_pcp_order(NR_LOWORDER_PCP_LISTS - 1) !=
		     PAGE_ALLOC_COSTLY_ORDER);
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	BUILD_BUG_ON(NR_PCP_THP != 2);
	BUILD_BUG_ON(NR_PCP_LISTS - NR_LOWORDER_PCP_LISTS != 2);
#ifdef FPH_SERIES_6_1
	/* 6.1's pindex_to_order() says pageblock_order. */
	BUILD_BUG_ON(pageblock_order != HPAGE_PMD_ORDER);
#endif
	BUILD_BUG_ON(HPAGE_PMD_ORDER - PAGE_ALLOC_COSTLY_ORDER < 1);
	BUILD_BUG_ON(HPAGE_PMD_ORDER >= FPH_NR_ORDERS);
	BUILD_BUG_ON(fph_pcp_pindex(MIGRATE_UNMOVABLE, HPAGE_PMD_ORDER) !=
		     NR_LOWORDER_PCP_LISTS);
	BUILD_BUG_ON(fph_pcp_pindex(MIGRATE_MOVABLE, HPAGE_PMD_ORDER) !=
		     NR_PCP_LISTS - 1);
	BUILD_BUG_ON(fph_pcp_order(NR_PCP_LISTS - 1) != HPAGE_PMD_ORDER);
#else
	BUILD_BUG_ON(NR_PCP_LISTS != NR_LOWORDER_PCP_LISTS);
#endif
}

/*
 * List entries one pcp->lock hold may read: four times as many as the
 * kernel's own remote drain frees in one hold (drain_pages_zone(): pcp->batch
 * << CONFIG_PCP_BATCH_SCALE_MAX, default 5, since 6.1.104 and in 6.12 and
 * 7.x) -- 8064 for a zone of 256 MiB or more.  The drain frees each page
 * into the buddy lists with zone->lock held and IRQs off; a read here is
 * one list pointer and a few struct page fields, IRQs on.  Four drains'
 * worth lets a walk reach all of a CPU's list after a large free at two or
 * more vCPUs (docs/design.rst, "Per-CPU lists").  Caller holds pcp->lock.
 */
#ifdef CONFIG_PCP_BATCH_SCALE_MAX
#define FPH_PCP_BATCH_SCALE	CONFIG_PCP_BATCH_SCALE_MAX
#else
#define FPH_PCP_BATCH_SCALE	5
#endif
#define FPH_PCP_DRAINS_PER_HOLD	4

static inline unsigned int fph_pcp_hold_reads(struct per_cpu_pages *pcp)
{
	return (max_t(int, READ_ONCE(pcp->batch), 1) << FPH_PCP_BATCH_SCALE) *
	       FPH_PCP_DRAINS_PER_HOLD;
}

/*
 * Whether memory offline (zone_pcp_disable()) has disabled the per-CPU
 * lists @pcp of @zone: it sets their high mark (6.1; since 6.7 the low end
 * of the auto-tuned range, high_min) to 0 and leaves the zone's own
 * (pageset_high, pageset_high_min) as it was.  A zone too small for
 * per-CPU lists (ZONE_DMA) has both at 0.
 */
static inline bool fph_pcp_disabled(struct zone *zone,
				    struct per_cpu_pages *pcp)
{
#ifdef FPH_SERIES_6_1
	return !READ_ONCE(pcp->high) && READ_ONCE(zone->pageset_high);
#else
	return !READ_ONCE(pcp->high_min) && READ_ONCE(zone->pageset_high_min);
#endif
}

/*
 * Take another CPU's pcp->lock as mm/page_alloc.c does for a remote drain
 * (drain_pages_zone(): pcp_spin_lock_maybe_irqsave() in 6.1.57+ and 6.12,
 * pcp_spin_lock_nopin() in 7.x).  On SMP and PREEMPT_RT a plain
 * spin_lock(): the allocator takes the lock from IRQ context (and, in 7.x,
 * NMI) only with spin_trylock() and falls back to the buddy lists if that
 * fails, so IRQs may stay on.  On UP spin_trylock() always succeeds, so
 * 6.x must have IRQs off; 7.x never fills the lists on UP, where irqsave
 * costs nothing.  On PREEMPT_RT spin_lock() is the sleeping lock mm/ takes
 * too.
 */
static inline void fph_pcp_lock(struct per_cpu_pages *pcp,
				unsigned long *flags)
{
#if defined(CONFIG_SMP) || defined(CONFIG_PREEMPT_RT)
	*flags = 0;
	spin_lock(&pcp->lock);
#else
	spin_lock_irqsave(&pcp->lock, *flags);
#endif
}

static inline void fph_pcp_unlock(struct per_cpu_pages *pcp,
				  unsigned long flags)
{
#if defined(CONFIG_SMP) || defined(CONFIG_PREEMPT_RT)
	spin_unlock(&pcp->lock);
#else
	spin_unlock_irqrestore(&pcp->lock, flags);
#endif
}

#endif /* FPH_COMPAT_H */
