/*
 * fph: worker thread running hint plans against the migration filter hook
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qemu/lockable.h"
#include "qemu/timer.h"
#include "fph-worker.h"

struct FphWorker {
    const FphHookOps *ops;
    void *ops_opaque;
    QEMUBH *done_bh;
    QemuThread thread;
    QemuMutex lock;
    QemuCond wake;          /* work queued or stopping */
    QemuCond idle;          /* a request completed */
    QSIMPLEQ_HEAD(, FphRequest) queued;
    QSIMPLEQ_HEAD(, FphRequest) done;
    unsigned in_flight;     /* queued + running */
    bool stopping;
};

static void *fph_worker_thread(void *opaque)
{
    FphWorker *w = opaque;
    FphRequest *req;

    /* The filter hook looks RAM blocks up under RCU. */
    rcu_register_thread();
    qemu_mutex_lock(&w->lock);
    for (;;) {
        while (QSIMPLEQ_EMPTY(&w->queued) && !w->stopping) {
            qemu_cond_wait(&w->wake, &w->lock);
        }
        if (QSIMPLEQ_EMPTY(&w->queued)) {
            break;
        }
        req = QSIMPLEQ_FIRST(&w->queued);
        QSIMPLEQ_REMOVE_HEAD(&w->queued, next);
        qemu_mutex_unlock(&w->lock);

        fph_plan_execute(req->plan, w->ops, w->ops_opaque);

        qemu_mutex_lock(&w->lock);
        QSIMPLEQ_INSERT_TAIL(&w->done, req, next);
        w->in_flight--;
        qemu_cond_broadcast(&w->idle);
        qemu_bh_schedule(w->done_bh);
    }
    qemu_mutex_unlock(&w->lock);
    rcu_unregister_thread();
    return NULL;
}

FphWorker *fph_worker_new(const FphHookOps *ops, void *ops_opaque,
                          QEMUBH *done)
{
    FphWorker *w = g_new0(FphWorker, 1);

    w->ops = ops;
    w->ops_opaque = ops_opaque;
    w->done_bh = done;
    qemu_mutex_init(&w->lock);
    qemu_cond_init(&w->wake);
    qemu_cond_init(&w->idle);
    QSIMPLEQ_INIT(&w->queued);
    QSIMPLEQ_INIT(&w->done);
    qemu_thread_create(&w->thread, "fph-worker", fph_worker_thread, w,
                       QEMU_THREAD_JOINABLE);
    return w;
}

void fph_worker_submit(FphWorker *w, FphRequest *req)
{
    QEMU_LOCK_GUARD(&w->lock);
    QSIMPLEQ_INSERT_TAIL(&w->queued, req, next);
    w->in_flight++;
    qemu_cond_signal(&w->wake);
}

FphRequest *fph_worker_take_done(FphWorker *w)
{
    FphRequest *req;

    QEMU_LOCK_GUARD(&w->lock);
    req = QSIMPLEQ_FIRST(&w->done);
    if (req) {
        QSIMPLEQ_REMOVE_HEAD(&w->done, next);
    }
    return req;
}

void fph_worker_drain(FphWorker *w)
{
    QEMU_LOCK_GUARD(&w->lock);
    while (w->in_flight) {
        qemu_cond_wait(&w->idle, &w->lock);
    }
}

bool fph_worker_drain_timeout(FphWorker *w, unsigned ms)
{
    int64_t deadline = qemu_clock_get_ms(QEMU_CLOCK_REALTIME) + ms;
    int64_t left;

    QEMU_LOCK_GUARD(&w->lock);
    while (w->in_flight) {
        left = deadline - qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
        if (left <= 0) {
            return false;
        }
        qemu_cond_timedwait(&w->idle, &w->lock, left);
    }
    return true;
}

bool fph_worker_busy(FphWorker *w)
{
    QEMU_LOCK_GUARD(&w->lock);
    return w->in_flight;
}

void fph_worker_free(FphWorker *w)
{
    WITH_QEMU_LOCK_GUARD(&w->lock) {
        w->stopping = true;
        qemu_cond_signal(&w->wake);
    }
    qemu_thread_join(&w->thread);
    /* The owner took back every request (and its virtqueue element). */
    assert(QSIMPLEQ_EMPTY(&w->queued) && QSIMPLEQ_EMPTY(&w->done));
    qemu_cond_destroy(&w->wake);
    qemu_cond_destroy(&w->idle);
    qemu_mutex_destroy(&w->lock);
    g_free(w);
}
