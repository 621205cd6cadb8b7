/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The walk over the zones' free memory (fph_walk.c), as the virtio_fph
 * driver (virtio_fph_main.c) calls it.  The walker knows nothing of virtio:
 * it emits PFN ranges into a buffer, in bounded holds of zone->lock.
 */
#ifndef FPH_WALK_H
#define FPH_WALK_H

#include <linux/limits.h>
#include <linux/mmzone.h>
#include <linux/types.h>

#include <fph/virtio_fph.h>

/**
 * struct fph_buf - a batch of ranges, built in ascending PFN order
 * @r: the ranges, in the wire format of include/fph/virtio_fph.h, so that
 *     a batch goes out without a copy
 * @nr: ranges in @r
 * @cap: room in @r
 * @bytes: bytes covered by the @nr ranges
 * @last_end: end PFN of r[nr - 1]
 * @can_merge: the next range may extend r[nr - 1]; clear it to start a new
 *             range even if the next one is adjacent
 */
struct fph_buf {
	struct virtio_fph_range *r;
	u32 nr;
	u32 cap;
	u64 bytes;
	unsigned long last_end;
	bool can_merge;
};

/**
 * fph_buf_reset() - empty a range buffer
 * @b: the buffer
 */
static inline void fph_buf_reset(struct fph_buf *b)
{
	b->nr = 0;
	b->bytes = 0;
	b->can_merge = false;
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
 * @min_order: smallest buddy order emitted
 *
 * Set up by fph_walk_zone() or fph_walk_range() and moved on only by
 * fph_walk_step(); the caller owns it, the walker keeps no state of its
 * own.  Further free lists to walk get their cursors here.
 */
struct fph_walk {
	struct zone *zone;
	unsigned long pfn;
	unsigned long end;
	unsigned int min_order;
};

struct zone *fph_walk_next_zone(struct zone *zone);
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

#endif /* FPH_WALK_H */
