// SPDX-License-Identifier: GPL-2.0-or-later
//
// fph-bench: what is compared (contenders) and on what (scenarios).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fphbench {

// One way of running the guest.  All contenders use the same emulator binary
// and the same guest image; they differ in the device given to QEMU and in
// which guest modules /init loads (fph.skipmods, see guest-image/init).
struct Contender {
    std::string name;
    std::string label;
    std::vector<std::string> qemu_args;
    std::string skipmods;
    bool fph = false;
};

inline const std::vector<Contender> &all_contenders() {
    static const std::vector<Contender> c = {
        {"default", "default QEMU", {}, "virtio_fph,virtio_balloon", false},
        {"balloon-hint",
         "virtio-balloon free-page-hint",
         {"-object", "iothread,id=io0", "-device",
          "virtio-balloon-pci,free-page-hint=on,iothread=io0"},
         "virtio_fph",
         false},
        {"balloon-report",
         "virtio-balloon free-page-reporting",
         {"-device", "virtio-balloon-pci,free-page-reporting=on"},
         "virtio_fph",
         false},
        {"fph", "fph", {"-object", "free-page-hint,id=fph0"}, "virtio_balloon", true},
    };
    return c;
}

// One guest memory state at migration time.
struct Scenario {
    std::string name;
    std::string label;
};

inline const std::vector<Scenario> &all_scenarios() {
    static const std::vector<Scenario> s = {
        {"idle", "idle, fresh boot"},
        {"freed-dirty", "75% of RAM written, then freed"},
        {"fragmented", "60% of RAM written, every other page freed"},
        {"churn", "freed-dirty + 64 MiB alloc/write/free churn at 64 MiB/s during migration"},
    };
    return s;
}

// Guest commands that prepare a scenario (run before migrating).  Sizes
// scale with RAM so that the scenarios mean the same at every guest size.
inline std::vector<std::string> prepare_cmds(const std::string &scenario, uint64_t mem_mib) {
    std::string dirty = "fph-workload dirty " + std::to_string(mem_mib * 3 / 4);
    if (scenario == "freed-dirty")
        return {dirty};
    if (scenario == "fragmented")
        return {"fph-workload fragment " + std::to_string(mem_mib * 6 / 10)};
    // Paced at 64 MiB/s, half of the 1 Gbit/s bandwidth, so that every
    // contender can converge: flat out (~270 MB/s under TCG) the writer
    // outruns 1 Gbit/s and whether a run converges is luck.
    if (scenario == "churn")
        return {dirty, "fph-workload churn 64 --rate=64"};
    return {};
}

// Guest commands run on the destination after the migration (output kept).
inline std::vector<std::string> after_cmds(const std::string &scenario) {
    if (scenario == "churn")
        return {"fph-workload churn-status", "fph-workload stop churn"};
    return {};
}

}  // namespace fphbench
