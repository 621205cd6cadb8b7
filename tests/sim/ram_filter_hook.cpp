// SPDX-License-Identifier: GPL-2.0-or-later
#include "ram_filter_hook.hpp"

#include <cerrno>

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

bool RamFilterHook::is_ram(const FphRamRange& r) const
{
    // Aligned, non-empty, inside the one RAM block.
    const std::uint64_t ram_bytes = ram_.pages() * kPageSize;
    return r.len && !((r.addr | r.len) & (kPageSize - 1)) && r.addr + r.len >= r.addr &&
           r.addr + r.len <= ram_bytes;
}

void RamFilterHook::apply_one(const FphRamRange& r, bool skip, std::uint64_t* pages)
{
    const Pfn start = r.addr >> kPageShift;
    const Pfn n = r.len >> kPageShift;
    if (!skip) {
        trace_.log("hook",
                   flags_.fused_arm_skip ? "arm+skip (fused, upstream)"
                   : flags_.arm_is_noop  ? "arm (no-op)"
                                         : "arm",
                   " pfn ", start, "+", n);
    }
    std::uint64_t done = 0;
    if (skip) {
        ram_.skip_range(start, n, &done);
        stats_.pages_skipped += done;
        trace_.log("hook", "skip pfn ", start, "+", n, ": ", done, " were still to send");
    } else if (flags_.fused_arm_skip) {
        std::uint64_t skipped = 0;
        ram_.upstream_free_page_hint(start, n, &skipped);
        stats_.pages_skipped += skipped;
        done = n;
    } else if (flags_.arm_is_noop) {
        done = n;
    } else {
        ram_.arm_range(start, n, &done);
        stats_.pages_armed += done;
    }
    *pages += done;
}

int RamFilterHook::op(std::uint64_t epoch, const FphRamRange* ranges, std::size_t n, bool skip,
                      std::uint64_t* pages)
{
    if ((!open_ || epoch != epoch_) && !flags_.ignore_epoch_gate) {
        ++stats_.refused_stale;
        trace_.log("hook", skip ? "skip" : "arm", " of ", n, " ranges for epoch ", epoch,
                   ": -ESTALE (current ", epoch_, open_ ? "" : ", closed", ")");
        return -ESTALE;
    }
    if (!open_ || epoch != epoch_) {
        trace_.log("hook", "epoch gate ignored: applying epoch ", epoch, " in ",
                   open_ ? "epoch " : "closed epoch ", epoch_);
    }
    // ram_filter_prepare(): a batch with any range that is not guest RAM
    // is refused whole, so the core never counts as armed what was not.
    for (std::size_t i = 0; i < n; ++i) {
        if (!is_ram(ranges[i])) {
            ++stats_.refused_invalid;
            return -EINVAL;
        }
    }
    std::uint64_t done = 0;
    for (std::size_t i = 0; i < n; ++i) {
        apply_one(ranges[i], skip, &done);
    }
    if (pages) {
        *pages = done;
    }
    return 0;
}

int RamFilterHook::arm(std::uint64_t epoch, const FphRamRange* ranges, std::size_t n)
{
    return op(epoch, ranges, n, false, nullptr);
}

int RamFilterHook::skip(std::uint64_t epoch, const FphRamRange* ranges, std::size_t n,
                        std::uint64_t* pages)
{
    return op(epoch, ranges, n, true, pages);
}

namespace {

int hook_arm(void* opaque, std::uint64_t token, const FphRamRange* ranges, std::size_t n)
{
    return static_cast<RamFilterHook*>(opaque)->arm(token, ranges, n);
}

int hook_skip(void* opaque, std::uint64_t token, const FphRamRange* ranges, std::size_t n,
              std::uint64_t* pages_skipped)
{
    return static_cast<RamFilterHook*>(opaque)->skip(token, ranges, n, pages_skipped);
}

FphHookOps make_ops()
{
    FphHookOps ops{};  // unset members stay null, whatever the core adds
    ops.arm_batch = hook_arm;
    ops.skip_batch = hook_skip;
    return ops;
}

const FphHookOps kOps = make_ops();

}  // namespace

const FphHookOps* RamFilterHook::ops()
{
    return &kOps;
}

}  // namespace fph_sim
