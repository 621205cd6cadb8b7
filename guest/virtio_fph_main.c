// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio_fph: paravirtualized free-page hinting for live migration.
 *
 * Once per migration epoch (the device opens one after each dirty-bitmap
 * sync and announces it by a config change) the driver tells the host which
 * guest pages are free, so that it need not send them.  The safety rule
 * (docs/protocol.rst, docs/design.rst): a page may be skipped only if
 * it was seen free *after* the host re-armed dirty tracking for it and
 * before the next sync.  Hence two phases per batch:
 *
 *   1. CANDIDATES: ranges that are free now: buddy blocks, or blocks on the
 *      per-CPU lists.  The host arms dirty tracking for them, then answers.
 *   2. CONFIRM: the parts of those ranges that are *still* free, checked
 *      after the answer under zone->lock (buddy: PageBuddy and order at each
 *      PFN) or under the CPUs' pcp->lock (per-CPU: the block is still on a
 *      list, found by walking the lists again).  The host skips them if the
 *      epoch is still current.
 *
 * A page allocated and written between the phases is caught by the armed
 * tracking; a page still free at confirm time holds nothing worth sending.
 * The host enforces the epoch; the driver's own epoch checks only avoid
 * wasted work.  The driver never allocates or holds the pages it hints, and
 * does not drain the per-CPU lists: the walkers (fph_walk.h) find the
 * pages, in bounded lock holds, for both phases.  A pass walks the per-CPU
 * lists first, in batches of their own, then the buddy lists.
 *
 * Free-page content policy: the pages skipped here arrive on the destination
 * with whatever it holds for them -- zero if never sent, or the content of
 * an *earlier* round.  So hinting is only safe if the guest never relies on
 * a free page's content.  Two kernel options do:
 *  - page_poison=1: the allocator checks the poison pattern on allocation
 *    and would report corruption;
 *  - init_on_free=1: pages are zeroed on free and the allocator then skips
 *    zeroing __GFP_ZERO allocations.  A page sent in round N, freed (zeroed)
 *    and skipped in round N+1 arrives with its stale round-N content, so a
 *    __GFP_ZERO allocation on the destination would return garbage.
 * With either one on, the driver binds but stays inactive (disabled_reason
 * in debugfs).  A device promise that never-sent pages read as zero would
 * not help: the stale page above was sent.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/suspend.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <fph/virtio_fph.h>

#include "fph_buf.h"
#include "fph_compat.h"
#include "fph_reclaim.h"
#include "fph_walk.h"

/*
 * Walker steps (each a bounded hold of zone->lock or pcp->lock) between two
 * reads of the config epoch (an exit each).
 */
#define FPH_EPOCH_POLL		64
/*
 * How long the worker waits for an answer before it ends the pass and
 * leaves the request with the device (a host whose migration thread is
 * stalled answers late): well below the freezer's 20 s, so that a
 * suspend does not fail on this freezable work.
 */
#define FPH_ANSWER_WAIT		(5 * HZ)

static unsigned int fph_min_order;
static unsigned int fph_max_ranges = 16384;

static int fph_set_min_order(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, FPH_NR_ORDERS - 1);
}

static const struct kernel_param_ops fph_min_order_ops = {
	.set = fph_set_min_order,
	.get = param_get_uint,
};

module_param_cb(min_order, &fph_min_order_ops, &fph_min_order, 0644);
MODULE_PARM_DESC(min_order, "Smallest order of free blocks hinted (default 0)");
module_param_named(max_ranges, fph_max_ranges, uint, 0444);
MODULE_PARM_DESC(max_ranges,
		 "Cap on ranges per request, below the device's (default 16384)");

enum fph_disabled {
	FPH_ENABLED,
	FPH_DISABLED_POISON,		/* page_poison=1 */
	FPH_DISABLED_INIT_ON_FREE,	/* init_on_free=1 */
};

struct fph_stats {
	u64 passes;		/* passes that covered every zone */
	u64 aborted_passes;	/* stopped early: epoch over, unload, error */
	u64 epochs_seen;
	u64 batches;		/* CANDIDATES requests sent */
	u64 candidate_ranges;	/* ... and answered OK */
	u64 candidate_bytes;
	u64 confirmed_ranges;	/* CONFIRM ranges answered OK */
	u64 confirmed_bytes;
	u64 rejected_ranges;	/* nr_rejected, summed over all answers */
	u64 late_answers;	/* requests left after FPH_ANSWER_WAIT */
	u64 stale_batches;	/* batches dropped because the epoch ended */
	u64 lock_hold_max_ns;
	u64 collect_ns_total;	/* phase 1 scanning, all passes */
	u64 last_pass_ns;
	u64 pcp_pages_seen;	/* per-CPU lists: pages of phase 1 */
	u64 pcp_pages_hinted;	/* ... of CONFIRMs answered OK */
	u64 pcp_lists_cut;	/* phase 1: lists read only to the hold bound */
};

