// SPDX-License-Identifier: GPL-2.0-only
/*
 * Page-cache reclaim requests (VIRTIO_FPH_F_RECLAIM).
 *
 * At the start of a migration the device may ask for up to reclaim_bytes of
 * clean page cache to be dropped, and holds the migration's bulk round
 * until the report (bounded by reclaim_timeout_ms), so that the pages freed
 * are hinted before they are sent.  The kernel exports no reclaim entry
 * point to modules; its proactive reclaim, cgroup v2 memory.reclaim, is a
 * file.  So the policy stays in user space: the request goes out as a
 * KOBJ_CHANGE uevent (FPH_RECLAIM=<seq>), the shipped udev rule starts
 * the fph-reclaim helper, which reads reclaim_request, writes
 * memory.reclaim (file pages only: swappiness=0, or no swap on kernels
 * before 6.10) and posts reclaim_result.  The driver then makes another
 * hinting pass in the same epoch, which finds the freed pages, and only
 * then reports to the device, which ends the hold.  Without a helper
 * (reclaim_helper never written, e.g. no udev rule) the driver reports
 * NO_HELPER at once.  See docs/design.rst, "Page-cache reclaim".
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/kobject.h>
#include <linux/ktime.h>
#include <linux/sysfs.h>
#include <linux/virtio_config.h>

#include <fph/virtio_fph.h>

#include "fph_names.h"
#include "fph_reclaim.h"

/*
 * reclaim_result's status names, by VIRTIO_FPH_RECLAIM_S_*: the sysfs ABI,
 * from include/fph/names.toml (fph_names.h is generated).
 */
