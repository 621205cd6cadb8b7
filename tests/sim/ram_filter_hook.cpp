// SPDX-License-Identifier: GPL-2.0-or-later
#include "ram_filter_hook.hpp"

#include <cerrno>
#include <string>

namespace fph_sim {

void RamFilterHook::epoch_begin()
{
    open_ = true;
    ++epoch_;
    ++stats_.epochs;
    trace_.log("hook", "epoch ", epoch_, " opens");
    if (listener_.epoch_begin) {
        listener_.epoch_begin(epoch_);
    }
}

void RamFilterHook::epoch_end()
{
    if (!open_) {
        return;
    }
    open_ = false;
    trace_.log("hook", "epoch ", epoch_, " closes");
    if (listener_.epoch_end) {
        listener_.epoch_end();
    }
}

int RamFilterHook::op(std::uint64_t epoch, std::uint64_t addr, std::uint64_t len, bool skip,
                      std::uint64_t* pages)
{
    const char* what = skip ? "skip" : "arm";
    if ((!open_ || epoch != epoch_) && !flags_.ignore_epoch_gate) {
        ++stats_.refused_stale;
        trace_.log("hook", what, " pfn ", addr >> kPageShift, "+", len >> kPageShift, " epoch ", epoch,
                   ": -ESTALE (current ", epoch_, open_ ? "" : ", closed", ")");
        return -ESTALE;
    }
    // ram_filter_find_block(): aligned, non-empty, inside the one block.
    const std::uint64_t ram_bytes = ram_.pages() * kPageSize;
    if (!len || ((addr | len) & (kPageSize - 1)) || addr + len < addr || addr + len > ram_bytes) {
        ++stats_.refused_invalid;
        return -EINVAL;
    }
    const Pfn start = addr >> kPageShift;
    const Pfn n = len >> kPageShift;
    std::uint64_t done = 0;
    if (skip) {
        ram_.skip_range(start, n, &done);
        stats_.pages_skipped += done;
    } else if (flags_.fused_arm_skip) {
        ram_.upstream_free_page_hint(start, n, &done);
        stats_.pages_skipped += done;
        done = n;
    } else if (flags_.arm_is_noop) {
        done = n;
    } else {
        ram_.arm_range(start, n, &done);
        stats_.pages_armed += done;
    }
    if (trace_.on()) {
        trace_.log("hook", what, flags_.fused_arm_skip && !skip ? "+skip (fused)" : "", " pfn ", start, "+",
                   n, " epoch ", epoch, skip ? ": skipped " : ": ok", skip ? std::to_string(done) : "");
    }
    if (pages) {
        *pages = done;
    }
    return 0;
}

int RamFilterHook::arm(std::uint64_t epoch, std::uint64_t addr, std::uint64_t len)
{
    return op(epoch, addr, len, false, nullptr);
}

int RamFilterHook::skip(std::uint64_t epoch, std::uint64_t addr, std::uint64_t len, std::uint64_t* pages)
{
    return op(epoch, addr, len, true, pages);
}

namespace {

int hook_arm(void* opaque, std::uint64_t token, std::uint64_t addr, std::uint64_t len)
{
    return static_cast<RamFilterHook*>(opaque)->arm(token, addr, len);
}

int hook_skip(void* opaque, std::uint64_t token, std::uint64_t addr, std::uint64_t len,
              std::uint64_t* pages_skipped)
{
    return static_cast<RamFilterHook*>(opaque)->skip(token, addr, len, pages_skipped);
}

constexpr FphHookOps kOps{hook_arm, hook_skip};

}  // namespace

const FphHookOps* RamFilterHook::ops()
{
    return &kOps;
}

}  // namespace fph_sim
