/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The walkers over the zones' free memory, as the virtio_fph driver
 * (virtio_fph_main.c) runs them: the buddy walker (fph_buddy_walk.c) and
 * the per-CPU walker (fph_pcp_walk.c), behind one interface, struct
 * fph_walker.  The walkers know nothing of virtio, epochs or batches: they
 * emit PFN ranges into a buffer (fph_buf.h), in bounded holds of
 * zone->lock (buddy free lists) or of a CPU's pcp->lock (per-CPU free
 * lists), and in phase 2 walk again, under the same locks, where a batch's
 * candidates were found.
 */
#ifndef FPH_WALK_H
#define FPH_WALK_H

#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/types.h>

#include "fph_buf.h"

/**
 * fph_walk_next_zone() - iterate over the populated zones
 * @zone: the previous zone, NULL for the first
 *
 * for_each_populated_zone() is not usable from a module: its helpers are
 * not exported.
 *
 * Return: the next populated zone of the online nodes, NULL after the last.
 */
static inline struct zone *fph_walk_next_zone(struct zone *zone)
{
	int nid;

	if (zone) {
		nid = zone_to_nid(zone);
		zone++;
	} else {
		nid = first_online_node;
		zone = NODE_DATA(nid)->node_zones;
	}
	for (;;) {
		struct zone *last = NODE_DATA(nid)->node_zones + MAX_NR_ZONES;

		for (; zone < last; zone++)
			if (populated_zone(zone))
				return zone;
		nid = next_online_node(nid);
		if (nid >= MAX_NUMNODES)
			return NULL;
		zone = NODE_DATA(nid)->node_zones;
	}
}

/**
 * struct fph_walk - state of one walk, by one walker
 * @only: phase 2: the armed candidates (sorted and disjoint): only what
 *        lies in them is emitted; NULL in phase 1
 * @zone: the zone walked (NULL: nothing to walk)
 * @min_order: smallest order emitted
 * @cut: places not read whole, what lies there not hinted in this walk:
 *       per-CPU lists whose middle lies deeper from either end than one
 *       hold may read (fph_pcp_hold_reads()); the buddy walker cuts nothing
 * @pfn: buddy walk: the cursor, first PFN not walked yet; stays valid
 *       while zone->lock is dropped between steps
 * @end: buddy walk: the walk stops before this PFN, or at the zone's end
 *       if FPH_WALK_ZONE_END (memory hotplug may move that during the walk)
 * @range: buddy walk, phase 2: the range of @only walked
 * @list: per-CPU walk: the cursor, cpu * NR_PCP_LISTS + pindex of the list
 *        walked
 * @list_end: per-CPU walk: the walk stops before this list
 * @skip: per-CPU walk: entries of @list passed already (emitted, or not
 *        wanted); the next hold starts after as many entries
 * @from_tail: per-CPU walk: @list is read from its tail, @skip counting
 *             from there (its head side was read up to the hold bound)
 *
 * Set up by a walker's @zone or @again, moved on only by its @step.  The
 * caller owns it, the walkers keep no state of their own per walk.
 */
struct fph_walk {
	const struct fph_buf *only;
	struct zone *zone;
	unsigned int min_order;
	unsigned int cut;
	union {
		struct {
			unsigned long pfn;
			unsigned long end;
			u32 range;
		};
		struct {
			unsigned int list;
			unsigned int list_end;
			unsigned int skip;
			bool from_tail;
		};
	};
};

/**
 * struct fph_walker - one way of finding free blocks, in bounded lock holds
 * @zone: set up @w for phase 1: the blocks of at least @min_order in
 *        @zone, a populated zone
 * @again: set up @w for phase 2: walk again where the candidates @cand
 *         (compacted, fph_buf_compact(), unless @sorted) were found, and
 *         emit what of them is still free.  @from and @to: the phase 1
 *         walk as it was before the step that found the first of them,
 *         and as it is now (only a walker with @batch_per_zone reads them)
 * @step: walk on in one lock hold, emitting into @b, merging adjacent
 *        ranges; sets *@hold_ns to how long the lock was held (0 if not
 *        taken).  Returns false if @b filled up: the cursor then stays at
 *        the block not emitted, so the walk goes on from there once @b
 *        has room; true otherwise
 * @done: whether @step has nothing left to walk
 * @broken: NULL, or whether the walker has stopped for good on something
 *          it cannot trust: what its phase 2 emitted must not be sent
 * @sorted: @step emits ascending PFNs, a range never reaching back: a
 *          buffer it finds no room in is full.  Otherwise ranges come in
 *          any order and may repeat: such a buffer is compacted, and full
 *          only if fph_buf_full() still says so; a batch is compacted
 *          before it goes out
 * @batch_per_zone: @again reads the phase 1 walk, which covers one zone,
 *                  so a batch must not hold more than one zone's blocks
 *
 * The driver runs every walker the same way: phase 1 over each populated
 * zone (fph_walk_next_zone()), and whenever the buffer of candidates is
 * full (and at each zone's end if @batch_per_zone), the candidates go out,
 * then phase 2 (@again) re-checks them.
 */
struct fph_walker {
	void (*zone)(struct fph_walk *w, struct zone *zone,
		     unsigned int min_order);
	void (*again)(struct fph_walk *w, const struct fph_walk *from,
		      const struct fph_walk *to, const struct fph_buf *cand);
	bool (*step)(struct fph_walk *w, struct fph_buf *b, u64 *hold_ns);
	bool (*done)(const struct fph_walk *w);
	bool (*broken)(void);
	bool sorted;
	bool batch_per_zone;
};

/*
 * The PFN walk of the zones' free buddy blocks, under zone->lock
 * (fph_buddy_walk.c).  Phase 2 walks each candidate range again.
 */
extern const struct fph_walker fph_buddy_walker;

/*
 * The walk of the zones' per-CPU free lists, under each CPU's pcp->lock
 * (fph_pcp_walk.c).  Phase 2 walks again the lists a batch came from.  It
 * finds nothing unless fph_pcp_init() succeeded.
 */
extern const struct fph_walker fph_pcp_walker;
int fph_pcp_init(void);
void fph_pcp_exit(void);

#endif /* FPH_WALK_H */