#define FPH_STATUS_NAME(up, low, key) \
	[VIRTIO_FPH_RECLAIM_S_##up] = key,
static const char *const fph_reclaim_status_names[] = {
	FPH_RECLAIM_GUEST_STATUSES(FPH_STATUS_NAME)
};

#undef FPH_STATUS_NAME

static_assert(ARRAY_SIZE(fph_reclaim_status_names) ==
	      VIRTIO_FPH_RECLAIM_S_MAX + 1);

/* Why a request was not carried out, and the fix (fph_names.h). */
#define FPH_STATUS(up) VIRTIO_FPH_RECLAIM_S_##up
static const char *const fph_reclaim_advice[VIRTIO_FPH_RECLAIM_S_MAX + 1] = {
	FPH_RECLAIM_GUEST_ADVICE_TABLE(FPH_STATUS)
};

#undef FPH_STATUS

static void fph_reclaim_warn(struct device *dev, u32 seq, u32 status)
{
	const char *advice = NULL;

	if (status < ARRAY_SIZE(fph_reclaim_advice))
		advice = fph_reclaim_advice[status];
	if (!advice)
		advice = FPH_RECLAIM_ADVICE_FAILED;
	dev_warn(dev, "reclaim %u not done: %s\n", seq, advice);
}

void fph_reclaim_init(struct fph_reclaim *rc, struct virtio_device *vdev,
		      void (*posted)(struct fph_reclaim *rc))
{
	rc->vdev = vdev;
	rc->posted = posted;
	mutex_init(&rc->lock);
	dev_set_drvdata(&vdev->dev, rc);
}

/*
 * The bound driver's fph_reclaim (fph_reclaim_init()); NULL if the feature
 * was not negotiated.
 */
static struct fph_reclaim *fph_reclaim_of(struct device *dev)
{
	struct virtio_device *vdev = dev_to_virtio(dev);

	return virtio_has_feature(vdev, VIRTIO_FPH_F_RECLAIM) ?
	       dev_get_drvdata(dev) : NULL;
}

static void fph_reclaim_set_result(struct fph_reclaim *rc, u32 status,
				   u64 bytes)
{
	lockdep_assert_held(&rc->lock);
	rc->status = status;
	rc->reclaimed = bytes;
	rc->result = true;
}

bool fph_reclaim_take(struct fph_reclaim *rc, bool *rescan)
{
	bool ready;

	/*
	 * Both under the lock the result is posted under: a result seen here
	 * has its pass still to come (*rescan) or had it in an earlier call;
	 * one posted later sets rescan again and is not reported before the
	 * pass that follows it.
	 */
	mutex_lock(&rc->lock);
	*rescan = rc->rescan;
	rc->rescan = false;
	ready = rc->result;
	mutex_unlock(&rc->lock);
	return ready;
}

void fph_reclaim_poll(struct fph_reclaim *rc)
{
	char env_seq[32], env_bytes[40];
	char *envp[3];
	bool sent = false;
	u32 seq;

	if (!virtio_has_feature(rc->vdev, VIRTIO_FPH_F_RECLAIM))
		return;
	virtio_cread_le(rc->vdev, struct virtio_fph_config, reclaim_seq, &seq);
	mutex_lock(&rc->lock);
	/*
	 * 0: no request (yet).  The device carries the number over to a
	 * migration destination, so a new one is new to us.
	 */
	if (!seq || seq == rc->seen_seq)
		goto out;
	rc->seen_seq = seq;
	rc->seq = seq;
	virtio_cread_le(rc->vdev, struct virtio_fph_config, reclaim_bytes,
			&rc->bytes);
	virtio_cread_le(rc->vdev, struct virtio_fph_config, reclaim_timeout_ms,
			&rc->timeout_ms);
	rc->asked_ns = ktime_get_ns();
	rc->result = false;
	rc->requests++;
	if (!rc->helper) {
		fph_reclaim_set_result(rc, VIRTIO_FPH_RECLAIM_S_NO_HELPER, 0);
		goto out;
	}
	snprintf(env_seq, sizeof(env_seq), "FPH_RECLAIM=%u", seq);
	snprintf(env_bytes, sizeof(env_bytes), "FPH_RECLAIM_BYTES=%llu",
		 rc->bytes);
	envp[0] = env_seq;
	envp[1] = env_bytes;
	envp[2] = NULL;
	sent = true;
out:
	mutex_unlock(&rc->lock);
	if (sent && kobject_uevent_env(&rc->vdev->dev.kobj, KOBJ_CHANGE, envp)) {
		mutex_lock(&rc->lock);
		fph_reclaim_set_result(rc, VIRTIO_FPH_RECLAIM_S_FAILED, 0);
		mutex_unlock(&rc->lock);
	}
}

void fph_reclaim_report(struct fph_reclaim *rc)
{
	struct virtio_device *vdev = rc->vdev;
	u32 seq, status, us;
	u64 bytes;

	mutex_lock(&rc->lock);
	if (!rc->result) {
		mutex_unlock(&rc->lock);
		return;
	}
	rc->result = false;
	seq = rc->seq;
	rc->seq = 0;
	status = rc->status;
	bytes = rc->reclaimed;
	us = min_t(u64, div_u64(ktime_get_ns() - rc->asked_ns, NSEC_PER_USEC),
		   U32_MAX);
	rc->reclaimed_total += bytes;
	rc->last_us = us;
	rc->last_status = status;
	mutex_unlock(&rc->lock);

	/* The device reads the report when done_seq changes: write it last. */
	virtio_cwrite_le(vdev, struct virtio_fph_config, reclaim_status, &status);
	virtio_cwrite_le(vdev, struct virtio_fph_config, reclaimed_bytes, &bytes);
	virtio_cwrite_le(vdev, struct virtio_fph_config, reclaim_us, &us);
	virtio_cwrite_le(vdev, struct virtio_fph_config, reclaim_done_seq, &seq);

	if (status == VIRTIO_FPH_RECLAIM_S_OK)
		dev_info(&vdev->dev, "reclaim %u: %llu MiB of page cache in %u ms\n",
			 seq, bytes >> 20, us / 1000);
	else
		fph_reclaim_warn(&vdev->dev, seq, status);
}

void fph_reclaim_debugfs(struct fph_reclaim *rc, struct dentry *dir)
{
	debugfs_create_u64("reclaim_requests", 0444, dir, &rc->requests);
	debugfs_create_u64("reclaimed_bytes", 0444, dir, &rc->reclaimed_total);
	debugfs_create_u64("reclaim_last_us", 0444, dir, &rc->last_us);
	debugfs_create_u32("reclaim_last_status", 0444, dir, &rc->last_status);
}

/* "1": a helper will carry out requests (the udev rule, at bind). */
static ssize_t reclaim_helper_store(struct device *dev,
				    struct device_attribute *attr,
				    const char *buf, size_t count)
{
	struct fph_reclaim *rc = fph_reclaim_of(dev);
	bool on;
	int err;

	if (!rc)
		return -EOPNOTSUPP;
	err = kstrtobool(buf, &on);
	if (err)
		return err;
	mutex_lock(&rc->lock);
	rc->helper = on;
	mutex_unlock(&rc->lock);
	return count;
}

static ssize_t reclaim_helper_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct fph_reclaim *rc = fph_reclaim_of(dev);

	return sysfs_emit(buf, "%d\n", rc ? rc->helper : 0);
}
static DEVICE_ATTR_RW(reclaim_helper);

