/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The walks over the zones' free memory, as the virtio_fph driver
 * (virtio_fph_main.c) calls them: the buddy walk (fph_buddy_walk.c) and
 * the per-CPU walk (fph_pcp_walk.c).  The walkers know nothing of virtio:
 * they emit PFN ranges into a buffer (fph_buf.h), in bounded holds of
 * zone->lock (buddy free lists) or of a CPU's pcp->lock (per-CPU free
 * lists).
 */
#ifndef FPH_WALK_H
#define FPH_WALK_H

#include <linux/limits.h>
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

/* fph_walk.end: walk to the zone's end, re-read at every step. */
#define FPH_WALK_ZONE_END	ULONG_MAX

/**
 * struct fph_walk - state of one walk over a zone's free memory
 * @zone: the zone walked (NULL: nothing to walk)
 * @pfn: the cursor, first PFN not walked yet; stays valid while zone->lock
 *       is dropped between steps
 * @end: the walk stops before this PFN, or at the zone's end if
 *       FPH_WALK_ZONE_END (memory hotplug may move that during the walk)
 * @min_order: smallest order emitted
 * @list: per-CPU walk: the cursor, cpu * NR_PCP_LISTS + pindex of the list
 *        walked
 * @list_end: per-CPU walk: the walk stops before this list
 * @skip: per-CPU walk: entries of @list passed already (emitted, or not
 *        wanted); the next hold starts after as many entries
 * @from_tail: per-CPU walk: @list is read from its tail, @skip counting
 *             from there (its head side was read up to the hold bound)
 * @lists_cut: per-CPU walk: lists not read whole, their middle lying
 *             deeper from either end than one hold may read
 *             (fph_pcp_hold_reads())
 *
 * A buddy walk is set up by fph_walk_zone() or fph_walk_range() and moved
 * on only by fph_walk_step(); a per-CPU walk by fph_pcp_walk_zone() or
 * fph_pcp_walk_lists() and fph_pcp_walk_step().  The caller owns it, the
 * walker keeps no state of its own.
 */
struct fph_walk {
	struct zone *zone;
	unsigned long pfn;
	unsigned long end;
	unsigned int min_order;
	unsigned int list;
	unsigned int list_end;
	unsigned int skip;
	bool from_tail;
	unsigned int lists_cut;
};

void fph_walk_zone(struct fph_walk *w, struct zone *zone,
		   unsigned int min_order);
void fph_walk_range(struct fph_walk *w, unsigned long pfn, unsigned long end,
		    unsigned int min_order);
bool fph_walk_step(struct fph_walk *w, struct fph_buf *b, u64 *hold_ns);

/* First PFN past the walk, as of now. */
static inline unsigned long fph_walk_end(const struct fph_walk *w)
{
	return w->end == FPH_WALK_ZONE_END ? zone_end_pfn(w->zone) : w->end;
}

/**
 * fph_walk_done() - whether a walk has covered all of its range
 * @w: the walk
 *
 * Return: true if fph_walk_step() has nothing left to walk.
 */
static inline bool fph_walk_done(const struct fph_walk *w)
{
	return w->pfn >= fph_walk_end(w);
}

int fph_pcp_init(void);
void fph_pcp_exit(void);
void fph_pcp_walk_zone(struct fph_walk *w, struct zone *zone,
		       unsigned int min_order);
void fph_pcp_walk_lists(struct fph_walk *w, struct zone *zone,
			unsigned int first, unsigned int end);
bool fph_pcp_walk_broken(void);
bool fph_pcp_walk_step(struct fph_walk *w, struct fph_buf *b,
		       const struct fph_buf *only, u64 *hold_ns, u64 *pages);

/**
 * fph_pcp_walk_done() - whether a per-CPU walk has covered all its lists
 * @w: the walk
 *
 * Return: true if fph_pcp_walk_step() has nothing left to walk.
 */
static inline bool fph_pcp_walk_done(const struct fph_walk *w)
{
	return w->list >= w->list_end;
}

#endif /* FPH_WALK_H */
