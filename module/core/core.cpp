// SPDX-License-Identifier: GPL-2.0-or-later
#include "core.hpp"

#include <algorithm>
#include <cassert>
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
    ++generation_;
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
    ++generation_;
    epoch_pieces_ = 0;
    const std::uint32_t e = epoch_.begin(token);
    ++stats_.epochs_seen;
    return e;
}

void Core::epoch_end() noexcept
{
    armed_.clear();
    ++generation_;
    epoch_.end();
}

// Refused whole.  A well-framed request (@req) is counted as a batch of
// its ranges too.
Planning Core::refuse(FphReject why, const RequestView* req) noexcept
{
    Planning p = req ? Planning(*req) : Planning();
    p.refused_ = why;
    // Over budget: nothing more this epoch, which is what STALE tells the
    // driver (it waits for the next epoch).
    const bool epoch_done = why == FPH_REJECT_STALE_EPOCH || why == FPH_REJECT_OVER_BUDGET;
    p.plan_ = Plan::rejected(epoch_done ? VIRTIO_FPH_S_STALE : VIRTIO_FPH_S_INVALID);
    return p;
}

// GCC 12 with -fsanitize=address (make check-asan-reentry) warns that the
// vectors of the Planner in the returned Planning's std::optional "may be
// used uninitialized" when it is moved out: the optional is engaged exactly
// when they were constructed (the std::optional false positive of GCC PR
// 80635).  Only this function.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
Planning Core::begin(std::span<const std::uint8_t> bytes)
{
    const ParseResult parsed = parse_request(bytes, max_ranges_);
    if (!parsed.request) {
        return refuse(parsed.reject, nullptr);
    }
    const RequestView& req = *parsed.request;
    if (!epoch_.accepts(req.epoch())) {
        return refuse(FPH_REJECT_STALE_EPOCH, &req);
    }
    const std::uint64_t epoch_left = budget_.pieces_per_epoch - epoch_pieces_;
    const std::size_t armed_room =
        budget_.armed_intervals - std::min(budget_.armed_intervals, armed_.size());
    if (epoch_left == 0 || (req.type() == RequestType::Candidates && armed_room == 0)) {
        return refuse(FPH_REJECT_OVER_BUDGET, &req);
    }
    Planning p(req);
    p.generation_ = generation_;
    p.planner_.emplace(
        req, PieceAllowance(std::min(epoch_left, budget_.pieces_per_request), armed_room));
    return p;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void Core::make_stale(Planning& p) noexcept
{
    p.planner_.reset();
    p.refused_ = FPH_REJECT_STALE_EPOCH;
    p.plan_ = Plan::rejected(VIRTIO_FPH_S_STALE);
}

bool Core::step(Planning& p, SliceBudget& budget)
{
    if (p.planner_ && !current(p)) {
        // What it was being planned against is gone: refused as if it
        // had come after the change.
        make_stale(p);
    }
    if (p.planner_) {
        p.planner_->run(ram_, armed_, budget);
    }
    return p.done();
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

Plan Core::finish(Planning&& p) noexcept
{
    if (p.planner_ && !current(p)) {
        make_stale(p);
    }
    assert(p.done());
    Plan plan;
    if (p.planner_) {
        plan = p.planner_->take();
        epoch_pieces_ += plan.work.size();
        plan.epoch = epoch_.number();
        plan.token = epoch_.token();
    } else {
        plan = std::move(p.plan_);
    }
    ++stats_.requests;
    if (p.refused_) {
        ++stats_.rejected[*p.refused_];
    }
    if (p.framed_) {
        account_plan(plan, p.nr_ranges_, p.type_);
    }
    return plan;
}

void Core::drop(Planning&& p, Drop how) noexcept
{
    if (how == Drop::Requeued) {
        return;
    }
    ++stats_.requests;
    if (p.framed_) {
        account_plan(Plan{}, p.nr_ranges_, p.type_);
    }
}

Plan Core::parse(std::span<const std::uint8_t> bytes)
{
    Planning p = begin(bytes);
    SliceBudget unlimited = SliceBudget::unlimited();
    step(p, unlimited);
    return finish(std::move(p));
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
    ++generation_;
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
