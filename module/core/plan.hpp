// SPDX-License-Identifier: GPL-2.0-or-later
// The validated work for one request, and its execution against a backend.
// A plan is self-contained (no pointer back to the core) so it can be
// executed on a worker thread while the core keeps running.
#pragma once

#include <array>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "fph_core.h"
#include "range.hpp"

namespace fph {

// Result code of a work item that was never executed.
inline constexpr int kNotRun = -ECANCELED;

using RejectCounts = std::array<std::uint32_t, FPH_REJECT__MAX>;

struct Plan {
    enum class Kind { Rejected, Candidates, Confirm };

    Kind kind = Kind::Rejected;
    // For Kind::Rejected: VIRTIO_FPH_S_INVALID or VIRTIO_FPH_S_STALE.
    std::uint16_t reject_status = VIRTIO_FPH_S_INVALID;
    // Epoch the plan was made in (EpochState::number) and its token.
    std::uint64_t epoch = 0;
    std::uint64_t token = 0;
    // Input ranges dropped entirely at parse time, and why (per range).
    std::uint32_t nr_rejected = 0;
    RejectCounts rejects{};
    // Number of input ranges merged into each group.  An input range counts
    // as done when every work item of its group succeeded.
    std::vector<std::uint32_t> group_sources;

    // Work items as parallel arrays: `work` is contiguous FphRamRange so the
    // batch hooks get it as is, and all storage exists before execute(),
    // which therefore never allocates.
    std::vector<FphRamRange> work;
    std::vector<std::uint32_t> work_group;
    std::vector<int> work_rc;
    // Pages the backend reported skipped by successful skips.
    std::uint64_t pages_skipped = 0;

    static Plan rejected(std::uint16_t status) noexcept
    {
        Plan p;
        p.reject_status = status;
        return p;
    }

    // May throw std::bad_alloc.
    void add_work(const Range& r, std::uint32_t group);
    std::uint64_t work_pages() const noexcept;

    // Runs arm (Candidates) or skip (Confirm) on the work: one batch call if
    // the backend has one, else one call per item, stopping at the first
    // -ESTALE (the backend epoch is over; it would refuse the rest too).
    // Touches nothing but *this.
    void execute(const FphHookOps* ops, void* opaque) noexcept;

private:
    void execute_each(const FphHookOps& ops, void* opaque) noexcept;
    void execute_batch(const FphHookOps& ops, void* opaque) noexcept;
};

}  // namespace fph