struct fph {
	struct virtio_device *vdev;
	struct virtqueue *vq;
	struct work_struct work;
	wait_queue_head_t acked;
	bool stopping;		/* remove/freeze: worker must bail out */
	bool unanswered;	/* the device holds a request the worker left */
	u32 disabled;		/* enum fph_disabled */
	u32 done_epoch;		/* last epoch a pass was started for */
	bool pcp;		/* per-CPU walks possible (fph_pcp_init()) */
	bool hold_pass;		/* debugfs: passes wait between batches */
	unsigned int polls;	/* lock holds since the last epoch read */
	struct fph_buf cand;	/* phase 1 */
	struct fph_buf conf;	/* phase 2 */
	struct fph_stats st;
	struct fph_reclaim reclaim;
	struct dentry *dbg;
#ifdef CONFIG_PM_SLEEP
	struct notifier_block pm_nb;	/* stops the worker before the freezer */
#endif
	/* Read and written by the device: own cache lines. */
	struct virtio_fph_req req ____cacheline_aligned;
	struct virtio_fph_resp resp ____cacheline_aligned;
};

/* Hinting from two devices makes no sense; debugfs has one directory. */
static atomic_t fph_bound = ATOMIC_INIT(0);

/*
 * A walker (fph_walk.h) as a pass runs it, and the counters of the blocks
 * it finds (NULL: not counted).
 */
struct fph_source {
	const struct fph_walker *walker;
	u64 *pages_seen;	/* pages emitted in phase 1 */
	u64 *pages_hinted;	/* ... in CONFIRMs answered OK */
	u64 *cut;		/* fph_walk.cut of each zone walked through */
};

/* One step of @wk, its lock hold accounted. */
static bool fph_step(struct fph *fph, const struct fph_walker *wk,
		     struct fph_walk *w, struct fph_buf *b)
{
	bool room;
	u64 dt;

	room = wk->step(w, b, &dt);
	fph->st.lock_hold_max_ns = max(fph->st.lock_hold_max_ns, dt);
	return room;
}

/*
 * Whether @b, in which a step of @wk found no room, is to go out now: if
 * @wk emits sorted ranges, yes; else only if dropping repeats
 * (fph_buf_compact()) does not make room.
 */
static bool fph_buf_spent(const struct fph_walker *wk, struct fph_buf *b)
{
	if (wk->sorted)
		return true;
	fph_buf_compact(b);
	return fph_buf_full(b);
}

/* True while the pass for @epoch is worth continuing. */
static bool fph_epoch_ok(struct fph *fph, u32 epoch)
{
	u32 now;

	if (READ_ONCE(fph->stopping))
		return false;
	virtio_cread_le(fph->vdev, struct virtio_fph_config, epoch, &now);
	return now == epoch;
}

/* fph_epoch_ok() for the scan loops: reads the config only now and then. */
static bool fph_epoch_poll(struct fph *fph, u32 epoch)
{
	if (++fph->polls < FPH_EPOCH_POLL)
		return !READ_ONCE(fph->stopping);
	fph->polls = 0;
	return fph_epoch_ok(fph, epoch);
}

/* wait_event() condition: the answer arrived (*len >= 0), or give up. */
static bool fph_answered(struct fph *fph, int *len)
{
	unsigned int used;

	if (virtqueue_get_buf(fph->vq, &used)) {
		*len = used;
		return true;
	}
	return READ_ONCE(fph->stopping) || virtqueue_is_broken(fph->vq);
}

/*
 * Send the ranges in @b as one request and wait for the answer.  Returns 0
 * if the device applied it in @epoch, -EAGAIN if the epoch is over, another
 * error if the pass must stop.
 */
static int fph_request(struct fph *fph, u16 type, u32 epoch,
		       struct fph_buf *b)
{
	struct scatterlist req_sg, ranges_sg, resp_sg;
	struct scatterlist *sgs[] = { &req_sg, &ranges_sg, &resp_sg };
	struct virtio_fph_resp *resp = &fph->resp;
	int len = -1;
	u16 status;
	int err;