/* "<seq> <bytes> <timeout_ms>" of the request out, "0 0 0" if none. */
static ssize_t reclaim_request_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct fph_reclaim *rc = fph_reclaim_of(dev);
	ssize_t n;

	if (!rc)
		return -EOPNOTSUPP;
	mutex_lock(&rc->lock);
	if (rc->seq && !rc->result)
		n = sysfs_emit(buf, "%u %llu %u\n", rc->seq, rc->bytes,
			       rc->timeout_ms);
	else
		n = sysfs_emit(buf, "0 0 0\n");
	mutex_unlock(&rc->lock);
	return n;
}
static DEVICE_ATTR_RO(reclaim_request);

/* "<seq> <bytes reclaimed> <status name>", for the request out. */
static ssize_t reclaim_result_store(struct device *dev,
				    struct device_attribute *attr,
				    const char *buf, size_t count)
{
	struct fph_reclaim *rc = fph_reclaim_of(dev);
	char name[16];
	u32 seq;
	u64 bytes;
	int status;

	if (!rc)
		return -EOPNOTSUPP;
	if (sscanf(buf, "%u %llu %15s", &seq, &bytes, name) != 3)
		return -EINVAL;
	status = sysfs_match_string(fph_reclaim_status_names, name);
	if (status < 0)
		return status;
	mutex_lock(&rc->lock);
	if (!seq || seq != rc->seq || rc->result) {
		mutex_unlock(&rc->lock);
		return -ESTALE;
	}
	fph_reclaim_set_result(rc, status, bytes);
	rc->rescan = true;	/* what the helper freed is to be hinted */
	mutex_unlock(&rc->lock);
	rc->posted(rc);
	return count;
}
static DEVICE_ATTR_WO(reclaim_result);

static struct attribute *fph_reclaim_attrs[] = {
	&dev_attr_reclaim_helper.attr,
	&dev_attr_reclaim_request.attr,
	&dev_attr_reclaim_result.attr,
	NULL,
};

/* Only with the feature: the udev rule tests for reclaim_helper. */
static umode_t fph_reclaim_attr_visible(struct kobject *kobj,
					struct attribute *attr, int n)
{
	struct device *dev = kobj_to_dev(kobj);

	return fph_reclaim_of(dev) ? attr->mode : 0;
}

static const struct attribute_group fph_reclaim_group = {
	.attrs = fph_reclaim_attrs,
	.is_visible = fph_reclaim_attr_visible,
};

const struct attribute_group *fph_reclaim_groups[] = {
	&fph_reclaim_group,
	NULL,
};
