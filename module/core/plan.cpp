// SPDX-License-Identifier: GPL-2.0-or-later
#include "plan.hpp"

#include <algorithm>

namespace fph {

void Plan::add_work(const Range& r, std::uint32_t group)
{
    work.push_back(FphRamRange{r.addr, r.len});
    work_group.push_back(group);
    work_rc.push_back(kNotRun);
}

std::uint64_t Plan::work_pages() const noexcept
{
    std::uint64_t pages = 0;
    for (const FphRamRange& w : work) {
        pages += w.len / kPageSize;
    }
    return pages;
}

void Plan::execute(const FphHookOps* ops, void* opaque) noexcept
{
    if (work.empty()) {
        return;  // also keeps the shared out-of-memory plan read-only
    }
    if (!ops) {
        std::fill(work_rc.begin(), work_rc.end(), -ENOSYS);
        return;
    }
    const bool batch =
        kind == Kind::Candidates ? ops->arm_batch != nullptr : ops->skip_batch != nullptr;
    if (batch) {
        execute_batch(*ops, opaque);
    } else {
        execute_each(*ops, opaque);
    }
}

void Plan::execute_each(const FphHookOps& ops, void* opaque) noexcept
{
    for (std::size_t i = 0; i < work.size(); ++i) {
        const FphRamRange& w = work[i];
        int rc;
        if (kind == Kind::Candidates) {
            rc = ops.arm ? ops.arm(opaque, token, w.addr, w.len) : -ENOSYS;
        } else {
            std::uint64_t skipped = 0;
            rc = ops.skip ? ops.skip(opaque, token, w.addr, w.len, &skipped) : -ENOSYS;
            if (rc == 0) {
                // Never trust the backend to report more than the range holds.
                pages_skipped += std::min(skipped, w.len / kPageSize);
            }
        }
        work_rc[i] = rc;
        if (rc == -ESTALE) {
            break;
        }
    }
}

void Plan::execute_batch(const FphHookOps& ops, void* opaque) noexcept
{
    int rc;
    if (kind == Kind::Candidates) {
        rc = ops.arm_batch(opaque, token, work.data(), work.size());
    } else {
        std::uint64_t skipped = 0;
        rc = ops.skip_batch(opaque, token, work.data(), work.size(), &skipped);
        if (rc == 0) {
            pages_skipped = std::min(skipped, work_pages());
        }
    }
    // All or nothing by contract; any other error also fails every item.
    std::fill(work_rc.begin(), work_rc.end(), rc);
}

}  // namespace fph
