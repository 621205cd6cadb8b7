// SPDX-License-Identifier: GPL-2.0-or-later
#include "plan.hpp"

#include <algorithm>

namespace fph {

void Plan::execute(const FphHookOps* ops, void* opaque) noexcept
{
    for (WorkItem& w : work) {
        if (kind == Kind::Candidates) {
            w.rc = (ops && ops->arm) ? ops->arm(opaque, token, w.range.addr, w.range.len) : -ENOSYS;
        } else {
            std::uint64_t skipped = 0;
            w.rc = (ops && ops->skip) ? ops->skip(opaque, token, w.range.addr, w.range.len, &skipped)
                                      : -ENOSYS;
            // Never trust the backend to report more than the range holds.
            w.pages_skipped = w.rc == 0 ? std::min(skipped, w.range.pages()) : 0;
        }
        if (w.rc == -ESTALE) {
            break;
        }
    }
}

}  // namespace fph
