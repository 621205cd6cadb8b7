// SPDX-License-Identifier: GPL-2.0-or-later
// fph-sim: deterministic simulation of fph hinting during precopy migration
// and at a switch to postcopy.
//
//   fph-sim [check] [--seeds N]        correct protocol, every model (default 10000 seeds each)
//   fph-sim --seeds N [--time-budget S] [--model M] [--variant V] [--first-seed S]
//           [--end seeded|stop-and-copy|postcopy]
//                                      long mode
//   fph-sim --seed N --trace [--model M] [--variant V]
//                                      replay one interleaving step by step
//   fph-sim variants [--seeds N]       every variant under every model
//   fph-sim clears [--seeds N]         the arm's KVM log clears: calls and resends per form
//   fph-sim --scale [--max-gib G]      hint cost for 1 GiB .. 1 TiB guests
#include <getopt.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report.hpp"
#include "runner.hpp"
#include "scale.hpp"
#include "simulation.hpp"

using namespace fph_sim;

namespace {

// Check mode: ~5 s per model on 2 idle cores, well inside the 60 s budget.
constexpr std::uint64_t kCheckSeeds = 10000;

struct Args {
    std::string mode = "check";
    std::optional<std::uint64_t> seeds;
    std::optional<std::uint64_t> seed;
    std::uint64_t first_seed = 0;
    std::optional<std::chrono::seconds> budget;
    std::vector<Accel> models{std::begin(kAllAccels), std::end(kAllAccels)};
    Variant variant = Variant::Correct;
    ArmClear arm_clear = ArmClear::Chunks;
    End end = End::Seeded;
    bool trace = false;
    std::uint64_t max_gib = 1024;
    unsigned threads = 0;
};

[[noreturn]] void usage(const char* why)
{
    std::cerr
        << "fph-sim: " << why << "\n"
        << "usage: fph-sim [check|variants|clears] [--seeds N] [--first-seed S]\n"
        << "               [--time-budget SECONDS] [--model tcg|kvm|kvm-ring|all]\n"
        << "               [--variant NAME] [--arm-clear chunks+runs|chunks|range] [--threads T]\n"
        << "               [--end seeded|stop-and-copy|postcopy]\n"
        << "       fph-sim --seed N [--model M] [--variant V] [--arm-clear C] [--end E] --trace\n"
        << "       fph-sim --scale [--max-gib G]\n"
        << "variants:";
    for (Variant v : kAllVariants) {
        std::cerr << " " << variant_name(v);
    }
    std::cerr << "\n";
    std::exit(2);
}

// The value of @all whose @name_of is @s; exits with @what if none is.
template <typename E, std::size_t N, typename NameOf>
E by_name(const E (&all)[N], NameOf name_of, std::string_view s, const char* what)
{
    for (const E e : all) {
        if (name_of(e) == s) {
            return e;
        }
    }
    usage(what);
}

std::uint64_t number(const char* s)
{
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s, &end, 0);
    if (!*s || *end) {
        usage("bad number");
    }
    return v;
}

