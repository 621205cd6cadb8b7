// SPDX-License-Identifier: GPL-2.0-only
/*
 * fph_pcp_walk: finding the blocks on the zones' per-CPU free lists for
 * virtio_fph, without allocating, holding or draining them.
 *
 * Freed pages also sit on each zone's per-CPU lists (pcp->lists[], one per
 * order and migratetype, see fph_compat.h), under that CPU's pcp->lock
 * instead of zone->lock.  Nothing in struct page says that a page is on
 * such a list -- it is not PageBuddy, and the PFN walk steps over it as in
 * use --, so these pages are found by walking the lists themselves, under
 * the lock: an entry seen there is, at that moment, the head of a free
 * block of 2^order pages, which nobody else can take off the list while
 * the lock is held.  drain_all_pages(), which would move them to the buddy
 * lists, is not exported to modules; it would also cost every CPU its
 * cache of free pages.
 *
 * A list cursor does not survive dropping the lock either, so the cursor
 * is (list, entries passed): a hold passes @skip entries from the head
 * again, then examines the ones after them.  A hold reads at most a few
 * times as many list entries, counting those passed again, as the kernel's
 * own remote drain frees in one hold (fph_pcp_hold_reads()), with IRQs on
 * (fph_pcp_lock()); and a walk goes no further than that into a list, so
 * every hold makes progress.  What lies deeper is not hinted in this pass
 * (counted: fph_walk.cut); the lists drain into the buddy lists
 * within seconds, where the buddy walk finds those pages.  A hold usually ends at the
 * end of a CPU's lists; it ends mid-list when the buffer is full or the
 * reads are used up, and only then is a prefix read twice.  Between two
 * holds the allocator adds and takes entries at the head and drains the
 * tail, so the entries passed need not be the ones examined before: an
 * entry may be examined twice or never.  That costs a hint or repeats one;
 * it never emits a range that was not a free block on the list when
 * emitted.  Phase 2 walks the lists again the same way and emits only the
 * blocks still on them that lie in the armed candidates.
 *
 * A zone's per-CPU lists are freed (zone_pcp_reset()) when memory hot
 * remove empties the zone.  That happens between MEM_GOING_OFFLINE and
 * MEM_OFFLINE (or MEM_CANCEL_OFFLINE), so a memory notifier stops the
 * walk over that stretch; the walk holds fph_pcp_sem for reading, the
 * notifier for writing.  An offline already past MEM_GOING_OFFLINE when
 * the driver registers is not notified, and no lock that would wait it
 * out is exported (mem_hotplug_lock, device_hotplug_lock).  But offline
 * disables the zone's per-CPU lists before it notifies and enables them
 * only after MEM_OFFLINE (fph_pcp_disabled()).  So walks start once no
 * populated zone has its lists disabled, checked after registering: an
 * offline that disables them later notifies us first.  (memory_failure()
 * disables them briefly too; that only delays the first walk.)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpumask.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/memory.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/notifier.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>

#include "fph_compat.h"
#include "fph_walk.h"

static DECLARE_RWSEM(fph_pcp_sem);
static bool fph_pcp_paused = true;	/* under fph_pcp_sem */
static bool fph_pcp_settled;		/* no offline from before fph_pcp_init() */
static bool fph_pcp_broken;		/* a list entry fph_pcp_order() misfits */

