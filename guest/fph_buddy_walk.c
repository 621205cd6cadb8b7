// SPDX-License-Identifier: GPL-2.0-only
/*
 * fph_buddy_walk: finding the guest's free buddy blocks for virtio_fph,
 * without allocating or holding them.
 *
 * The walker walks PFNs, not the buddy free lists (the per-CPU lists are
 * walked as lists, fph_pcp_walk.c).
 *
 * A list cursor does not survive dropping zone->lock (its entry may be
 * allocated or merged meanwhile), and restarting a list to skip the first k
 * entries makes each lock hold as long as the prefix -- on a fragmented
 * guest one order-0 list alone takes ~5 ms to walk.  A PFN cursor stays
 * valid across unlock.  Each lock hold moves it at most FPH_SCAN_STEPS
 * steps upward; a step jumps over a whole free block (a PageBuddy head with
 * its order in page_private) or allocated compound page, otherwise over one
 * page.  Scanning upward meets every free block at its head, so only the
 * first PFN of a hold needs the full is_free_buddy_page()-style lookup (a
 * block may have merged across the cursor while the lock was dropped).  The
 * cost is one struct page read per allocated page or free block (at most
 * 512k for 2 GiB), ranges come out sorted and merge on the fly, and the
 * driver's phase 2 re-checks candidates with the same code.
 *
 * Racy reads (compound order, pages of other zones) can only cost a hint:
 * a range is emitted only from a PageBuddy head of @zone seen under its
 * lock, and only the part of it inside [cursor, end).
 */
#include <linux/build_bug.h>
#include <linux/ktime.h>
#include <linux/limits.h>
#include <linux/memory_hotplug.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/pfn.h>
#include <linux/spinlock.h>

#include "fph_compat.h"
#include "fph_walk.h"

/* struct page visits per zone->lock hold: ~20 us on KVM, ~250 us on TCG. */
#define FPH_SCAN_STEPS		4096

/* Order of the free buddy block headed by @page in @zone, or -1. */
static int fph_buddy_head(struct zone *zone, struct page *page)
{
	unsigned int order;

	if (!PageBuddy(page) || page_zone(page) != zone)
		return -1;
	order = fph_buddy_order(page);
	return order < FPH_NR_ORDERS ? order : -1;
}

/* If @pfn lies in a free block of @zone, return its order and set *@head. */
static int fph_free_block(struct zone *zone, unsigned long pfn,
			  unsigned long *head)
{
	unsigned int order;

	for (order = 0; order < FPH_NR_ORDERS; order++) {
		unsigned long h = pfn & ~((1UL << order) - 1);
		struct page *page;
		int bo;

		if (h < zone->zone_start_pfn)
			break;
		page = pfn_to_online_page(h);
		if (!page)
			break;
		bo = fph_buddy_head(zone, page);
		if (bo >= (int)order) {
			*head = h;
			return bo;
		}
	}
	return -1;
}

/* Pages to step over at allocated @page: all of it if it heads a compound. */
static unsigned long fph_used_span(struct page *page, unsigned long pfn)
{
	unsigned int order;

	if (!PageHead(page))
		return 1;
	order = min_t(unsigned int, compound_order(page), FPH_NR_ORDERS - 1);
	return IS_ALIGNED(pfn, 1UL << order) ? 1UL << order : 1;
}

/*
 * Emit the free blocks of at least @min_order in [*cursor, end) of @zone
 * into @b, for at most FPH_SCAN_STEPS steps.  Returns false when @b is full;
 * *cursor is then the first block not emitted.  Caller holds zone->lock.
 */
static bool fph_scan(struct zone *zone, unsigned long *cursor,
		     unsigned long end, unsigned int min_order,
		     struct fph_buf *b)
{
	unsigned long pfn = *cursor, head = pfn, next;
	struct page *page = NULL;
	unsigned int steps;
	bool room = true;
	int order;

	for (steps = 0; pfn < end && steps < FPH_SCAN_STEPS; steps++) {
		/*
		 * Validity and online state change only at FPH_VALID_SPAN
		 * boundaries, and every jump below is naturally aligned, so
		 * it lands on one before leaving the span checked last.
		 */
		if (!page || IS_ALIGNED(pfn, FPH_VALID_SPAN)) {
			page = pfn_to_online_page(pfn);
			if (!page) {
				pfn = ALIGN(pfn + 1, FPH_VALID_SPAN);
				continue;
			}
		} else {
			page = pfn_to_page(pfn);
		}
		if (steps) {
			order = fph_buddy_head(zone, page);
			head = pfn;
		} else {
			order = fph_free_block(zone, pfn, &head);
		}
		if (order < 0) {
			pfn += fph_used_span(page, pfn);
			continue;
		}
		next = head + (1UL << order);
		if (order >= min_order && !fph_buf_emit(b, pfn, min(next, end))) {
			room = false;
			break;
		}
		pfn = next;
	}
	*cursor = pfn;
	return room;
}

/* fph_walk.end: walk to the zone's end, re-read at every step. */
#define FPH_WALK_ZONE_END	ULONG_MAX

/* First PFN past the walk's range, as of now. */
static unsigned long fph_buddy_end(const struct fph_walk *w)
{
	return w->end == FPH_WALK_ZONE_END ? zone_end_pfn(w->zone) : w->end;
}