	fph->req = (struct virtio_fph_req) {
		.type = cpu_to_le16(type),
		.epoch = cpu_to_le32(epoch),
		.nr_ranges = cpu_to_le32(b->nr),
	};
	memset(resp, 0xff, sizeof(*resp));	/* unwritten reads as invalid */
	sg_init_one(&req_sg, &fph->req, sizeof(fph->req));
	sg_init_one(&ranges_sg, b->r, b->nr * sizeof(*b->r));
	sg_init_one(&resp_sg, resp, sizeof(*resp));

	err = virtqueue_add_sgs(fph->vq, sgs, 2, 1, fph, GFP_KERNEL);
	if (err)
		return err;
	virtqueue_kick(fph->vq);
	/*
	 * TASK_IDLE: a host that answers late is no hung task.  If we give
	 * up, the buffers stay with the device: no request goes out until it
	 * has returned them (fph_answer_late()), or until remove() or
	 * freeze() reset it.
	 */
	if (!wait_event_idle_timeout(fph->acked, fph_answered(fph, &len),
				     FPH_ANSWER_WAIT)) {
		WRITE_ONCE(fph->unanswered, true);
		fph->st.late_answers++;
		return -ETIMEDOUT;
	}
	if (len < 0)
		return READ_ONCE(fph->stopping) ? -ESHUTDOWN : -EIO;
	if ((size_t)len < sizeof(*resp))
		return -EIO;

	fph->st.rejected_ranges += le32_to_cpu(resp->nr_rejected);
	status = le16_to_cpu(resp->status);
	if (status == VIRTIO_FPH_S_STALE)
		return -EAGAIN;
	if (status != VIRTIO_FPH_S_OK) {
		dev_warn_ratelimited(&fph->vdev->dev,
				     "request type %u refused: status %u\n",
				     type, status);
		return -EIO;
	}
	if (type == VIRTIO_FPH_REQ_CANDIDATES) {
		fph->st.candidate_ranges += b->nr;
		fph->st.candidate_bytes += b->bytes;
	} else {
		fph->st.confirmed_ranges += b->nr;
		fph->st.confirmed_bytes += b->bytes;
	}
	/* Applied, but if the epoch ended meanwhile the rest is wasted. */
	return le32_to_cpu(resp->epoch) == epoch ? 0 : -EAGAIN;
}

/* Send fph->conf, if not empty; add the pages answered OK to *@pages. */
static int fph_send_confirm(struct fph *fph, u32 epoch, u64 *pages)
{
	u64 before = fph->st.confirmed_bytes;
	int err = 0;

	if (fph->conf.nr)
		err = fph_request(fph, VIRTIO_FPH_REQ_CONFIRM, epoch,
				  &fph->conf);
	if (pages)
		*pages += (fph->st.confirmed_bytes - before) >> PAGE_SHIFT;
	fph_buf_reset(&fph->conf);
	return err;
}

/*
 * Phase 2: report what is still free of the armed candidates (fph->cand),
 * which @src's walker found between @from and @to: it walks again, under
 * the same locks, where they were found (buddy: each candidate range, by
 * page flags; per-CPU: the lists they came from, for the blocks still on
 * them), and emits only what lies in them.  Dropping a lock between holds
 * is fine: each reported range was seen free after the arm and before the
 * CONFIRM is sent, which is all the rule asks.
 */
static int fph_confirm(struct fph *fph, u32 epoch,
		       const struct fph_source *src,
		       const struct fph_walk *from, const struct fph_walk *to)
{
	const struct fph_walker *wk = src->walker;
	struct fph_walk w;
	int err;

	fph_buf_reset(&fph->conf);
	wk->again(&w, from, to, &fph->cand);
	while (!wk->done(&w)) {
		if (!fph_step(fph, wk, &w, &fph->conf)) {
			if (fph_buf_spent(wk, &fph->conf)) {
				err = fph_send_confirm(fph, epoch,
						       src->pages_hinted);
				if (err)
					return err;
			}
		} else if (!fph_epoch_poll(fph, epoch)) {
			return -EAGAIN;
		}
		cond_resched();
	}
	/* What a walker that gave up emitted is not to be trusted. */
	if (wk->broken && wk->broken())
		fph_buf_reset(&fph->conf);
	if (!wk->sorted)
		fph_buf_compact(&fph->conf);
	return fph_send_confirm(fph, epoch, src->pages_hinted);
}

