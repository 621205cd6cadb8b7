/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel API differences that virtio_fph has to bridge (6.1 .. 6.12).
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
 * buddy_order() itself lives in mm/internal.h; this matches it for 6.1
 * through 6.12.  Only stable under zone->lock.
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
 * movable).  The THP order is pageblock_order in 6.1 and HPAGE_PMD_ORDER in
 * 6.12; fph_pcp_check_layout() requires the two to be equal, so one
 * definition serves both.  The order decides how many pages a list entry
 * stands for, so getting it wrong would hint pages in use: every constant
 * the mapping rests on is checked at build time, and other kernel series
 * than 6.1 to 6.12 (Kbuild) do not build until the mapping has been
 * compared with theirs.  The sources read were Debian's 6.1 and 6.12.
 */
#ifndef FPH_PCP_LAYOUT_CHECKED	/* set by Kbuild for 6.1 .. 6.12 */
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
	BUILD_BUG_ON(pageblock_order != HPAGE_PMD_ORDER);
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
 * Take another CPU's pcp->lock as mm/page_alloc.c does for a remote drain
 * (drain_pages_zone(): pcp_spin_lock_maybe_irqsave()), the same in 6.1 and
 * 6.12.  On SMP and PREEMPT_RT a plain spin_lock(): the allocator takes
 * the lock from IRQ context only with spin_trylock() and falls back to the
 * buddy lists if that fails, so IRQs may stay on.  On UP spin_trylock()
 * always succeeds, so IRQs must be off.
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