Args parse(int argc, char** argv)
{
    enum {
        kSeeds = 256,
        kSeed,
        kFirstSeed,
        kTimeBudget,
        kThreads,
        kMaxGib,
        kTrace,
        kModel,
        kVariant,
        kArmClear,
        kEnd,
        kScale
    };
    static const option kOptions[] = {
        {"seeds", required_argument, nullptr, kSeeds},
        {"seed", required_argument, nullptr, kSeed},
        {"first-seed", required_argument, nullptr, kFirstSeed},
        {"time-budget", required_argument, nullptr, kTimeBudget},
        {"threads", required_argument, nullptr, kThreads},
        {"max-gib", required_argument, nullptr, kMaxGib},
        {"trace", no_argument, nullptr, kTrace},
        {"model", required_argument, nullptr, kModel},
        {"variant", required_argument, nullptr, kVariant},
        {"arm-clear", required_argument, nullptr, kArmClear},
        {"end", required_argument, nullptr, kEnd},
        {"scale", no_argument, nullptr, kScale},
        {nullptr, 0, nullptr, 0},
    };
    Args a;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "", kOptions, nullptr)) != -1;) {
        switch (c) {
        case kScale:
            a.mode = "scale";
            break;
        case kSeeds:
            a.seeds = number(optarg);
            break;
        case kSeed:
            a.seed = number(optarg);
            break;
        case kFirstSeed:
            a.first_seed = number(optarg);
            break;
        case kTimeBudget:
            a.budget = std::chrono::seconds(number(optarg));
            break;
        case kThreads:
            a.threads = static_cast<unsigned>(number(optarg));
            break;
        case kMaxGib:
            a.max_gib = number(optarg);
            break;
        case kTrace:
            a.trace = true;
            break;
        case kModel:
            if (std::string_view(optarg) == "all") {
                a.models.assign(std::begin(kAllAccels), std::end(kAllAccels));
            } else {
                a.models = {by_name(kAllAccels, accel_name, optarg, "unknown model")};
            }
            break;
        case kArmClear:
            a.arm_clear = by_name(kAllArmClears, arm_clear_name, optarg, "unknown --arm-clear");
            break;
        case kEnd:
            a.end = by_name(kAllEnds, end_name, optarg, "unknown --end");
            break;
        case kVariant:
            a.variant = by_name(kAllVariants, variant_name, optarg, "unknown variant");
            break;
        default:
            usage(optopt || c == ':' ? "missing value" : "unknown argument");
        }
    }
    // getopt_long has moved the operands to the end: at most the mode.
    if (optind < argc) {
        const std::string_view mode = argv[optind++];
        if (mode != "check" && mode != "variants" && mode != "clears") {
            usage("unknown argument");
        }
        a.mode = mode;
    }
    if (optind < argc) {
        usage("unknown argument");
    }
    if (a.seed) {
        a.mode = "replay";
    } else if (a.seeds && a.mode == "check") {
        a.mode = "long";
    }
    return a;
}

// Check and long mode: the correct protocol must pass every seed, hints
// must actually skip pages, some seeds must hit stale refusals, and
// postcopy ends must place free pages as zero.
int run_checked(const Args& a, std::uint64_t default_seeds)
{
    bool ok = true;
    const auto t0 = std::chrono::steady_clock::now();
    for (Accel m : a.models) {
        BatchOptions opt;
        opt.accel = m;
        opt.variant = a.variant;
        opt.arm_clear = a.arm_clear;
        opt.end = a.end;
        opt.first_seed = a.first_seed;
        opt.seeds = a.seeds.value_or(default_seeds);
        opt.threads = a.threads;
        opt.time_budget = a.budget;
        const BatchSummary s = run_batch(opt);
        print_summary(std::cout, opt, s);
        if (a.variant == Variant::Correct) {
            if (s.failures) {
                std::cout << "FAIL: the correct protocol lost writes\n";
                ok = false;
            }
            if (s.pages_skipped == 0) {
                std::cout << "FAIL: no page was ever skipped (vacuous)\n";
                ok = false;
            }
            if (s.stale_refusals == 0) {
                std::cout << "FAIL: no stale hint was ever refused\n";
                ok = false;
            }
            if (a.end != End::StopAndCopy && s.pages_zero == 0) {
                std::cout << "FAIL: no postcopy end placed a free page as zero (vacuous)\n";
                ok = false;
            }
        }
        std::cout.flush();
    }
    std::cout << "total "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
              << " s\n";
    return ok ? 0 : 1;
}

