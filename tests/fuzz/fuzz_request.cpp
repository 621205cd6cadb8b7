// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the fph core: arbitrary bytes as a request, run as
// CANDIDATES and then as CONFIRM, against an oracle backend that aborts if
// the core ever hands it a range the safety rule forbids.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "fph_core.h"

namespace {

constexpr std::uint64_t kPage = VIRTIO_FPH_PAGE_SIZE;
constexpr std::uint64_t kMiB = 1ULL << 20;

// Hintable RAM as given to the core: two adjacent blocks, a hole, more RAM
// above 4 GiB and a block ending just below 2^64.
const FphRamRange kRam[] = {
    {0, 16 * kMiB},
    {16 * kMiB, 16 * kMiB},
    {64 * kMiB, 8 * kMiB},
    {0x100000000ULL, 4 * kMiB},
    {0xffffffffff000000ULL, 0xfff000ULL},
};

[[noreturn]] void fail(const char* what, std::uint64_t addr, std::uint64_t len)
{
    std::fprintf(stderr, "fph oracle: %s: addr=%#llx len=%#llx\n", what,
                 static_cast<unsigned long long>(addr), static_cast<unsigned long long>(len));
    std::abort();
}

// The independent oracle: plain vectors and linear scans, no shared code.
struct Oracle {
    std::uint64_t token = 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> armed;  // [start, end)

    static bool in_ram(std::uint64_t addr, std::uint64_t end)
    {
        // Adjacent blocks 0 and 1 form one RAM range [0, 32 MiB).
        if (end <= 32 * kMiB) return true;
        for (const auto& r : kRam) {
            if (addr >= r.addr && end <= r.addr + r.len) return true;
        }
        return false;
    }

    void check_range(std::uint64_t tok, std::uint64_t addr, std::uint64_t len) const
    {
        if (tok != token) fail("wrong token", addr, len);
        if (len == 0) fail("empty range", addr, len);
        if (addr % kPage || len % kPage) fail("misaligned range", addr, len);
        if (addr + len < addr) fail("wrapping range", addr, len);
        if (!in_ram(addr, addr + len)) fail("range outside RAM", addr, len);
    }

    bool covered_by_arms(std::uint64_t addr, std::uint64_t end) const
    {
        auto arms = armed;
        std::sort(arms.begin(), arms.end());
        std::uint64_t reached = addr;
        for (const auto& [s, e] : arms) {
            if (s <= reached && e > reached) reached = e;
            if (reached >= end) return true;
        }
        return false;
    }

    static int arm(void* opaque, std::uint64_t tok, std::uint64_t addr, std::uint64_t len)
    {
        auto* o = static_cast<Oracle*>(opaque);
        o->check_range(tok, addr, len);
        // Fail some arms so confirms must be clipped around them.
        if ((addr / kPage) % 5 == 3) return -EIO;
        o->armed.emplace_back(addr, addr + len);
        return 0;
    }

    static int skip(void* opaque, std::uint64_t tok, std::uint64_t addr, std::uint64_t len,
                    std::uint64_t* pages)
    {
        auto* o = static_cast<Oracle*>(opaque);
        o->check_range(tok, addr, len);
        // The safety rule: only what was armed in this epoch may be skipped.
        if (!o->covered_by_arms(addr, addr + len)) fail("skip of unarmed range", addr, len);
        *pages = len / kPage;
        return 0;
    }
};

const FphHookOps kOps{&Oracle::arm, &Oracle::skip};

void run(FphCore* core, Oracle& oracle, const std::uint8_t* data, std::size_t size)
{
    FphPlan* plan = fph_core_parse(core, data, size);
    fph_plan_execute(plan, &kOps, &oracle);
    virtio_fph_resp resp;
    fph_core_complete(core, plan, &resp);
    const auto* b = reinterpret_cast<const std::uint8_t*>(&resp);
    const unsigned status = b[0] | b[1] << 8;
    if (status > VIRTIO_FPH_S_INVALID || b[2] || b[3]) fail("bad response header", status, 0);
    if (size >= sizeof(virtio_fph_req)) {
        const std::uint32_t nr = data[8] | data[9] << 8 | data[10] << 16
                                 | static_cast<std::uint32_t>(data[11]) << 24;
        const std::uint64_t done = b[8] | b[9] << 8 | b[10] << 16 | std::uint64_t{b[11]} << 24;
        const std::uint64_t rej = b[12] | b[13] << 8 | b[14] << 16 | std::uint64_t{b[15]} << 24;
        if (done + rej > nr) fail("done + rejected > nr_ranges", done, rej);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FphCore* core = fph_core_new(64);
    fph_core_set_ram(core, kRam, sizeof(kRam) / sizeof(kRam[0]));
    Oracle oracle;
    oracle.token = 0x5eed;
    fph_core_epoch_begin(core, oracle.token);  // epoch 1, as in the corpus

    // As sent; then with the type flipped, so the ranges a CANDIDATES input
    // armed are confirmed (and vice versa).
    run(core, oracle, data, size);
    std::vector<std::uint8_t> flipped(data, data + size);
    if (size >= 2 && flipped[1] == 0 && (flipped[0] == 1 || flipped[0] == 2)) {
        flipped[0] ^= 3;
    }
    run(core, oracle, flipped.data(), flipped.size());
    run(core, oracle, data, size);

    // A new epoch forgets every arm: the oracle does too, so any skip of the
    // old ranges now aborts.
    oracle.token = 0x5eee;
    oracle.armed.clear();
    fph_core_epoch_begin(core, oracle.token);
    run(core, oracle, flipped.data(), flipped.size());
    fph_core_free(core);
    return 0;
}