/*
 * debugfs hold_pass: a test holds a pass between two batches, to act while
 * a pass runs (post a reclaim result); the epoch ending or unload lets go.
 */
static void fph_hold(struct fph *fph, u32 epoch)
{
	while (READ_ONCE(fph->hold_pass) && fph_epoch_ok(fph, epoch))
		msleep(20);
}

/*
 * Both phases for the candidates collected so far, which @src's walker
 * found between @from and @to (fph_confirm()); empties fph->cand.
 */
static int fph_batch(struct fph *fph, u32 epoch, const struct fph_source *src,
		     const struct fph_walk *from, const struct fph_walk *to)
{
	int err;

	if (!fph->cand.nr)
		return 0;
	/* Sorted and disjoint, for phase 2's look-ups. */
	if (!src->walker->sorted)
		fph_buf_compact(&fph->cand);
	if (fph_epoch_ok(fph, epoch)) {
		fph->st.batches++;
		err = fph_request(fph, VIRTIO_FPH_REQ_CANDIDATES, epoch,
				  &fph->cand);
	} else {
		err = -EAGAIN;
	}
	if (!err && !fph_epoch_ok(fph, epoch))
		err = -EAGAIN;
	if (!err)
		err = fph_confirm(fph, epoch, src, from, to);
	if (err == -EAGAIN)
		fph->st.stale_batches++;
	fph_buf_reset(&fph->cand);
	if (!err)
		fph_hold(fph, epoch);
	return err;
}

/*
 * Phase 1 of @src's walker over every populated zone for @epoch: each full
 * buffer of candidates goes through both phases (fph_batch()) before the
 * walk goes on; a walker whose phase 2 walks one zone's lists again has
 * its batches end with each zone.
 */
static int fph_walker_pass(struct fph *fph, u32 epoch,
			   const struct fph_source *src,
			   unsigned int min_order)
{
	const struct fph_walker *wk = src->walker;
	struct fph_walk w = {}, from = {};
	struct zone *zone;
	int err;

	fph_buf_reset(&fph->cand);
	for (zone = fph_walk_next_zone(NULL); zone;
	     zone = fph_walk_next_zone(zone)) {
		wk->zone(&w, zone, min_order);
		/*
		 * The buddy walker's phase 2 locks one zone per candidate
		 * range: don't merge across.
		 */
		fph->cand.can_merge = false;
		while (!wk->done(&w)) {
			u64 t0, bytes = fph->cand.bytes;
			bool room;

			if (!fph->cand.nr)
				from = w;	/* where the batch begins */
			t0 = ktime_get_ns();
			room = fph_step(fph, wk, &w, &fph->cand);
			fph->st.collect_ns_total += ktime_get_ns() - t0;
			if (src->pages_seen)
				*src->pages_seen +=
					(fph->cand.bytes - bytes) >> PAGE_SHIFT;
			if (room)
				err = fph_epoch_poll(fph, epoch) ? 0 : -EAGAIN;
			else if (fph_buf_spent(wk, &fph->cand))
				err = fph_batch(fph, epoch, src, &from, &w);
			else
				err = 0;
			if (err)
				return err;
			cond_resched();
		}
		if (src->cut)
			*src->cut += w.cut;
		if (wk->batch_per_zone) {
			err = fph_batch(fph, epoch, src, &from, &w);
			if (err)
				return err;
		}
	}
	return wk->batch_per_zone ? 0 : fph_batch(fph, epoch, src, &from, &w);
}

/*
 * One pass over every populated zone for @epoch: their per-CPU lists
 * first, then their buddy lists.  After a large free the per-CPU lists
 * drain into the buddy lists over a few seconds, where the buddy walk
 * that follows still finds the pages.
 */
static int fph_pass(struct fph *fph, u32 epoch)
{
	const struct fph_source pcp = {
		.walker = &fph_pcp_walker,
		.pages_seen = &fph->st.pcp_pages_seen,
		.pages_hinted = &fph->st.pcp_pages_hinted,
		.cut = &fph->st.pcp_lists_cut,
	};
	const struct fph_source buddy = { .walker = &fph_buddy_walker };
	unsigned int min_order = READ_ONCE(fph_min_order);
	int err;

	if (fph->pcp) {
		err = fph_walker_pass(fph, epoch, &pcp, min_order);
		if (err)
			return err;
	}
	return fph_walker_pass(fph, epoch, &buddy, min_order);
}

