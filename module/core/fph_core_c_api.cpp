// SPDX-License-Identifier: GPL-2.0-or-later
// The C ABI of fph_core.h.  Owns the handle lifetimes (the only new/delete
// in the core) and stops every exception here: the caller is C.
#include <new>
#include <optional>
#include <span>
#include <utility>

#include "core.hpp"
#include "fph_core.h"
#include "plan.hpp"

struct FphCore {
    fph::Core core;
};

struct FphPlan {
    fph::Plan plan;
};

struct FphPlanning {
    std::optional<fph::Planning> planning;  // none: out of memory
};

namespace {

// Returned when a plan cannot be allocated, so fph_core_parse never fails.
// It has no work, so execute/complete only read it; never deleted.
FphPlan g_oom_plan{fph::Plan::rejected(VIRTIO_FPH_S_INVALID)};

// Returned when a planning cannot be allocated: planned, it is the plan
// above.  Never deleted, never changed.
FphPlanning g_oom_planning;

void destroy_plan(FphPlan* plan) noexcept
{
    if (plan != &g_oom_plan) {
        delete plan;
    }
}

void destroy_planning(FphPlanning* planning) noexcept
{
    if (planning != &g_oom_planning) {
        delete planning;
    }
}

}  // namespace

extern "C" {

FphCore* fph_core_new(uint32_t max_ranges)
{
    return new (std::nothrow) FphCore{fph::Core{max_ranges}};
}

void fph_core_free(FphCore* core)
{
    delete core;
}

void fph_core_set_ram(FphCore* core, const FphRamRange* ranges, size_t n)
{
    try {
        core->core.set_ram(std::span<const FphRamRange>{ranges, ranges ? n : 0});
    } catch (const std::bad_alloc&) {
        // set_ram left the RAM map empty: every range is rejected, which is safe.
    }
}

uint32_t fph_core_epoch_begin(FphCore* core, uint64_t token)
{
    return core->core.epoch_begin(token);
}

void fph_core_epoch_end(FphCore* core)
{
    core->core.epoch_end();
}

uint32_t fph_core_epoch(const FphCore* core)
{
    return core->core.epoch();
}

uint32_t fph_core_max_ranges(const FphCore* core)
{
    return core->core.max_ranges();
}

FphPlan* fph_core_parse(FphCore* core, const void* req, size_t len)
{
    FphPlanning* planning = fph_core_plan_begin(core, req, len);
    FphPlan* plan;

    do {
        uint32_t budget = UINT32_MAX;
        plan = fph_core_plan_step(core, planning, &budget);
    } while (!plan);
    return plan;
}

FphPlanning* fph_core_plan_begin(FphCore* core, const void* req, size_t len)
{
    const std::span<const std::uint8_t> bytes{static_cast<const std::uint8_t*>(req), req ? len : 0};
    try {
        return new FphPlanning{core->core.begin(bytes)};
    } catch (const std::bad_alloc&) {
        return &g_oom_planning;  // counted when planned or dropped
    }
}

FphPlan* fph_core_plan_step(FphCore* core, FphPlanning* planning, uint32_t* budget)
{
    if (!planning->planning) {
        core->core.note_failed_request();
        return &g_oom_plan;
    }
    try {
        fph::SliceBudget slice(*budget);
        const bool done = core->core.step(*planning->planning, slice);
        *budget = static_cast<uint32_t>(slice.steps_left());
        if (!done) {
            return nullptr;
        }
        // The handle before the plan, which counts the request.
        FphPlan* plan = new FphPlan{};
        plan->plan = core->core.finish(std::move(*planning->planning));
        destroy_planning(planning);
        return plan;
    } catch (const std::bad_alloc&) {
        core->core.note_failed_request();
        destroy_planning(planning);
        return &g_oom_plan;
    }
}

void fph_core_plan_drop(FphCore* core, FphPlanning* planning, bool requeued)
{
    if (planning->planning) {
        core->core.drop(std::move(*planning->planning),
                        requeued ? fph::Drop::Requeued : fph::Drop::Unanswered);
    } else if (!requeued) {
        core->core.note_failed_request();
    }
    destroy_planning(planning);
}

void fph_plan_execute(FphPlan* plan, const FphHookOps* ops, void* opaque)
{
    plan->plan.execute(ops, opaque);
}

void fph_core_complete(FphCore* core, FphPlan* plan, struct virtio_fph_resp* resp)
{
    const fph::Response r = core->core.complete(plan->plan);
    if (resp) {
        fph::encode_response(r, resp);
    }
    destroy_plan(plan);
}

void fph_plan_free(FphPlan* plan)
{
    if (plan) {
        destroy_plan(plan);
    }
}

bool fph_plan_has_work(const FphPlan* plan)
{
    return !plan->plan.work.empty();
}

void fph_core_get_stats(const FphCore* core, FphStats* stats)
{
    *stats = core->core.stats();
}

FphReclaimResult fph_core_reclaim_begin(FphCore* core, uint64_t bytes, uint32_t timeout_ms,
                                        bool negotiated, uint64_t now_ms)
{
    return core->core.reclaim().begin(bytes, timeout_ms, negotiated, now_ms);
}

bool fph_core_reclaim_write(FphCore* core, const struct virtio_fph_config* config, uint64_t now_ms)
{
    return core->core.reclaim().write(fph::ReclaimReport::decode(*config), now_ms);
}

void fph_core_reclaim_end(FphCore* core, FphReclaimResult why, uint64_t now_ms)
{
    core->core.reclaim().end(why, now_ms);
}

bool fph_core_reclaim_pending(const FphCore* core)
{
    return core->core.reclaim().pending();
}

uint32_t fph_core_reclaim_seq(const FphCore* core)
{
    return core->core.reclaim().seq();
}

void fph_core_reclaim_set_seq(FphCore* core, uint32_t seq)
{
    core->core.reclaim().set_seq(seq);
}

void fph_core_reclaim_config(const FphCore* core, struct virtio_fph_config* config)
{
    core->core.reclaim().fill_config(config);
}

void fph_core_get_reclaim_stats(const FphCore* core, FphReclaimStats* stats)
{
    *stats = core->core.reclaim().stats();
}

}  // extern "C"
