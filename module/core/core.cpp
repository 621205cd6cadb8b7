// SPDX-License-Identifier: GPL-2.0-or-later
#include "core.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <new>
#include <vector>

#include "byte_order.hpp"
#include "planner.hpp"
#include "request_parser.hpp"

namespace fph {

void encode_response(const Response& r, virtio_fph_resp* out) noexcept
{
    std::span<std::uint8_t> bytes{reinterpret_cast<std::uint8_t*>(out), sizeof(*out)};
    store_le<std::uint16_t>(bytes, offsetof(virtio_fph_resp, status), r.status);
    store_le<std::uint16_t>(bytes, offsetof(virtio_fph_resp, reserved), 0);
    store_le<std::uint32_t>(bytes, offsetof(virtio_fph_resp, epoch), r.epoch);
    store_le<std::uint32_t>(bytes, offsetof(virtio_fph_resp, nr_done), r.nr_done);
    store_le<std::uint32_t>(bytes, offsetof(virtio_fph_resp, nr_rejected), r.nr_rejected);
}

Core::Core(std::uint32_t max_ranges) noexcept
    : Core(max_ranges, WorkBudget::for_max_ranges(std::max<std::uint32_t>(max_ranges, 1)))
{
}

Core::Core(std::uint32_t max_ranges, const WorkBudget& budget) noexcept
    : max_ranges_(std::max<std::uint32_t>(max_ranges, 1)), budget_(budget)
{
}

void Core::set_ram(std::span<const FphRamRange> ranges)
{
    ram_.clear();
    IntervalSet ram;
    for (const FphRamRange& in : ranges) {
        const Range r{in.addr, in.len};
        if (r.empty() || r.wraps()) {
            continue;
        }
        // Shrink to whole pages: a partial page at the edge is not all RAM.
        const std::uint64_t start = (r.addr + kPageSize - 1) / kPageSize * kPageSize;
        const std::uint64_t end = r.end() / kPageSize * kPageSize;
        if (start < end && start >= r.addr) {
            ram.insert(Range::from_bounds(start, end));
        }
    }
    ram_ = std::move(ram);
}

std::uint32_t Core::epoch_begin(std::uint64_t token) noexcept
{
    armed_.clear();
    epoch_pieces_ = 0;
    const std::uint32_t e = epoch_.begin(token);
    ++stats_.epochs_seen;
    return e;
}

void Core::epoch_end() noexcept
{
    armed_.clear();
    epoch_.end();
}

Plan Core::reject_whole(FphReject why) noexcept
{
    ++stats_.rejected[why];
    // Over budget: nothing more this epoch, which is what STALE tells the
    // driver (it waits for the next epoch).
    const bool epoch_done = why == FPH_REJECT_STALE_EPOCH || why == FPH_REJECT_OVER_BUDGET;
    return Plan::rejected(epoch_done ? VIRTIO_FPH_S_STALE : VIRTIO_FPH_S_INVALID);
}

void Core::account_plan(const Plan& plan, std::uint32_t nr_ranges, RequestType type) noexcept
{
    stats_.ranges_received += nr_ranges;
    if (type == RequestType::Candidates) {
        ++stats_.candidate_batches;
    } else {
        ++stats_.confirm_batches;
    }
    for (std::size_t i = 0; i < plan.rejects.size(); ++i) {
        stats_.rejected[i] += plan.rejects[i];
    }
}

Plan Core::parse(std::span<const std::uint8_t> bytes)
{
    ++stats_.requests;
    const ParseResult parsed = parse_request(bytes, max_ranges_);
    if (!parsed.request) {
        return reject_whole(parsed.reject);
    }
    const RequestView& req = *parsed.request;
    if (!epoch_.accepts(req.epoch())) {
        // Well-formed, so its ranges and batch are counted, then refused.
        Plan plan = reject_whole(FPH_REJECT_STALE_EPOCH);
        account_plan(plan, req.nr_ranges(), req.type());
        return plan;
    }
    const std::uint64_t epoch_left = budget_.pieces_per_epoch - epoch_pieces_;
    const std::size_t armed_room =
        budget_.armed_intervals - std::min(budget_.armed_intervals, armed_.size());
    if (epoch_left == 0 || (req.type() == RequestType::Candidates && armed_room == 0)) {
        Plan plan = reject_whole(FPH_REJECT_OVER_BUDGET);
        account_plan(plan, req.nr_ranges(), req.type());
        return plan;
    }
    PieceAllowance allowance(std::min(epoch_left, budget_.pieces_per_request), armed_room);
    Plan plan = req.type() == RequestType::Candidates
                    ? plan_candidates(req, ram_, armed_, allowance)
                    : plan_confirm(req, ram_, armed_, allowance);
    epoch_pieces_ += plan.work.size();
    plan.epoch = epoch_.number();
    plan.token = epoch_.token();
    // Accounted only once planning can no longer fail, so an allocation
    // failure leaves the stats consistent.
    account_plan(plan, req.nr_ranges(), req.type());
    return plan;
}

bool Core::remember_armed(const Range& r) noexcept
{
    try {
        armed_.insert(r);
    } catch (const std::bad_alloc&) {
        // Not remembered as armed, so never confirmable: safe.
        note_alloc_failure();
        return false;
    }
    stats_.pages_armed += r.pages();
    return true;
}

Response Core::complete(const Plan& plan) noexcept
{
    Response resp;
    if (plan.kind == Plan::Kind::Rejected) {
        resp.status = plan.reject_status;
        resp.epoch = epoch();
        return resp;
    }

    const bool epoch_changed = !epoch_.still_open(plan.epoch);
    const bool backend_stale =
        std::find(plan.work_rc.begin(), plan.work_rc.end(), -ESTALE) != plan.work_rc.end();
    const bool stale = epoch_changed || backend_stale;

    // A group is done when all its work items succeeded (and took effect).
    std::vector<bool> group_failed;
    try {
        group_failed.assign(plan.group_sources.size(), false);
    } catch (const std::bad_alloc&) {
        // Cannot track groups: report nothing done, apply nothing.
        note_alloc_failure();
        resp.status = VIRTIO_FPH_S_INVALID;
        resp.epoch = epoch();
        resp.nr_rejected = plan.nr_rejected;
        return resp;
    }

    for (std::size_t i = 0; i < plan.work.size(); ++i) {
        const Range r{plan.work[i].addr, plan.work[i].len};
        bool ok = plan.work_rc[i] == 0;
        if (plan.kind == Plan::Kind::Candidates) {
            // Arms from an epoch that is over protect nothing now: drop them.
            ok = ok && !stale && remember_armed(r);
        }
        if (!ok) {
            group_failed[plan.work_group[i]] = true;
        }
    }
    for (std::size_t g = 0; g < plan.group_sources.size(); ++g) {
        if (!group_failed[g]) {
            resp.nr_done += plan.group_sources[g];
        }
    }
    // The backend accepted these skips under its token, so they happened
    // inside the plan's epoch and stand even if that epoch is over now.
    stats_.pages_skipped += plan.pages_skipped;

    if (stale) {
        ++stats_.rejected[FPH_REJECT_STALE_EPOCH];
    }
    resp.status = stale ? VIRTIO_FPH_S_STALE : VIRTIO_FPH_S_OK;
    resp.epoch = epoch();
    resp.nr_rejected = plan.nr_rejected;
    return resp;
}

FphStats Core::stats() const noexcept
{
    FphStats s = stats_;
    s.epoch = epoch();
    return s;
}

}  // namespace fph
