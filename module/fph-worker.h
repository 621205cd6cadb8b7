/*
 * fph: worker thread running hint plans against the migration filter hook
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef FPH_WORKER_H
#define FPH_WORKER_H

#include "qemu/queue.h"
#include "hw/virtio/virtio.h"
#include "fph_core.h"

/* One guest request on its way through the worker. */
typedef struct FphRequest {
    VirtQueueElement *elem;
    FphPlan *plan;
    /*
     * Main loop only: given up while with the worker (and its element
     * taken out); freed when it comes back, not answered.
     */
    bool cancelled;
    QSIMPLEQ_ENTRY(FphRequest) next;
} FphRequest;

typedef struct FphWorker FphWorker;

/*
 * Plans run on a dedicated thread because the filter hook may wait for the
 * migration thread; the main loop never blocks on it.  @done is scheduled
 * in the main loop whenever requests have completed.
 */
FphWorker *fph_worker_new(const FphHookOps *ops, void *ops_opaque,
                          QEMUBH *done);
/* Stops the thread; the owner must have drained and taken every request. */
void fph_worker_free(FphWorker *w);
void fph_worker_submit(FphWorker *w, FphRequest *req);
/* Next completed request, or NULL. */
FphRequest *fph_worker_take_done(FphWorker *w);
/* Wait until every submitted request has completed. */
void fph_worker_drain(FphWorker *w);
/* The same for at most @ms milliseconds; true if it has. */
bool fph_worker_drain_timeout(FphWorker *w, unsigned ms);
/* A submitted request has not completed yet. */
bool fph_worker_busy(FphWorker *w);

#endif
