// SPDX-License-Identifier: GPL-2.0-only
/*
 * fph_buf: the batches of PFN ranges that the walkers emit into and the
 * driver sends: appending with merging, sorting and merging (compaction),
 * look-up.
 */
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/pfn.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "fph_buf.h"

/* Smallest batch buffer we settle for if a large kmalloc fails. */
#define FPH_MIN_RANGES		64U

/**
 * fph_buf_alloc() - allocate a range buffer's ranges
 * @b: the buffer
 * @cap: ranges wanted
 *
 * Halves @cap until the allocation succeeds, down to FPH_MIN_RANGES (or
 * @cap if smaller); @b->cap is what was allocated.
 *
 * Return: 0, or -ENOMEM.
 */
int fph_buf_alloc(struct fph_buf *b, u32 cap)
{
	u32 floor = min(cap, FPH_MIN_RANGES);

	/* Physically contiguous: each batch goes out as one descriptor. */
	for (;;) {
		b->r = kmalloc_array(cap, sizeof(*b->r),
				     GFP_KERNEL | __GFP_NOWARN);
		if (b->r || cap <= floor)
			break;
		cap /= 2;
	}
	b->cap = cap;
	return b->r ? 0 : -ENOMEM;
}

/**
 * fph_buf_free() - free what fph_buf_alloc() allocated, if anything
 * @b: the buffer
 */
void fph_buf_free(struct fph_buf *b)
{
	kfree(b->r);
}

/*
 * Extend the last range of @b by [pfn, end) if that is adjacent to it: at
 * its end (the buddy walk goes upwards), or at its start (a per-CPU list
 * often holds a run of pages in descending order).
 */
static bool fph_extend(struct fph_buf *b, unsigned long pfn, unsigned long end)
{
	struct virtio_fph_range *last;
	u64 len = PFN_PHYS(end - pfn);

	if (!b->can_merge)
		return false;
	last = &b->r[b->nr - 1];
	if (b->last_end == pfn)
		b->last_end = end;
	else if (le64_to_cpu(last->addr) == PFN_PHYS(end))
		last->addr = cpu_to_le64(PFN_PHYS(pfn));
	else
		return false;
	le64_add_cpu(&last->len, len);
	b->bytes += len;
	return true;
}

/**
 * fph_buf_emit() - append a range to a buffer
 * @b: the buffer
 * @pfn: first PFN of the range
 * @end: PFN after the range
 *
 * Merges [@pfn, @end) with the last range of @b if adjacent to it (and
 * @b->can_merge); @b->bytes grows by the range's bytes either way.
 *
 * Return: false if @b is full (and left as it was), true otherwise.
 */
bool fph_buf_emit(struct fph_buf *b, unsigned long pfn, unsigned long end)
{
	if (fph_extend(b, pfn, end))
		return true;
	if (b->nr == b->cap)
		return false;
	b->r[b->nr].addr = cpu_to_le64(PFN_PHYS(pfn));
	b->r[b->nr].len = cpu_to_le64(PFN_PHYS(end - pfn));
	b->nr++;
	b->bytes += PFN_PHYS(end - pfn);
	b->last_end = end;
	b->can_merge = true;
	return true;
}

static int fph_range_cmp(const void *a, const void *b)
{
	u64 x = le64_to_cpu(((const struct virtio_fph_range *)a)->addr);
	u64 y = le64_to_cpu(((const struct virtio_fph_range *)b)->addr);

	return x < y ? -1 : x > y;
}

/**
 * fph_buf_compact() - sort a buffer's ranges and merge what overlaps
 * @b: the buffer
 *
 * Afterwards @b's ranges are ascending, disjoint and not adjacent, and
 * @b->bytes counts each page once.  The per-CPU walk emits ranges in list
 * order and may see a block twice (it moved between two lock holds); this
 * makes room for more, and phase 2 looks blocks up in the result.
 */
void fph_buf_compact(struct fph_buf *b)
{
	u64 start, end, bytes = 0;
	u32 i, n = 0;

	if (!b->nr)
		return;
	sort(b->r, b->nr, sizeof(*b->r), fph_range_cmp, NULL);
	start = le64_to_cpu(b->r[0].addr);
	end = start + le64_to_cpu(b->r[0].len);
	for (i = 1; i <= b->nr; i++) {
		u64 a = i < b->nr ? le64_to_cpu(b->r[i].addr) : U64_MAX;

		if (i < b->nr && a <= end) {
			end = max(end, a + le64_to_cpu(b->r[i].len));
			continue;
		}
		b->r[n].addr = cpu_to_le64(start);
		b->r[n].len = cpu_to_le64(end - start);
		bytes += end - start;
		n++;
		if (i < b->nr) {
			start = a;
			end = a + le64_to_cpu(b->r[i].len);
		}
	}
	b->nr = n;
	b->bytes = bytes;
	b->last_end = PHYS_PFN(end);
	b->can_merge = true;
}

/**
 * fph_buf_find() - look a PFN up in a buffer's ranges
 * @b: the buffer, compacted (fph_buf_compact())
 * @pfn: the PFN
 * @end: set to the end PFN of the range holding @pfn, if there is one
 *
 * Return: true if @pfn lies in a range of @b.
 */
bool fph_buf_find(const struct fph_buf *b, unsigned long pfn,
		  unsigned long *end)
{
	u64 addr = PFN_PHYS(pfn);
	u32 lo = 0, hi = b->nr;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (le64_to_cpu(b->r[mid].addr) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	addr = le64_to_cpu(b->r[lo - 1].addr) + le64_to_cpu(b->r[lo - 1].len);
	if (PFN_PHYS(pfn) >= addr)
		return false;
	*end = PHYS_PFN(addr);
	return true;
}
