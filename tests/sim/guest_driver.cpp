// SPDX-License-Identifier: GPL-2.0-or-later
#include "guest_driver.hpp"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <sstream>
#include <string>

namespace fph_sim {

namespace {

// "start+count ..." of the first ranges, for the trace.
std::string describe(const std::vector<PageRange>& rs)
{
    std::ostringstream os;
    Pfn pages = 0;
    for (std::size_t i = 0; i < rs.size(); ++i) {
        pages += rs[i].count;
        if (i < 6) {
            os << (i ? " " : "") << rs[i].start << "+" << rs[i].count;
        }
    }
    if (rs.size() > 6) {
        os << " ...";
    }
    os << " (" << rs.size() << " ranges, " << pages << " pages)";
    return os.str();
}

}  // namespace

bool GuestDriver::Buf::emit(Pfn pfn, Pfn end)
{
    if (can_merge && !r.empty() && r.back().end() == pfn) {
        r.back().count += end - pfn;
        return true;
    }
    if (r.size() == cap) {
        return false;
    }
    r.push_back({pfn, end - pfn});
    can_merge = true;
    return true;
}

GuestDriver::GuestDriver(const BuddyAllocator& alloc, FphDevice& dev, DriverFlags flags,
                         DriverParams params, const Trace& trace)
    : alloc_(alloc), dev_(dev), flags_(flags), params_(params), trace_(trace)
{
    // The driver's own cap (module parameter max_ranges) is above the device's.
    cand_.cap = conf_.cap = std::min<std::size_t>(dev.max_ranges(), 16384);
}

// fph_free_block(): if @pfn lies in a free block, its order and head.
int GuestDriver::free_block(Pfn pfn, Pfn* head) const
{
    for (unsigned order = 0; order <= BuddyAllocator::kMaxOrder; ++order) {
        const Pfn h = pfn & ~((Pfn{1} << order) - 1);
        const int bo = alloc_.free_head_order(h);
        if (bo >= static_cast<int>(order)) {
            *head = h;
            return bo;
        }
    }
    return -1;
}

// fph_used_span(): all of an allocated compound page, else one page.
Pfn GuestDriver::used_span(Pfn pfn) const
{
    const int order = alloc_.used_head_order(pfn);
    if (order < 0) {
        return 1;
    }
    const Pfn span = Pfn{1} << order;
    return pfn % span == 0 ? span : 1;
}

// fph_scan(): one lock hold of at most scan_steps steps over [*cursor, end).
bool GuestDriver::scan(Pfn* cursor, Pfn end, unsigned min_order, Buf& b) const
{
    Pfn pfn = *cursor;
    Pfn head = pfn;
    bool room = true;
    for (unsigned steps = 0; pfn < end && steps < params_.scan_steps; ++steps) {
        int order;
        if (steps) {
            order = alloc_.free_head_order(pfn);
            head = pfn;
        } else {
            // A block may have merged across the cursor while unlocked.
            order = free_block(pfn, &head);
        }
        if (order < 0) {
            pfn += used_span(pfn);
            continue;
        }
        const Pfn next = head + (Pfn{1} << order);
        if (order >= static_cast<int>(min_order) && !b.emit(pfn, std::min(next, end))) {
            room = false;
            break;
        }
        pfn = next;
    }
    *cursor = pfn;
    return room;
}

bool GuestDriver::epoch_ok() const
{
    return dev_.config_epoch() == epoch_;
}

bool GuestDriver::epoch_poll()
{
    if (++polls_ < params_.epoch_poll) {
        return true;
    }
    polls_ = 0;
    return epoch_ok();
}

bool GuestDriver::runnable() const
{
    switch (state_) {
    case State::Idle:
        return work_queued_;
    case State::AwaitCandidates:
    case State::AwaitConfirm:
        return dev_.answer_ready();
    default:
        return true;
    }
}

void GuestDriver::send(std::uint16_t type, std::vector<PageRange> ranges)
{
    in_flight_pages_ = 0;
    for (const PageRange& r : ranges) {
        in_flight_pages_ += r.count;
    }
    if (trace_.on()) {
        trace_.log("driver", type == VIRTIO_FPH_REQ_CANDIDATES ? "send CANDIDATES" : "send CONFIRM",
                   " epoch ", epoch_, ": ", describe(ranges));
    }
    dev_.add_request(encode_request(type, epoch_, ranges));
}

// The tail of fph_request(): 0 if applied in our epoch, else -EAGAIN/-EIO.
int GuestDriver::evaluate(std::uint16_t type, const Answer& a)
{
    stats_.rejected_ranges += a.nr_rejected;
    if (a.status == VIRTIO_FPH_S_STALE) {
        return -EAGAIN;
    }
    if (a.status != VIRTIO_FPH_S_OK) {
        return -EIO;
    }
    (type == VIRTIO_FPH_REQ_CONFIRM ? stats_.confirmed_pages : stats_.armed_pages) +=
        in_flight_pages_;
    return a.epoch == epoch_ ? 0 : -EAGAIN;
}

void GuestDriver::start_pass()
{
    polls_ = 0;
    cursor_ = 0;
    cand_.reset();
    state_ = State::Scan;
    trace_.log("driver", "pass for epoch ", epoch_, " starts");
}

void GuestDriver::begin_batch(bool final)
{
    batch_final_ = final;
    if (cand_.r.empty()) {
        end_batch();
    } else if (flags_.check_before_arm) {
        conf_.reset();
        conf_.cap = std::numeric_limits<std::size_t>::max();
        ci_ = 0;
        cpfn_ = cand_.r.front().start;
        state_ = State::PreCheck;
    } else {
        state_ = State::SendCandidates;
    }
}

void GuestDriver::end_batch()
{
    cand_.reset();
    if (batch_final_) {
        ++stats_.passes;
        state_ = State::Idle;
        trace_.log("driver", "pass for epoch ", epoch_, " done");
    } else {
        state_ = State::Scan;
    }
}

void GuestDriver::abort(int err)
{
    ++stats_.aborted_passes;
    const bool in_batch = state_ != State::Scan;
    if (err == -EAGAIN && in_batch) {
        ++stats_.stale_batches;
    }
    trace_.log("driver", "pass for epoch ", epoch_,
               " stops: ", err == -EAGAIN ? "epoch over" : "error");
    cand_.reset();
    conf_.reset();
    state_ = State::Idle;
}

void GuestDriver::step_scan()
{
    const Pfn from = cursor_;
    const std::size_t before = cand_.r.size();
    const bool room = scan(&cursor_, alloc_.pages(), params_.min_order, cand_);
    trace_.log("driver", "lock hold: scan pfn ", from, "..", cursor_, ", batch has ",
               cand_.r.size(), " ranges (+", cand_.r.size() - before, ")");
    if (!room) {
        begin_batch(false);
    } else if (!epoch_poll()) {
        abort(-EAGAIN);
    } else if (cursor_ >= alloc_.pages()) {
        begin_batch(true);
    }
}

bool GuestDriver::recheck_hold(Buf& out, bool* full)
{
    const PageRange& c = cand_.r[ci_];
    *full = !scan(&cpfn_, c.end(), 0, out);
    if (!*full && cpfn_ >= c.end() && ++ci_ < cand_.r.size()) {
        cpfn_ = cand_.r[ci_].start;
    }
    return ci_ >= cand_.r.size();
}

// fph_confirm() (pre_arm: the same re-check, done before the arm).
void GuestDriver::step_recheck(bool pre_arm)
{
    const std::size_t before = conf_.r.size();
    bool full = false;
    const bool done = recheck_hold(conf_, &full);
    trace_.log("driver", pre_arm ? "lock hold: pre-arm re-check" : "lock hold: re-check",
               ", still free +", conf_.r.size() - before, " ranges");
    if (full) {
        confirm_last_ = false;
        state_ = State::SendConfirm;
    } else if (!epoch_poll()) {
        abort(-EAGAIN);
    } else if (done && pre_arm) {
        pending_ = conf_.r;
        pending_pos_ = 0;
        conf_.reset();
        state_ = State::SendCandidates;
    } else if (done) {
        confirm_last_ = true;
        state_ = State::SendConfirm;
    }
}

void GuestDriver::step_send_candidates()
{
    if (!epoch_ok()) {
        abort(-EAGAIN);
        return;
    }
    ++stats_.batches;
    send(VIRTIO_FPH_REQ_CANDIDATES, cand_.r);
    state_ = State::AwaitCandidates;
}

void GuestDriver::step_await_candidates()
{
    const Answer a = *dev_.take_answer();
    if (const int err = evaluate(VIRTIO_FPH_REQ_CANDIDATES, a)) {
        abort(err);
    } else if (!flags_.send_confirm) {
        end_batch();
    } else if (!epoch_ok()) {
        abort(-EAGAIN);
    } else if (!flags_.recheck_after_arm) {
        pending_ = cand_.r;
        pending_pos_ = 0;
        state_ = State::SendConfirm;
    } else if (flags_.check_before_arm) {
        state_ = State::SendConfirm;
    } else {
        conf_.reset();
        conf_.cap = cand_.cap;
        ci_ = 0;
        cpfn_ = cand_.r.front().start;
        state_ = State::Confirm;
    }
}

bool GuestDriver::chunked() const
{
    return !flags_.recheck_after_arm || flags_.check_before_arm;
}

void GuestDriver::step_send_confirm()
{
    if (chunked()) {
        const std::size_t end = std::min(pending_.size(), pending_pos_ + cand_.cap);
        if (pending_pos_ == end) {
            end_batch();
            return;
        }
        send(VIRTIO_FPH_REQ_CONFIRM, {pending_.begin() + pending_pos_, pending_.begin() + end});
        pending_pos_ = end;
    } else if (conf_.r.empty()) {
        // fph_send_confirm() sends nothing for an empty buffer.
        if (confirm_last_) {
            end_batch();
        } else {
            state_ = State::Confirm;
        }
        return;
    } else {
        send(VIRTIO_FPH_REQ_CONFIRM, conf_.r);
        conf_.reset();
    }
    state_ = State::AwaitConfirm;
}

void GuestDriver::step_await_confirm()
{
    const Answer a = *dev_.take_answer();
    if (const int err = evaluate(VIRTIO_FPH_REQ_CONFIRM, a)) {
        abort(err);
    } else if (chunked()) {
        state_ = State::SendConfirm;
    } else if (confirm_last_) {
        end_batch();
    } else {
        state_ = State::Confirm;
    }
}

void GuestDriver::step()
{
    switch (state_) {
    case State::Idle: {
        work_queued_ = false;
        const std::uint32_t e = dev_.config_epoch();
        // One pass per epoch: the host opens a new one after each sync.
        // Epoch numbers restart on a destination: a closed epoch forgets.
        if (e == VIRTIO_FPH_EPOCH_NONE) {
            done_epoch_ = VIRTIO_FPH_EPOCH_NONE;
        } else if (e != done_epoch_) {
            epoch_ = done_epoch_ = e;
            start_pass();
        }
        break;
    }
    case State::Scan:
        step_scan();
        break;
    case State::PreCheck:
        step_recheck(true);
        break;
    case State::SendCandidates:
        step_send_candidates();
        break;
    case State::AwaitCandidates:
        step_await_candidates();
        break;
    case State::Confirm:
        step_recheck(false);
        break;
    case State::SendConfirm:
        step_send_confirm();
        break;
    case State::AwaitConfirm:
        step_await_confirm();
        break;
    }
}

}  // namespace fph_sim
