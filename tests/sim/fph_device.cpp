// SPDX-License-Identifier: GPL-2.0-or-later
#include "fph_device.hpp"

#include <stdexcept>

namespace fph_sim {

namespace {

const char* type_name(std::uint16_t type)
{
    return type == VIRTIO_FPH_REQ_CANDIDATES ? "CANDIDATES"
           : type == VIRTIO_FPH_REQ_CONFIRM  ? "CONFIRM"
                                             : "?";
}

const char* status_name(std::uint16_t status)
{
    switch (status) {
    case VIRTIO_FPH_S_OK:
        return "OK";
    case VIRTIO_FPH_S_STALE:
        return "STALE";
    case VIRTIO_FPH_S_INVALID:
        return "INVALID";
    }
    return "?";
}

}  // namespace

FphDevice::FphDevice(RamFilterHook& hook, std::uint32_t max_ranges, Pfn ram_pages, Rng& rng,
                     const Trace& trace)
    : hook_(hook), core_(fph_core_new(max_ranges)), rng_(rng), trace_(trace),
      max_ranges_(max_ranges), ram_{0, ram_pages * kPageSize}
{
    if (!core_) {
        throw std::bad_alloc();
    }
    hook_.set_listener({[this](std::uint64_t e) { epoch_begin(e); }, [this] { epoch_end(); }});
}

FphDevice::~FphDevice()
{
    for (InFlight& f : worker_) {
        fph_plan_free(f.plan);
    }
    for (FphPlan* p : done_) {
        fph_plan_free(p);
    }
    fph_core_free(core_);
}

void FphDevice::epoch_begin(std::uint64_t token)
{
    fph_core_set_ram(core_, &ram_, 1);
    const std::uint32_t e = fph_core_epoch_begin(core_, token);
    config_changed_ = true;
    trace_.log("device", "epoch_begin token ", token, " -> config epoch ", e);
}

void FphDevice::epoch_end()
{
    fph_core_epoch_end(core_);
    config_changed_ = true;
    trace_.log("device", "epoch_end -> config epoch 0");
}

void FphDevice::add_request(std::vector<std::uint8_t> bytes)
{
    avail_.push_back(std::move(bytes));
}

std::optional<Answer> FphDevice::take_answer()
{
    return std::exchange(answer_, std::nullopt);
}

void FphDevice::pop_and_parse()
{
    std::vector<std::uint8_t> req = std::move(avail_.front());
    avail_.pop_front();
    FphPlan* plan = fph_core_parse(core_, req.data(), req.size());
    const std::uint16_t type = request_type(req);
    trace_.log("device", "parse ", type_name(type), " (", req.size(),
               " bytes), work: ", fph_plan_has_work(plan) ? "yes" : "no");
    if (fph_plan_has_work(plan)) {
        const bool delayed =
            delay_across_sync_ && type == VIRTIO_FPH_REQ_CONFIRM && rng_.chance(1, 2);
        worker_.push_back({plan, type, syncs_, delayed});
    } else {
        complete(plan);
    }
}

bool FphDevice::can_execute() const
{
    if (worker_.empty()) {
        return false;
    }
    const InFlight& f = worker_.front();
    return !f.delayed || f.syncs_at_parse != syncs_;
}

void FphDevice::execute(InFlight& f)
{
    trace_.log("worker", "execute ", type_name(f.type),
               f.delayed ? " (delayed across a sync)" : "");
    fph_plan_execute(f.plan, RamFilterHook::ops(), &hook_);
    done_.push_back(f.plan);
}

void FphDevice::execute_one()
{
    InFlight f = worker_.front();
    worker_.pop_front();
    execute(f);
}

void FphDevice::complete(FphPlan* plan)
{
    virtio_fph_resp resp;
    fph_core_complete(core_, plan, &resp);
    answer_ = decode_response(resp);
    trace_.log("device", "complete: status ", status_name(answer_->status), " epoch ",
               answer_->epoch, " done ", answer_->nr_done, " rejected ", answer_->nr_rejected);
}

void FphDevice::complete_one()
{
    FphPlan* plan = done_.front();
    done_.pop_front();
    complete(plan);
}

void FphDevice::set_vm_running(bool running)
{
    vm_running_ = running;
    if (!running) {
        // fph_flush(): drain the worker, then answer.
        while (!worker_.empty()) {
            execute_one();
        }
        while (!done_.empty()) {
            complete_one();
        }
    }
}

FphStats FphDevice::stats() const
{
    FphStats s;
    fph_core_get_stats(core_, &s);
    return s;
}

}  // namespace fph_sim
