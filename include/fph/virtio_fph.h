/* SPDX-License-Identifier: (GPL-2.0-or-later OR BSD-3-Clause) */
/*
 * virtio free-page-hint (fph) device protocol, shared by the QEMU module
 * and the Linux guest driver.  Specified in docs/virtio-fph-spec.rst
 * (tests/unit/test_spec.py checks it against this header, the single
 * definition of the wire format).
 *
 * All fields are little-endian.  A request is one descriptor chain:
 * driver-readable struct virtio_fph_req followed by nr_ranges
 * struct virtio_fph_range, then a device-writable struct virtio_fph_resp.
 */
#ifndef VIRTIO_FPH_H
#define VIRTIO_FPH_H

#ifdef __KERNEL__
#include <linux/types.h>
typedef __le16 fph_le16;
typedef __le32 fph_le32;
typedef __le64 fph_le64;
#else
#include <stdint.h>
typedef uint16_t fph_le16;
typedef uint32_t fph_le32;
typedef uint64_t fph_le64;
#endif

/*
 * Virtio device ID.  The virtio spec does not assign 63, and Linux's
 * virtio-pci binds modern PCI device IDs 0x1040 + id only for id <= 63.
 */
#define VIRTIO_ID_FPH			63
#define VIRTIO_FPH_PCI_DEVICE_ID	(0x1040 + VIRTIO_ID_FPH)

/* Hints are in units of this page size, whatever the guest's page size. */
#define VIRTIO_FPH_PAGE_SHIFT		12
#define VIRTIO_FPH_PAGE_SIZE		(1ULL << VIRTIO_FPH_PAGE_SHIFT)

/*
 * Feature bits.  VIRTIO_FPH_F_RECLAIM: the reclaim fields of the config
 * exist; at the start of a migration the device may ask the driver to
 * reclaim clean page cache and waits (bounded) for its report.
 */
#define VIRTIO_FPH_F_RECLAIM		0

/* Epoch 0 means "no epoch open": the driver must not hint. */
#define VIRTIO_FPH_EPOCH_NONE		0

struct virtio_fph_config {
	/* Current hinting epoch, VIRTIO_FPH_EPOCH_NONE when closed (RO). */
	fph_le32 epoch;
	/* Maximum nr_ranges the device accepts in one request (RO). */
	fph_le32 max_ranges;

	/* With VIRTIO_FPH_F_RECLAIM; the device's part (RO): */
	/* Clean page cache to reclaim for request reclaim_seq, in bytes. */
	fph_le64 reclaim_bytes;
	/* Last reclaim request, 0 if none; see docs/virtio-fph-spec.rst. */
	fph_le32 reclaim_seq;
	/* How long the device waits for the report, in milliseconds. */
	fph_le32 reclaim_timeout_ms;

	/* The driver's report (written by the driver, done_seq last): */
	/* The request the report is for. */
	fph_le32 reclaim_done_seq;
	/* VIRTIO_FPH_RECLAIM_S_* */
	fph_le32 reclaim_status;
	/* Page cache bytes the guest reclaimed for it. */
	fph_le64 reclaimed_bytes;
	/* Time from the request to the report, in microseconds. */
	fph_le32 reclaim_us;
	fph_le32 reserved;
};

/* reclaim_status: what the guest did about a reclaim request. */
#define VIRTIO_FPH_RECLAIM_S_OK		0	/* done; less if no more clean cache */
#define VIRTIO_FPH_RECLAIM_S_UNSUPPORTED 1	/* kernel has no cgroup v2 memory.reclaim */
#define VIRTIO_FPH_RECLAIM_S_WOULD_SWAP	2	/* cannot keep it off anon memory: not done */
#define VIRTIO_FPH_RECLAIM_S_FAILED	3	/* the reclaim failed otherwise */
#define VIRTIO_FPH_RECLAIM_S_NO_HELPER	4	/* no reclaim helper installed */
#define VIRTIO_FPH_RECLAIM_S_MAX	4

/* Request types. */
#define VIRTIO_FPH_REQ_CANDIDATES	1	/* phase 1: arm these ranges */
#define VIRTIO_FPH_REQ_CONFIRM		2	/* phase 2: skip these ranges */

struct virtio_fph_req {
	fph_le16 type;
	fph_le16 reserved;	/* must be zero */
	fph_le32 epoch;		/* epoch the driver read from config */
	fph_le32 nr_ranges;
	fph_le32 reserved2;	/* must be zero */
};

/* A guest-physical byte range; addr and len are VIRTIO_FPH_PAGE_SIZE aligned. */
struct virtio_fph_range {
	fph_le64 addr;
	fph_le64 len;
};

/* Response status. */
#define VIRTIO_FPH_S_OK		0	/* request applied (see nr_done) */
/*
 * The epoch is over: no range was armed; for CONFIRM, skips done before
 * the epoch closed stand and are counted in nr_done.  Also the answer
 * when the epoch is open but the device's budget for it is spent (the
 * device takes no more hints in this epoch): to the driver both mean the
 * same, the end of its epoch.
 */
#define VIRTIO_FPH_S_STALE	1
/* Malformed request, or the device could not process it: nothing done. */
#define VIRTIO_FPH_S_INVALID	2

struct virtio_fph_resp {
	fph_le16 status;
	fph_le16 reserved;
	fph_le32 epoch;		/* device's current epoch when it completed */
	fph_le32 nr_done;	/* ranges armed (CANDIDATES) or skipped (CONFIRM) */
	fph_le32 nr_rejected;	/* ranges dropped by validation */
};

#endif /* VIRTIO_FPH_H */