/*
 * Whether the device still holds the request a pass left behind; if it has
 * returned it, the buffers are ours again and the epoch may be walked again.
 */
static bool fph_answer_late(struct fph *fph)
{
	unsigned int len;

	if (!READ_ONCE(fph->unanswered))
		return false;
	if (!virtqueue_get_buf(fph->vq, &len) && !virtqueue_is_broken(fph->vq))
		return true;
	WRITE_ONCE(fph->unanswered, false);
	fph->done_epoch = VIRTIO_FPH_EPOCH_NONE;
	return false;
}

static void fph_work_fn(struct work_struct *work)
{
	struct fph *fph = container_of(work, struct fph, work);
	u64 t0 = ktime_get_ns();
	bool rescan, report;
	u32 epoch;
	int err;

	if (fph->disabled || READ_ONCE(fph->stopping) || fph_answer_late(fph))
		return;
	virtio_cread_le(fph->vdev, struct virtio_fph_config, epoch, &epoch);
	fph_reclaim_poll(&fph->reclaim);
	report = fph_reclaim_take(&fph->reclaim, &rescan);
	/*
	 * One pass per epoch: the host opens a new one after each sync.  Epoch
	 * numbers start again on a migration destination, so a closed epoch
	 * forgets the last one.  Another pass in the same epoch after a
	 * reclaim: it finds the pages the reclaim freed, and only then is the
	 * result reported (the device then ends the migration's wait).
	 */
	if (epoch == VIRTIO_FPH_EPOCH_NONE) {
		fph->done_epoch = VIRTIO_FPH_EPOCH_NONE;
		goto report;
	}
	if (epoch == fph->done_epoch && !rescan)
		goto report;
	if (epoch != fph->done_epoch)
		fph->st.epochs_seen++;
	fph->done_epoch = epoch;
	fph->polls = 0;

	err = fph_pass(fph, epoch);
	if (err) {
		fph->st.aborted_passes++;
		if (err == -ETIMEDOUT)
			dev_warn_ratelimited(&fph->vdev->dev,
					     "epoch %u: no answer in %u s, pass ended; hinting goes on once the host answers\n",
					     epoch, FPH_ANSWER_WAIT / HZ);
		else if (err != -EAGAIN && err != -ESHUTDOWN)
			dev_warn_ratelimited(&fph->vdev->dev,
					     "epoch %u: pass failed: %d\n",
					     epoch, err);
	} else {
		fph->st.passes++;
	}
	fph->st.last_pass_ns = ktime_get_ns() - t0;
report:
	if (report)
		fph_reclaim_report(&fph->reclaim);
}

/* The helper posted a reclaim result: a pass finds what it freed. */
static void fph_reclaim_posted(struct fph_reclaim *rc)
{
	struct fph *fph = container_of(rc, struct fph, reclaim);

	if (!READ_ONCE(fph->stopping))
		queue_work(system_freezable_wq, &fph->work);
}

static void fph_vq_done(struct virtqueue *vq)
{
	struct fph *fph = vq->vdev->priv;

	wake_up(&fph->acked);
	/* The answer to a request the worker stopped waiting for. */
	if (READ_ONCE(fph->unanswered) && !READ_ONCE(fph->stopping))
		queue_work(system_freezable_wq, &fph->work);
}

static void fph_config_changed(struct virtio_device *vdev)
{
	struct fph *fph = vdev->priv;

	/* The core disables config callbacks before remove() and freeze(). */
	if (!fph->disabled && !READ_ONCE(fph->stopping))
		queue_work(system_freezable_wq, &fph->work);
}

static int fph_init_vq(struct fph *fph)
{
	struct virtqueue *vq;

	vq = virtio_find_single_vq(fph->vdev, fph_vq_done, "hint");
	if (IS_ERR(vq))
		return PTR_ERR(vq);
	fph->vq = vq;
	return 0;
}

/* Start (or restart after restore) hinting; the device must be ready. */
static void fph_start(struct fph *fph)
{
	WRITE_ONCE(fph->stopping, false);
	fph->done_epoch = VIRTIO_FPH_EPOCH_NONE;
	if (!fph->disabled)
		queue_work(system_freezable_wq, &fph->work);
}

