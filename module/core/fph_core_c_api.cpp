// SPDX-License-Identifier: GPL-2.0-or-later
// The C ABI of fph_core.h.  Owns the handle lifetimes (the only new/delete
// in the core) and stops every exception here: the caller is C.
#include <new>
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

namespace {

// Returned when a plan cannot be allocated, so fph_core_parse never fails.
// It has no work, so execute/complete only read it; never deleted.
FphPlan g_oom_plan{fph::Plan::rejected(VIRTIO_FPH_S_INVALID)};

void destroy_plan(FphPlan* plan) noexcept
{
    if (plan != &g_oom_plan) {
        delete plan;
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
    const std::span<const std::uint8_t> bytes{static_cast<const std::uint8_t*>(req), req ? len : 0};
    try {
        // Parse before allocating the handle so the request is always counted.
        fph::Plan plan = core->core.parse(bytes);
        return new FphPlan{std::move(plan)};
    } catch (const std::bad_alloc&) {
        core->core.note_alloc_failure();
        return &g_oom_plan;
    }
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
