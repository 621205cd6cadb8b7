/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel API differences that virtio_fph has to bridge (6.1 .. 6.12).
 */
#ifndef FPH_COMPAT_H
#define FPH_COMPAT_H

#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mmzone.h>

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

#endif /* FPH_COMPAT_H */