/* Make the worker give up (even mid-request) and wait for it. */
static void fph_stop(struct fph *fph)
{
	WRITE_ONCE(fph->stopping, true);
	wake_up(&fph->acked);
	cancel_work_sync(&fph->work);
}

static void fph_teardown(struct fph *fph)
{
	/* After the reset the device no longer touches our buffers. */
	virtio_reset_device(fph->vdev);
	fph->vdev->config->del_vqs(fph->vdev);
	fph->unanswered = false;
}

static u32 fph_disabled_reason(void)
{
	if (page_poisoning_enabled_static())
		return FPH_DISABLED_POISON;
	if (want_init_on_free())
		return FPH_DISABLED_INIT_ON_FREE;
	return FPH_ENABLED;
}

#define FPH_STAT(name) { #name, offsetof(struct fph_stats, name) }

static const struct {
	const char *name;
	size_t offset;
} fph_stat_files[] = {
	FPH_STAT(passes),
	FPH_STAT(aborted_passes),
	FPH_STAT(epochs_seen),
	FPH_STAT(batches),
	FPH_STAT(candidate_ranges),
	FPH_STAT(candidate_bytes),
	FPH_STAT(confirmed_ranges),
	FPH_STAT(confirmed_bytes),
	FPH_STAT(rejected_ranges),
	FPH_STAT(late_answers),
	FPH_STAT(stale_batches),
	FPH_STAT(lock_hold_max_ns),
	FPH_STAT(collect_ns_total),
	FPH_STAT(last_pass_ns),
	FPH_STAT(pcp_pages_seen),
	FPH_STAT(pcp_pages_hinted),
	FPH_STAT(pcp_lists_cut),
};

static void fph_debugfs_init(struct fph *fph)
{
	unsigned int i;

	/* debugfs errors are not fatal; the helpers accept an error dentry. */
	fph->dbg = debugfs_create_dir(KBUILD_MODNAME, NULL);
	for (i = 0; i < ARRAY_SIZE(fph_stat_files); i++)
		debugfs_create_u64(fph_stat_files[i].name, 0444, fph->dbg,
				   (u64 *)((char *)&fph->st +
					   fph_stat_files[i].offset));
	debugfs_create_u32("disabled_reason", 0444, fph->dbg, &fph->disabled);
	debugfs_create_u32("epoch", 0444, fph->dbg, &fph->done_epoch);
	debugfs_create_u32("max_ranges", 0444, fph->dbg, &fph->cand.cap);
	debugfs_create_bool("hold_pass", 0600, fph->dbg, &fph->hold_pass);
	fph_reclaim_debugfs(&fph->reclaim, fph->dbg);
}

static void fph_free(struct fph *fph)
{
	fph_buf_free(&fph->cand);
	fph_buf_free(&fph->conf);
	kfree(fph);
	atomic_set(&fph_bound, 0);
}

#ifdef CONFIG_PM_SLEEP
/*
 * The freezer runs before freeze() and fails a suspend when freezable work
 * is still busy after 20 s: stop the worker before it starts, and let it go
 * again afterwards, whether or not the system slept (after a resume,
 * restore() has set the device up again).
 */
static int fph_pm_event(struct notifier_block *nb, unsigned long action,
			void *data)
{
	struct fph *fph = container_of(nb, struct fph, pm_nb);

	switch (action) {
	case PM_HIBERNATION_PREPARE:
	case PM_SUSPEND_PREPARE:
		fph_stop(fph);
		break;
	case PM_POST_HIBERNATION:
	case PM_POST_SUSPEND:
	case PM_POST_RESTORE:
		fph_start(fph);
		break;
	}
	return NOTIFY_DONE;
}

static void fph_pm_init(struct fph *fph)
{
	fph->pm_nb.notifier_call = fph_pm_event;
	if (register_pm_notifier(&fph->pm_nb))
		fph->pm_nb.notifier_call = NULL;
}

static void fph_pm_exit(struct fph *fph)
{
	if (fph->pm_nb.notifier_call)
		unregister_pm_notifier(&fph->pm_nb);
}

#else
static void fph_pm_init(struct fph *fph) { }
static void fph_pm_exit(struct fph *fph) { }
#endif

