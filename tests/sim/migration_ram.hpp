// SPDX-License-Identifier: GPL-2.0-or-later
// QEMU's RAM migration state for one RAMBlock (migration/ram.c): the
// migration bitmap (bmap), clear_bmap with clear_bmap_shift, the page
// sender, and the two filter operations of the hook patch
// (patches/qemu/LINE/0007-0012, ram_filter_arm_pages / ram_filter_skip_pages),
// and the patch's switch to postcopy (filter_skipped, filter_free,
// ram_filter_postcopy_switchover, save_zero_page), mirrored line by line.
// The destination is the content as last sent.
#pragma once

#include <cstdint>
#include <vector>

#include "dirty_log.hpp"
#include "guest_memory.hpp"
#include "trace.hpp"
#include "types.hpp"

namespace fph_sim {

// Broken forms of the patch's postcopy bookkeeping, variants (6) and (7).
struct RamFlags {
    bool free_ignores_writes = false;  // (6) switchover: free = skipped, without & ~bmap
    bool keep_skip_mark = false;       // (7) sending a page leaves its skipped mark set
};

class MigrationRam {
public:
    MigrationRam(GuestMemory& mem, DirtyLog& log, unsigned clear_bmap_shift, ArmClear arm_clear,
                 RamFlags flags, const Trace& trace);

    // ram_list_init_bitmaps(): every page is to be sent.
    void init_bitmaps();
    // The dirty-log half of migration_bitmap_sync(): GET, test-and-clear
    // dirty memory into bmap, and postpone the KVM clear of every chunk to
    // just before its first page is sent (clear_bmap_set over the block).
    void bitmap_sync();

    // ram_find_and_save_block() for up to @budget pages from the cursor.
    // Returns pages sent; *@wrapped is set when the pass reached the end.
    Pfn send_pages(Pfn budget, bool* wrapped);
    // Final round: everything left in bmap.
    Pfn send_all();

    // ram_filter_postcopy_switchover(), after the switch's last sync with
    // the source paused: the skipped pages not dirty since are free; every
    // skipped page is to be sent again.  Returns the number of free pages.
    Pfn postcopy_switch();
    // After the switch (issue #34): every free page first, as a zero page
    // (the destination places it with UFFDIO_ZEROPAGE), then the rest of
    // bmap with content.  Returns pages sent with content.
    Pfn send_postcopy();

    // Hook patch: both return the number of pages reported in *pages.
    void arm_range(Pfn start, Pfn n, std::uint64_t* pages);
    void skip_range(Pfn start, Pfn n, std::uint64_t* pages);
    // qemu_guest_free_page_hint(): clear chunks + clear bmap in one step.
    void upstream_free_page_hint(Pfn start, Pfn n, std::uint64_t* pages);

    Pfn pages() const { return bmap_.size(); }
    std::uint64_t dest(Pfn pfn) const { return dest_[pfn]; }
    // Pages sent with content (a zero page is not: see pages_zero()).
    std::uint64_t pages_sent() const { return pages_sent_; }
    // Free pages sent as zero pages after a switch to postcopy, unread.
    std::uint64_t pages_zero() const { return pages_zero_; }
    // Sends of content the destination already held: the page was marked
    // dirty by a record its previous send had already covered (a write
    // between the page's re-arm and that send).
    std::uint64_t pages_resent() const { return pages_resent_; }
    // KVM_CLEAR_DIRTY_LOG calls made by the arm, and how many were empty.
    std::uint64_t arm_log_clears() const { return arm_log_clears_; }
    std::uint64_t arm_empty_log_clears() const { return arm_empty_log_clears_; }
    Pfn dirty_pages() const { return dirty_pages_; }

private:
    // migration_clear_memory_region_dirty_bitmap(): clear @page's chunk once.
    void clear_chunk_of(Pfn page);
    void clear_chunks_range(Pfn start, Pfn n);
    // Clear [start, start + n) from bmap (@mark_skipped: and remember the
    // pages it held in filter_skipped); returns how many it held.
    std::uint64_t clear_dirty_range(Pfn start, Pfn n, bool mark_skipped);
    void send_page(Pfn pfn);

    GuestMemory& mem_;
    DirtyLog& log_;
    unsigned shift_;
    ArmClear arm_clear_;
    RamFlags flags_;
    const Trace& trace_;
    std::vector<std::uint8_t> bmap_;
    std::vector<std::uint8_t> clear_bmap_;  // one bit per 2^shift pages
    std::vector<std::uint64_t> dest_;       // fresh destination: zero
    std::vector<std::uint8_t> sent_once_;
    std::vector<std::uint8_t> skipped_;  // block->filter_skipped: skipped, not sent since
    std::vector<std::uint8_t> free_;     // block->filter_free, from the postcopy switch on
    Pfn cursor_ = 0;
    Pfn dirty_pages_ = 0;  // rs->migration_dirty_pages
    std::uint64_t pages_sent_ = 0;
    std::uint64_t pages_zero_ = 0;
    std::uint64_t pages_resent_ = 0;
    std::uint64_t arm_log_clears_ = 0;
    std::uint64_t arm_empty_log_clears_ = 0;
};

}  // namespace fph_sim
