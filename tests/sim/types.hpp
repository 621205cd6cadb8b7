// SPDX-License-Identifier: GPL-2.0-or-later
// Vocabulary shared by every part of the simulator.
#pragma once

#include <cstdint>
#include <string_view>

#include "fph/virtio_fph.h"

namespace fph_sim {

// Guest page frame number, in VIRTIO_FPH_PAGE_SIZE units.
using Pfn = std::uint64_t;

inline constexpr std::uint64_t kPageSize = VIRTIO_FPH_PAGE_SIZE;
inline constexpr unsigned kPageShift = VIRTIO_FPH_PAGE_SHIFT;

// How writes reach the migration bitmap (docs/design.rst, "the dirty log").
enum class Accel {
    Tcg,      // DIRTY_MEMORY_MIGRATION bit set on every write, test-and-cleared at sync
    Kvm,      // manual dirty-log protection: one KVM bit per page, explicit clear
    KvmRing,  // dirty ring: first write after protection queued, re-protected at reap
};

// How the hook's arm re-arms KVM's manual dirty log (ram_filter_arm_pages()
// in patches/qemu/0007).  The migration thread clears a clear_bmap chunk
// (2^clear_bmap_shift pages) before it sends the chunk's first page; the arm
// must have re-armed every page it reports before the guest looks again.
enum class ArmClear {
    ChunksAndRuns,  // every chunk the range touches, then a log clear per run of bmap
                    // pages (cpu_physical_memory_test_and_clear_dirty(); 0007 before v2)
    Chunks,         // the chunks that runs of bmap pages touch; dirty memory cleared
                    // without a log clear (0007 as shipped)
    Range,          // exact: only the runs, in chunks not yet cleared, the chunk left
                    // for the migration thread (not shipped: one TLB flush per run)
};

// A deliberately broken dirty-tracking model, for the tests that show the
// oracle sees a record lost by the accelerator itself (no hints needed).
enum class ModelFault {
    None,
    ReprotectNothing,  // KVM clear / ring reset forget to write-protect again
};

inline constexpr Accel kAllAccels[] = {Accel::Tcg, Accel::Kvm, Accel::KvmRing};

inline constexpr ArmClear kAllArmClears[] = {ArmClear::ChunksAndRuns, ArmClear::Chunks,
                                             ArmClear::Range};

// The protocol under test.  Everything but Correct is a deliberately broken
// (or disabled) variant; each is built from a driver flag and a hook flag,
// never by changing the core.
enum class Variant {
    Correct,
    FusedNoConfirm,    // (1) upstream qemu_guest_free_page_hint() at apply time, no confirm
    ArmSkipNoConfirm,  // (2) candidates armed, then skipped as they were collected
    ConfirmBeforeArm,  // (3) still-free re-check done before the arm
    ApplyAfterSync,    // (4) hook ignores the epoch gate, device applies across a sync
    SkipWithoutArm,    // (5) arm is a no-op, skip still happens
    // The postcopy switch (issue #34); runs of these two always end in postcopy.
    PostcopyFreeIgnoresWrites,  // (6) free = skipped: pages written since the skip too
    PostcopySkipMarkKept,       // (7) a sent page keeps its skipped mark
    NoHints,                    // baseline: driver disabled
};

inline constexpr Variant kAllVariants[] = {
    Variant::Correct,
    Variant::FusedNoConfirm,
    Variant::ArmSkipNoConfirm,
    Variant::ConfirmBeforeArm,
    Variant::ApplyAfterSync,
    Variant::SkipWithoutArm,
    Variant::PostcopyFreeIgnoresWrites,
    Variant::PostcopySkipMarkKept,
    Variant::NoHints,
};

// How a run ends once the VM stops: stop-and-copy sends what is left in
// bmap; a switch to postcopy first recomputes bmap from the pages the
// filter skipped (ram_filter_postcopy_switchover() in patches/qemu/*/0008).
enum class End {
    Seeded,       // drawn from the seed (half the runs), or forced by the variant
    StopAndCopy,  // always stop-and-copy
    Postcopy,     // always a switch to postcopy
};

inline constexpr End kAllEnds[] = {End::Seeded, End::StopAndCopy, End::Postcopy};

constexpr std::string_view accel_name(Accel a)
{
    switch (a) {
    case Accel::Tcg:
        return "tcg";
    case Accel::Kvm:
        return "kvm";
    case Accel::KvmRing:
        return "kvm-ring";
    }
    return "?";
}

constexpr std::string_view arm_clear_name(ArmClear c)
{
    switch (c) {
    case ArmClear::ChunksAndRuns:
        return "chunks+runs";
    case ArmClear::Chunks:
        return "chunks";
    case ArmClear::Range:
        return "range";
    }
    return "?";
}

constexpr std::string_view variant_name(Variant v)
{
    switch (v) {
    case Variant::Correct:
        return "correct";
    case Variant::FusedNoConfirm:
        return "fused-no-confirm";
    case Variant::ArmSkipNoConfirm:
        return "arm-skip-no-confirm";
    case Variant::ConfirmBeforeArm:
        return "confirm-before-arm";
    case Variant::ApplyAfterSync:
        return "apply-after-sync";
    case Variant::SkipWithoutArm:
        return "skip-without-arm";
    case Variant::PostcopyFreeIgnoresWrites:
        return "postcopy-free-ignores-writes";
    case Variant::PostcopySkipMarkKept:
        return "postcopy-skip-mark-kept";
    case Variant::NoHints:
        return "no-hints";
    }
    return "?";
}

constexpr std::string_view end_name(End e)
{
    switch (e) {
    case End::Seeded:
        return "seeded";
    case End::StopAndCopy:
        return "stop-and-copy";
    case End::Postcopy:
        return "postcopy";
    }
    return "?";
}

}  // namespace fph_sim