static int fph_probe(struct virtio_device *vdev)
{
	struct fph *fph;
	u32 dev_max, cap;
	int err;

	BUILD_BUG_ON(PAGE_SHIFT < VIRTIO_FPH_PAGE_SHIFT);

	if (!vdev->config->get) {
		dev_err(&vdev->dev, "config space not readable\n");
		return -EINVAL;
	}
	virtio_cread_le(vdev, struct virtio_fph_config, max_ranges, &dev_max);
	if (!dev_max) {
		dev_err(&vdev->dev, "device accepts no ranges\n");
		return -EINVAL;
	}
	if (atomic_cmpxchg(&fph_bound, 0, 1)) {
		dev_err(&vdev->dev, "another fph device is already bound\n");
		return -EBUSY;
	}
	fph = kzalloc(sizeof(*fph), GFP_KERNEL);
	if (!fph) {
		atomic_set(&fph_bound, 0);
		return -ENOMEM;
	}
	fph->vdev = vdev;
	vdev->priv = fph;
	INIT_WORK(&fph->work, fph_work_fn);
	init_waitqueue_head(&fph->acked);
	fph_reclaim_init(&fph->reclaim, vdev, fph_reclaim_posted);

	fph->disabled = fph_disabled_reason();
	if (fph->disabled == FPH_DISABLED_POISON)
		pr_warn("page poisoning is on, free-page hinting disabled; boot without page_poison=1\n");
	else if (fph->disabled == FPH_DISABLED_INIT_ON_FREE)
		pr_warn("init_on_free is on, free-page hinting disabled; boot with init_on_free=0\n");

	if (!fph->disabled) {
		cap = min3(dev_max, max(fph_max_ranges, 1U),
			   (u32)(KMALLOC_MAX_SIZE / sizeof(*fph->cand.r)));
		err = fph_buf_alloc(&fph->cand, cap);
		if (!err)
			err = fph_buf_alloc(&fph->conf, fph->cand.cap);
		if (err)
			goto err_free;
	}
	err = fph_init_vq(fph);
	if (err)
		goto err_free;
	if (!fph->disabled) {
		err = fph_pcp_init();
		if (err)
			dev_warn(&vdev->dev,
				 "cannot follow memory hotplug (%d): per-CPU lists not hinted\n",
				 err);
		fph->pcp = !err;
	}

	fph_debugfs_init(fph);
	fph_pm_init(fph);
	virtio_device_ready(vdev);
	fph_start(fph);		/* an epoch may already be open */
	return 0;

err_free:
	fph_free(fph);
	return err;
}

static void fph_remove(struct virtio_device *vdev)
{
	struct fph *fph = vdev->priv;

	fph_pm_exit(fph);
	fph_stop(fph);
	fph_teardown(fph);
	if (fph->pcp)
		fph_pcp_exit();
	debugfs_remove_recursive(fph->dbg);
	fph_free(fph);
}

#ifdef CONFIG_PM_SLEEP
static int fph_freeze(struct virtio_device *vdev)
{
	struct fph *fph = vdev->priv;

	fph_stop(fph);
	fph_teardown(fph);
	return 0;
}

static int fph_restore(struct virtio_device *vdev)
{
	struct fph *fph = vdev->priv;
	int err;

	err = fph_init_vq(fph);
	if (err)
		return err;
	virtio_device_ready(vdev);
	fph_start(fph);
	return 0;
}
#endif

/* Reclaim only helps if the freed pages are hinted. */
static int fph_validate(struct virtio_device *vdev)
{
	if (fph_disabled_reason())
		__virtio_clear_bit(vdev, VIRTIO_FPH_F_RECLAIM);
	return 0;
}

static unsigned int fph_features[] = {
	VIRTIO_FPH_F_RECLAIM,
};

static const struct virtio_device_id fph_id_table[] = {
	{ VIRTIO_ID_FPH, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, fph_id_table);

static struct virtio_driver fph_driver = {
	.driver.name = KBUILD_MODNAME,
	.driver.owner = THIS_MODULE,
	.driver.dev_groups = fph_reclaim_groups,
	.feature_table = fph_features,
	.feature_table_size = ARRAY_SIZE(fph_features),
	.id_table = fph_id_table,
	.validate = fph_validate,
	.probe = fph_probe,
	.remove = fph_remove,
	.config_changed = fph_config_changed,
#ifdef CONFIG_PM_SLEEP
	.freeze = fph_freeze,
	.restore = fph_restore,
#endif
};

module_virtio_driver(fph_driver);

MODULE_DESCRIPTION("Virtio free-page hinting for live migration");
MODULE_LICENSE("GPL");
