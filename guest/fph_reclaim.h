/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Page-cache reclaim requests (VIRTIO_FPH_F_RECLAIM), carried out by a
 * user-space helper: the driver passes the request on as a uevent and
 * hands the helper's result back to the device.
 */
#ifndef FPH_RECLAIM_H
#define FPH_RECLAIM_H

#include <linux/device.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/virtio.h>

struct fph_reclaim {
	struct virtio_device *vdev;
	void (*posted)(struct fph_reclaim *rc);	/* fph_reclaim_init() */
	struct mutex lock;	/* the fields below */
	bool helper;		/* a helper declared itself (reclaim_helper) */
	u32 seen_seq;		/* last request taken */
	u32 seq;		/* request out to the helper, 0 if none */
	u64 bytes;
	u32 timeout_ms;
	u64 asked_ns;		/* when it went out */
	bool result;		/* the helper's result waits to be reported */
	bool rescan;		/* ... and the pass that finds its pages */
	u32 status;		/* VIRTIO_FPH_RECLAIM_S_* */
	u64 reclaimed;
	/* debugfs */
	u64 requests;
	u64 reclaimed_total;
	u64 last_us;
	u32 last_status;
};

/*
 * At probe: @rc becomes @vdev's driver data, where the sysfs files
 * (fph_reclaim_groups) find it while the driver is bound.  @posted is
 * called when the helper has posted a result: the driver runs its worker,
 * which makes a pass, then reports (fph_reclaim_take(),
 * fph_reclaim_report()).
 */
void fph_reclaim_init(struct fph_reclaim *rc, struct virtio_device *vdev,
		      void (*posted)(struct fph_reclaim *rc));
/*
 * From the driver's worker, on a config change: take a new request, if
 * any, and pass it to the helper.
 */
void fph_reclaim_poll(struct fph_reclaim *rc);
/*
 * From the worker, before it decides on a pass: whether a result posted
 * since the last call asks for another pass (*@rescan), and whether a
 * result waits whose pass this is (the return value: report it after the
 * pass).  A result posted while the pass runs is the next one's.
 */
bool fph_reclaim_take(struct fph_reclaim *rc, bool *rescan);
/* From the worker, after the pass fph_reclaim_take() allowed it for. */
void fph_reclaim_report(struct fph_reclaim *rc);
void fph_reclaim_debugfs(struct fph_reclaim *rc, struct dentry *dir);

/* The helper's sysfs interface (driver dev_groups). */
extern const struct attribute_group *fph_reclaim_groups[];

#endif /* FPH_RECLAIM_H */