int run_variants(const Args& a)
{
    for (Variant v : kAllVariants) {
        for (Accel m : a.models) {
            BatchOptions opt;
            opt.accel = m;
            opt.variant = v;
            opt.arm_clear = a.arm_clear;
            opt.end = a.end;
            opt.first_seed = a.first_seed;
            opt.seeds = a.seeds.value_or(1000);
            opt.threads = a.threads;
            print_summary(std::cout, opt, run_batch(opt));
            std::cout.flush();
        }
    }
    return 0;
}

// The three forms of the arm's KVM log clear against no hints, manual KVM:
// per seed, pages sent, in stop-and-copy, resent unchanged, log clears.
// Fails if a form loses a write.
int run_clears(const Args& a)
{
    bool ok = true;
    std::printf("%-13s %-12s %9s %9s %8s %8s %8s %8s %8s\n", "variant", "arm clears", "sent",
                "stop+copy", "resent", "clears", "empty", "by arm", "arm empty");
    auto row = [&](Variant v, ArmClear c) {
        BatchOptions opt;
        opt.accel = Accel::Kvm;
        opt.variant = v;
        opt.arm_clear = c;
        // The clear path of precopy: a postcopy end adds the sender's chunk
        // clears for the free pages it sends as zero, which are no arm's.
        opt.end = a.end == End::Seeded ? End::StopAndCopy : a.end;
        opt.first_seed = a.first_seed;
        opt.seeds = a.seeds.value_or(2000);
        opt.threads = a.threads;
        const BatchSummary s = run_batch(opt);
        const double n = s.seeds_run ? static_cast<double>(s.seeds_run) : 1.0;
        std::printf("%-13s %-12s %9.1f %9.1f %8.1f %8.1f %8.1f %8.1f %8.1f%s\n",
                    std::string(variant_name(v)).c_str(), std::string(arm_clear_name(c)).c_str(),
                    s.pages_sent / n, s.pages_sent_final / n, s.pages_resent / n, s.log_clears / n,
                    s.empty_log_clears / n, s.arm_log_clears / n, s.arm_empty_log_clears / n,
                    s.failures ? "  LOST WRITES" : "");
        ok = ok && !s.failures;
    };
    row(Variant::NoHints, ArmClear::Chunks);
    for (ArmClear c : kAllArmClears) {
        row(Variant::Correct, c);
    }
    std::printf("per seed, %llu seeds, kvm (manual dirty-log protection); clears: "
                "KVM_CLEAR_DIRTY_LOG calls\n",
                static_cast<unsigned long long>(a.seeds.value_or(2000)));
    return ok ? 0 : 1;
}

int run_replay(const Args& a)
{
    RunSpec spec{*a.seed, a.models.size() == 1 ? a.models.front() : Accel::Kvm, a.variant,
                 a.arm_clear};
    spec.end = a.end;
    const RunResult r = run_one(spec, a.trace ? &std::cout : nullptr);
    std::cout << "seed " << spec.seed << " " << accel_name(spec.accel) << " "
              << variant_name(spec.variant) << ": " << (r.verdict.safe() ? "PASS" : "FAIL") << ", "
              << r.pages_skipped << " skipped, " << r.stale_refusals << " stale refusals, "
              << r.pages_sent << " sent (" << r.pages_sent_final
              << (r.postcopy ? " in postcopy, " : " in stop-and-copy, ") << r.pages_zero
              << " placed as zero), " << r.steps << " steps\n";
    if (!r.verdict.safe()) {
        print_failure(std::cout, r);
    }
    return r.verdict.safe() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv)
{
    const Args a = parse(argc, argv);
    try {
        if (a.mode == "replay") {
            return run_replay(a);
        }
        if (a.mode == "scale") {
            print_scale(std::cout, run_scale(a.max_gib << 30));
            return 0;
        }
        if (a.mode == "variants") {
            return run_variants(a);
        }
        if (a.mode == "clears") {
            return run_clears(a);
        }
        return run_checked(a, kCheckSeeds);
    } catch (const std::exception& e) {
        std::cerr << "fph-sim: " << e.what() << "\n";
        return 1;
    }
}
