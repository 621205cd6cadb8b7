// SPDX-License-Identifier: GPL-2.0-or-later
// Drives the C ABI end to end (parse -> execute -> complete) for tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "fake_backend.hpp"
#include "fph_core.h"
#include "request_builder.hpp"

namespace fph_test {

// Response decoded from wire bytes (explicit LE, not the struct fields).
struct Resp {
    std::uint16_t status = 0xffff;
    std::uint16_t reserved = 0xffff;
    std::uint32_t epoch = 0, nr_done = 0, nr_rejected = 0;
};

inline Resp decode(const virtio_fph_resp& wire)
{
    std::uint8_t b[sizeof(wire)];
    std::memcpy(b, &wire, sizeof(wire));
    auto le = [&](int off, int n) {
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i) {
            v |= std::uint64_t{b[off + i]} << (8 * i);
        }
        return v;
    };
    return Resp{static_cast<std::uint16_t>(le(0, 2)), static_cast<std::uint16_t>(le(2, 2)),
                static_cast<std::uint32_t>(le(4, 4)), static_cast<std::uint32_t>(le(8, 4)),
                static_cast<std::uint32_t>(le(12, 4))};
}

struct CoreDeleter {
    void operator()(FphCore* c) const { fph_core_free(c); }
};
struct PlanDeleter {
    void operator()(FphPlan* p) const { fph_plan_free(p); }
};
using CorePtr = std::unique_ptr<FphCore, CoreDeleter>;
using PlanPtr = std::unique_ptr<FphPlan, PlanDeleter>;

// Default RAM: [0, 1 GiB) and [4 GiB, 5 GiB), a hole in between.
inline constexpr std::uint64_t kGiB = 1ULL << 30;

class CoreTest : public ::testing::Test {
public:
    static constexpr std::uint64_t kToken = 0xabcdef0123ULL;

protected:
    void SetUp() override
    {
        core.reset(fph_core_new(max_ranges));
        ASSERT_NE(core, nullptr);
        set_ram({{0, kGiB}, {4 * kGiB, kGiB}});
    }

    void set_ram(std::vector<FphRamRange> ram)
    {
        fph_core_set_ram(core.get(), ram.data(), ram.size());
    }

    std::uint32_t begin(std::uint64_t token = kToken)
    {
        return fph_core_epoch_begin(core.get(), token);
    }

    PlanPtr parse(const std::vector<std::uint8_t>& bytes)
    {
        return PlanPtr{fph_core_parse(core.get(), bytes.data(), bytes.size())};
    }

    Resp complete(PlanPtr plan)
    {
        virtio_fph_resp wire;
        std::memset(&wire, 0xa5, sizeof(wire));
        fph_core_complete(core.get(), plan.release(), &wire);
        return decode(wire);
    }

    // parse + execute + complete against `backend`.
    Resp run(const std::vector<std::uint8_t>& bytes)
    {
        PlanPtr plan = parse(bytes);
        fph_plan_execute(plan.get(), backend.ops(), backend.opaque());
        return complete(std::move(plan));
    }

    Resp run(const RequestBuilder& b) { return run(b.bytes()); }

    // Arms pages [first, first+count) in the current epoch via CANDIDATES.
    void arm_pages(std::uint64_t first, std::uint64_t count)
    {
        const Resp r = run(RequestBuilder(VIRTIO_FPH_REQ_CANDIDATES)
                               .epoch(fph_core_epoch(core.get()))
                               .pages(first, count));
        ASSERT_EQ(r.status, VIRTIO_FPH_S_OK);
        ASSERT_EQ(r.nr_done, 1u);
    }

    FphStats stats() const
    {
        FphStats s;
        fph_core_get_stats(core.get(), &s);
        return s;
    }

    std::uint32_t max_ranges = 64;
    CorePtr core;
    FakeBackend backend;
};

inline RequestBuilder candidates(std::uint32_t epoch)
{
    return RequestBuilder(VIRTIO_FPH_REQ_CANDIDATES).epoch(epoch);
}

inline RequestBuilder confirm(std::uint32_t epoch)
{
    return RequestBuilder(VIRTIO_FPH_REQ_CONFIRM).epoch(epoch);
}

}  // namespace fph_test