static int fph_pcp_memory_event(struct notifier_block *nb,
				unsigned long action, void *arg)
{
	switch (action) {
	case MEM_GOING_OFFLINE:
	case MEM_GOING_ONLINE:
		down_write(&fph_pcp_sem);
		fph_pcp_paused = true;
		up_write(&fph_pcp_sem);
		break;
	case MEM_OFFLINE:
	case MEM_CANCEL_OFFLINE:
	case MEM_ONLINE:
	case MEM_CANCEL_ONLINE:
		down_write(&fph_pcp_sem);
		fph_pcp_paused = false;
		up_write(&fph_pcp_sem);
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block fph_pcp_memory_nb = {
	.notifier_call = fph_pcp_memory_event,
};

/* Whether some populated zone has its per-CPU lists disabled. */
static bool fph_pcp_any_disabled(void)
{
	struct zone *zone;
	unsigned int cpu;

	for (zone = fph_walk_next_zone(NULL); zone;
	     zone = fph_walk_next_zone(zone)) {
		for_each_possible_cpu(cpu) {
			struct per_cpu_pages *pcp;

			pcp = per_cpu_ptr(zone->per_cpu_pageset, cpu);
			if (fph_pcp_disabled(zone, pcp))
				return true;
		}
	}
	return false;
}

/*
 * Whether walks may read per-CPU lists: no offline notified as under way,
 * and none from before registering still under way.  Caller holds
 * fph_pcp_sem.
 */
static bool fph_pcp_may_walk(void)
{
	if (fph_pcp_paused)
		return false;
	if (!READ_ONCE(fph_pcp_settled) && !fph_pcp_any_disabled())
		WRITE_ONCE(fph_pcp_settled, true);
	return READ_ONCE(fph_pcp_settled);
}

/**
 * fph_pcp_init() - allow per-CPU walks
 *
 * Return: 0, or a negative error: then per-CPU walks find nothing.
 */
int fph_pcp_init(void)
{
	int err;

	fph_pcp_check_layout();
	err = register_memory_notifier(&fph_pcp_memory_nb);
	if (!err) {
		down_write(&fph_pcp_sem);
		fph_pcp_paused = false;
		fph_pcp_settled = false;
		up_write(&fph_pcp_sem);
	}
	return err;
}

/**
 * fph_pcp_exit() - undo fph_pcp_init(), which must have succeeded
 */
void fph_pcp_exit(void)
{
	unregister_memory_notifier(&fph_pcp_memory_nb);
	down_write(&fph_pcp_sem);
	fph_pcp_paused = true;
	up_write(&fph_pcp_sem);
}

/**
 * fph_pcp_walk_broken() - whether per-CPU walks have been given up
 *
 * A list entry that is not a block of the order fph_pcp_order() gives its
 * list (not aligned, outside its zone) means that the kernel lays its lists
 * out differently: the walk stops at once and for good, and phase 2 must
 * not send what it collected.
 *
 * Return: true if per-CPU walks have stopped for good.
 */
static bool fph_pcp_walk_broken(void)
{
	return READ_ONCE(fph_pcp_broken);
}

/**
 * fph_pcp_walk_lists() - set up a walk over some of a zone's per-CPU lists
 * @w: the walk
 * @zone: a populated zone
 * @first: first list to walk, cpu * NR_PCP_LISTS + pindex
 * @end: list to stop before
 *
 * The walk emits blocks of any order.
 */
static void fph_pcp_walk_lists(struct fph_walk *w, struct zone *zone,
			       unsigned int first, unsigned int end)
{
	w->only = NULL;
	w->zone = zone;
	w->min_order = 0;
	w->list = first;
	w->list_end = min(end, nr_cpu_ids * NR_PCP_LISTS);
	w->skip = 0;
	w->from_tail = false;
	w->cut = 0;
}

/**
 * fph_pcp_walk_zone() - set up phase 1 over all per-CPU lists of a zone
 * @w: the walk
 * @zone: a populated zone
 * @min_order: smallest order to emit
 */
static void fph_pcp_walk_zone(struct fph_walk *w, struct zone *zone,
			      unsigned int min_order)
{
	fph_pcp_walk_lists(w, zone, 0, nr_cpu_ids * NR_PCP_LISTS);
	w->min_order = min_order;
}

/**
 * fph_pcp_walk_again() - set up phase 2 over the lists a batch came from
 * @w: the walk
 * @from: the phase 1 walk before the step that found the first candidate
 * @to: the phase 1 walk now
 * @cand: the candidates, compacted (fph_buf_compact())
 *
 * Nothing in struct page says that a page is on a per-CPU list, so phase 2
 * walks again, under the locks, the lists of @from's zone that the batch
 * came from, from @from's list through @to's, and emits the blocks still
 * on them that lie in @cand.  A block that moved to another list, or to
 * the buddy lists, is not confirmed.
 */
static void fph_pcp_walk_again(struct fph_walk *w, const struct fph_walk *from,
			       const struct fph_walk *to,
			       const struct fph_buf *cand)
{
	fph_pcp_walk_lists(w, from->zone, from->list,
			   min(to->list + 1, to->list_end));
	w->only = cand;
}

/**
 * fph_pcp_walk_done() - whether a per-CPU walk has covered all its lists
 * @w: the walk
 *
 * Return: true if fph_pcp_walk_step() has nothing left to walk.
 */
static bool fph_pcp_walk_done(const struct fph_walk *w)
{
	return w->list >= w->list_end;
}

enum fph_pcp_seen { FPH_PCP_NEXT, FPH_PCP_FULL, FPH_PCP_BROKEN };

/*
 * The list entry @page of @w's list, read under its pcp->lock: emit the
 * block it heads (of @order) into @b, or the part of it in @w->only's
 * candidates if @w->only is given.
 */
static enum fph_pcp_seen fph_pcp_entry(struct fph_walk *w, struct page *page,
				       unsigned int order, struct fph_buf *b)
{
	unsigned long nr = 1UL << order;
	unsigned long pfn = page_to_pfn(page);
	unsigned long end = pfn + nr, cend;

	/*
	 * Blocks are naturally aligned and lie in their zone; anything else
	 * would mean fph_pcp_order() is wrong.
	 */
	if (unlikely(!IS_ALIGNED(pfn, nr) || pfn < w->zone->zone_start_pfn ||
		     end > zone_end_pfn(w->zone) ||
		     page_zone(page) != w->zone)) {
		WRITE_ONCE(fph_pcp_broken, true);
		pr_warn_once("per-CPU list %u of order %u holds PFN %#lx, not a free block of that order: per-CPU lists not hinted\n",
			     w->list % NR_PCP_LISTS, order, pfn);
		return FPH_PCP_BROKEN;
	}
	if (w->only) {
		if (!fph_buf_find(w->only, pfn, &cend))
			return FPH_PCP_NEXT;
		end = min(end, cend);
	}
	if (!fph_buf_emit(b, pfn, end))
		return FPH_PCP_FULL;
	return FPH_PCP_NEXT;
}

/*
 * Emit the blocks on @cpu's lists @pcp, from the cursor to the end of that
 * CPU's lists or of the walk, for at most fph_pcp_hold_reads() entries read.
 * A list is read from its head, and if it is longer than that, from its
 * tail too: the entries in between are not read.  @w->only: NULL, or
 * compacted candidates: emit only the part of a block that lies in the
 * candidate range holding its head.  Returns false when @b is full; the
 * cursor is then the entry not emitted.  Caller holds pcp->lock.
 */
static bool fph_pcp_scan(struct fph_walk *w, unsigned int cpu,
			 struct per_cpu_pages *pcp, struct fph_buf *b)
{
	unsigned int cap = fph_pcp_hold_reads(pcp);
	unsigned int reads = 0;

	for (; w->list < w->list_end && w->list / NR_PCP_LISTS == cpu;
	     w->list++, w->skip = 0, w->from_tail = false) {
		unsigned int order = fph_pcp_order(w->list % NR_PCP_LISTS);
		struct list_head *head = &pcp->lists[w->list % NR_PCP_LISTS];

		if (order < w->min_order)
			continue;
		for (;;) {
			struct list_head *node;
			unsigned int pos = 0;

			for (node = w->from_tail ? head->prev : head->next;
			     node != head && pos < cap;
			     node = w->from_tail ? node->prev : node->next) {
				enum fph_pcp_seen seen;

				if (reads++ == cap)
					return true;
				if (pos++ < w->skip)
					continue;
				seen = fph_pcp_entry(w, list_entry(node, struct page,
								   pcp_list),
						     order, b);
				if (seen == FPH_PCP_FULL)
					return false;
				if (seen == FPH_PCP_BROKEN) {
					w->list = w->list_end;
					return true;
				}
				w->skip++;
			}
			if (node == head)
				break;		/* read to its end */
			if (w->from_tail) {
				w->cut++;	/* its middle is not read */
				break;
			}
			w->from_tail = true;
			w->skip = 0;
		}
	}
	return true;
}

/**
 * fph_pcp_walk_step() - walk on in one hold of a CPU's pcp->lock
 * @w: the walk, not done yet (fph_pcp_walk_done())
 * @b: the buffer to emit into
 * @hold_ns: set to how long pcp->lock was held (0 if not taken)
 *
 * Takes the lock of the cursor's CPU's lists in @w->zone and emits the
 * blocks on them, from the cursor on, merging adjacent ones, for at most
 * fph_pcp_hold_reads() list entries read: in phase 1 every block of at
 * least @w->min_order; in phase 2 only what lies in the candidates
 * @w->only.
 *
 * Return: false if @b filled up; the cursor then stays at the entry not
 * emitted, so the walk goes on from there once @b has room.  true
 * otherwise.
 */
static bool fph_pcp_walk_step(struct fph_walk *w, struct fph_buf *b,
			      u64 *hold_ns)
{
	unsigned int cpu = w->list / NR_PCP_LISTS;
	struct per_cpu_pages *pcp;
	unsigned long flags;
	bool room = true;
	u64 t0;

	*hold_ns = 0;
	/* The first possible CPU from the cursor's on. */
	cpu = cpumask_next((int)cpu - 1, cpu_possible_mask);
	if (cpu != w->list / NR_PCP_LISTS) {
		w->list = min(cpu * NR_PCP_LISTS, w->list_end);
		w->skip = 0;
		if (fph_pcp_walk_done(w))
			return true;
	}

	down_read(&fph_pcp_sem);
	if (!fph_pcp_may_walk() || fph_pcp_walk_broken() ||
	    !populated_zone(w->zone)) {
		w->list = w->list_end;
	} else {
		pcp = per_cpu_ptr(w->zone->per_cpu_pageset, cpu);
		fph_pcp_lock(pcp, &flags);
		t0 = ktime_get_ns();
		room = fph_pcp_scan(w, cpu, pcp, b);
		*hold_ns = ktime_get_ns() - t0;
		fph_pcp_unlock(pcp, flags);
	}
	up_read(&fph_pcp_sem);
	return room;
}

const struct fph_walker fph_pcp_walker = {
	.zone = fph_pcp_walk_zone,
	.again = fph_pcp_walk_again,
	.step = fph_pcp_walk_step,
	.done = fph_pcp_walk_done,
	.broken = fph_pcp_walk_broken,
	.batch_per_zone = true,
};