/* Whether the walk has covered its range (in phase 2: @w->range). */
static bool fph_buddy_range_done(const struct fph_walk *w)
{
	return w->pfn >= fph_buddy_end(w);
}

/*
 * Set up @w over the PFN range [@pfn, @end), to emit blocks of at least
 * @min_order.  The walk stays in the zone of @pfn: it stops at that zone's
 * end, if that comes before @end.  It is empty if @pfn is not online.
 */
static void fph_buddy_range(struct fph_walk *w, unsigned long pfn,
			    unsigned long end, unsigned int min_order)
{
	struct page *page = pfn_to_online_page(pfn);

	w->pfn = pfn;
	w->min_order = min_order;
	if (!page) {
		w->zone = NULL;
		w->end = pfn;
		return;
	}
	w->zone = page_zone(page);
	w->end = min(end, zone_end_pfn(w->zone));
}

/*
 * Phase 2: set up @w over the candidate ranges from @w->range on, at the
 * first that is not empty; past the last if all are.
 */
static void fph_buddy_next_range(struct fph_walk *w)
{
	for (; w->range < w->only->nr; w->range++) {
		const struct virtio_fph_range *r = &w->only->r[w->range];
		unsigned long pfn = PHYS_PFN(le64_to_cpu(r->addr));
		unsigned long end = pfn + PHYS_PFN(le64_to_cpu(r->len));

		/* Candidates never span zones (the driver's pass). */
		fph_buddy_range(w, pfn, end, 0);
		if (!fph_buddy_range_done(w))
			return;
	}
}

/**
 * fph_buddy_step() - walk on in one hold of the zone's lock
 * @w: the walk, not done yet (fph_buddy_done())
 * @b: the buffer to emit into
 * @hold_ns: set to how long zone->lock was held
 *
 * Takes zone->lock (irqsave) and emits the free buddy blocks of at least
 * @w->min_order it meets into @b, clipped to the walk's range, merging
 * adjacent ones, for at most FPH_SCAN_STEPS visits of a struct page.  In
 * phase 2 one hold walks one candidate range; once that is done, the walk
 * moves on to the next.
 *
 * Return: false if @b filled up; the cursor then stays at the first block
 * not emitted, so the walk goes on from there once @b has been emptied.
 * true otherwise.
 */
static bool fph_buddy_step(struct fph_walk *w, struct fph_buf *b,
			   u64 *hold_ns)
{
	unsigned long end = fph_buddy_end(w);
	struct zone *zone = w->zone;
	unsigned long flags;
	bool room;
	u64 t0;

	/* fph_compat.h must agree with the free_area[] we are compiled for. */
	BUILD_BUG_ON(FPH_NR_ORDERS !=
		     sizeof_field(struct zone, free_area) /
		     sizeof(struct free_area));

	spin_lock_irqsave(&zone->lock, flags);
	t0 = ktime_get_ns();
	room = fph_scan(zone, &w->pfn, end, w->min_order, b);
	*hold_ns = ktime_get_ns() - t0;
	spin_unlock_irqrestore(&zone->lock, flags);

	/* Not if @b filled up: the range's rest is still to walk. */
	if (w->only && fph_buddy_range_done(w)) {
		w->range++;
		fph_buddy_next_range(w);
	}
	return room;
}

/**
 * fph_buddy_done() - whether a walk has covered all of its range
 * @w: the walk
 *
 * Return: true if fph_buddy_step() has nothing left to walk: in phase 1,
 * the cursor is at the zone's end; in phase 2, past the last candidate.
 */
static bool fph_buddy_done(const struct fph_walk *w)
{
	return w->only ? w->range >= w->only->nr : fph_buddy_range_done(w);
}

/**
 * fph_buddy_zone() - set up phase 1 over a whole zone
 * @w: the walk
 * @zone: a populated zone
 * @min_order: smallest buddy order to emit
 *
 * The walk ends at the zone's end as of each step.
 */
static void fph_buddy_zone(struct fph_walk *w, struct zone *zone,
			   unsigned int min_order)
{
	w->only = NULL;
	w->cut = 0;
	w->zone = zone;
	w->pfn = zone->zone_start_pfn;
	w->end = FPH_WALK_ZONE_END;
	w->min_order = min_order;
}

/**
 * fph_buddy_again() - set up phase 2 over the candidates
 * @w: the walk
 * @from: not read: the candidates themselves say where to look
 * @to: not read either
 * @cand: the candidates, each range in one zone
 *
 * Walks each range of @cand again, in order, as phase 1 walked the zone:
 * what is still a free block (PageBuddy, with its order, under zone->lock)
 * is emitted, of any order, clipped to the range.
 */
static void fph_buddy_again(struct fph_walk *w, const struct fph_walk *from,
			    const struct fph_walk *to,
			    const struct fph_buf *cand)
{
	w->only = cand;
	w->cut = 0;
	w->range = 0;
	fph_buddy_next_range(w);
}

const struct fph_walker fph_buddy_walker = {
	.zone = fph_buddy_zone,
	.again = fph_buddy_again,
	.step = fph_buddy_step,
	.done = fph_buddy_done,
	.sorted = true,
};
