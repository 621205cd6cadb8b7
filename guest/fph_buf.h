/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A batch of PFN ranges (fph_buf.c): what the walkers (fph_walk.h) emit
 * into and the virtio_fph driver (virtio_fph_main.c) sends, in the wire
 * format.  Knows nothing of zones, locks or virtio.
 */
#ifndef FPH_BUF_H
#define FPH_BUF_H

#include <linux/types.h>

#include <fph/virtio_fph.h>

/**
 * struct fph_buf - a batch of ranges
 * @r: the ranges, in the wire format of include/fph/virtio_fph.h, so that
 *     a batch goes out without a copy; in ascending PFN order from the
 *     buddy walk, in list order from the per-CPU walk until
 *     fph_buf_compact() sorts them
 * @nr: ranges in @r
 * @cap: room in @r
 * @bytes: bytes covered by the @nr ranges
 * @last_end: end PFN of r[nr - 1]
 * @can_merge: the next range may extend r[nr - 1] (at either end); clear it
 *             to start a new range even if the next one is adjacent
 */
struct fph_buf {
	struct virtio_fph_range *r;
	u32 nr;
	u32 cap;
	u64 bytes;
	unsigned long last_end;
	bool can_merge;
};

int fph_buf_alloc(struct fph_buf *b, u32 cap);
void fph_buf_free(struct fph_buf *b);

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

bool fph_buf_emit(struct fph_buf *b, unsigned long pfn, unsigned long end);
void fph_buf_compact(struct fph_buf *b);
bool fph_buf_find(const struct fph_buf *b, unsigned long pfn,
		  unsigned long *end);

/**
 * fph_buf_full() - whether a buffer should go out rather than grow
 * @b: the buffer, after fph_buf_compact()
 *
 * Return: true if less than a quarter of @b is free.
 */
static inline bool fph_buf_full(const struct fph_buf *b)
{
	return b->nr >= b->cap - b->cap / 4;
}

#endif /* FPH_BUF_H */
