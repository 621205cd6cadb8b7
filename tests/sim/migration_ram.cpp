// SPDX-License-Identifier: GPL-2.0-or-later
#include "migration_ram.hpp"

#include <algorithm>
#include <cassert>

namespace fph_sim {

MigrationRam::MigrationRam(GuestMemory& mem, DirtyLog& log, unsigned clear_bmap_shift,
                           ArmClear arm_clear, RamFlags flags, const Trace& trace)
    : mem_(mem), log_(log), shift_(clear_bmap_shift), arm_clear_(arm_clear), flags_(flags),
      trace_(trace), bmap_(mem.pages(), 0),
      clear_bmap_(((mem.pages() - 1) >> clear_bmap_shift) + 1, 0), dest_(mem.pages(), 0),
      sent_once_(mem.pages(), 0), skipped_(mem.pages(), 0), free_(mem.pages(), 0)
{
}

void MigrationRam::init_bitmaps()
{
    std::fill(bmap_.begin(), bmap_.end(), 1);
    dirty_pages_ = bmap_.size();
}

void MigrationRam::bitmap_sync()
{
    log_.log_sync();
    Pfn added = 0;
    for (Pfn p = 0; p < bmap_.size(); ++p) {
        if (log_.test_and_clear_dirty_memory(p) && !bmap_[p]) {
            bmap_[p] = 1;
            ++added;
        }
    }
    dirty_pages_ += added;
    std::fill(clear_bmap_.begin(), clear_bmap_.end(), 1);
    trace_.log("migration", "sync: +", added, " dirty, ", dirty_pages_, " to send");
}

void MigrationRam::clear_chunk_of(Pfn page)
{
    const Pfn chunk = page >> shift_;
    if (!clear_bmap_[chunk]) {
        return;
    }
    clear_bmap_[chunk] = 0;
    const Pfn size = Pfn{1} << shift_;
    log_.clear_log(chunk << shift_, size);
    if (log_.accel() == Accel::Kvm) {
        trace_.log("migration", "KVM_CLEAR_DIRTY_LOG chunk ", chunk, " (pfn ", chunk << shift_,
                   "..", (chunk << shift_) + size - 1, ")");
    }
}

void MigrationRam::clear_chunks_range(Pfn start, Pfn n)
{
    const Pfn size = Pfn{1} << shift_;
    const Pfn first = start / size * size;
    const Pfn end = (start + n + size - 1) / size * size;
    for (Pfn c = first; c < end; c += size) {
        clear_chunk_of(c);
    }
}

void MigrationRam::send_page(Pfn pfn)
{
    // migration_bitmap_clear_dirty(): the chunk's KVM clear must come
    // before any of its pages is sent, so later writes are recorded.
    clear_chunk_of(pfn);
    assert(bmap_[pfn]);
    bmap_[pfn] = 0;
    --dirty_pages_;
    if (!flags_.keep_skip_mark) {
        // Sent after all (written since the skip): no longer skipped.
        skipped_[pfn] = 0;
    }
    // save_zero_page(): a page in filter_free goes out as a zero page
    // without being read; the destination holds zero, not the source's
    // content (a version, never 0 once written).
    if (free_[pfn]) {
        free_[pfn] = 0;
        dest_[pfn] = 0;
        ++pages_zero_;
        return;
    }
    if (sent_once_[pfn] && dest_[pfn] == mem_.content(pfn)) {
        ++pages_resent_;
    }
    sent_once_[pfn] = 1;
    dest_[pfn] = mem_.content(pfn);
    ++pages_sent_;
}

Pfn MigrationRam::send_pages(Pfn budget, bool* wrapped)
{
    Pfn sent = 0;
    Pfn first = cursor_;
    *wrapped = false;
    while (sent < budget) {
        while (cursor_ < bmap_.size() && !bmap_[cursor_]) {
            ++cursor_;
        }
        if (cursor_ == bmap_.size()) {
            cursor_ = 0;
            *wrapped = true;
            break;
        }
        send_page(cursor_);
        ++sent;
    }
    if (sent) {
        trace_.log("migration", "send ", sent, " pages in pfn ", first, "..",
                   *wrapped ? bmap_.size() - 1 : cursor_);
    }
    return sent;
}

Pfn MigrationRam::send_all()
{
    Pfn sent = 0;
    for (Pfn p = 0; p < bmap_.size(); ++p) {
        if (bmap_[p]) {
            send_page(p);
            ++sent;
        }
    }
    cursor_ = 0;
    assert(dirty_pages_ == 0);
    trace_.log("migration", "final round: sent ", sent, " pages");
    return sent;
}

Pfn MigrationRam::postcopy_switch()
{
    Pfn freed = 0, again = 0;
    for (Pfn p = 0; p < bmap_.size(); ++p) {
        // free = skipped & ~bmap: skipped and not dirty after the last
        // sync, so not written since the skip (a write after it is never
        // lost from the log: the precopy invariant).  A skipped page that
        // is in bmap was written since; it goes out with its content.
        const bool unwritten = skipped_[p] && !bmap_[p];
        const bool free = flags_.free_ignores_writes ? skipped_[p] != 0 : unwritten;
        again += unwritten;
        // bmap |= skipped: the destination asks only for dirty pages, so
        // every skipped page is to be sent again, as zero or with content.
        bmap_[p] |= skipped_[p];
        free_[p] = free ? 1 : 0;
        freed += free ? 1 : 0;
        skipped_[p] = 0;  // filter_skipped dropped
    }
    dirty_pages_ += again;
    cursor_ = 0;  // rs->pss[].last_sent_block = NULL: the search starts over
    trace_.log("migration", "postcopy switchover: ", again, " skipped pages dirty again, ", freed,
               " free (zero pages), ", dirty_pages_, " to send");
    return freed;
}

Pfn MigrationRam::send_postcopy()
{
    // Issue #34: every free page before the background search sends
    // anything else, so a guest fault on one is resolved locally.
    Pfn zero = 0;
    for (Pfn p = 0; p < free_.size(); ++p) {
        if (free_[p]) {
            send_page(p);
            ++zero;
        }
    }
    trace_.log("migration", "postcopy: ", zero, " free pages placed as zero");
    return send_all();
}

void MigrationRam::arm_range(Pfn start, Pfn n, std::uint64_t* pages)
{
    const std::uint64_t clears = log_.log_clears(), empty = log_.empty_log_clears();
    if (arm_clear_ == ArmClear::ChunksAndRuns) {
        // KVM: clear the bits collected at the last sync (and re-protect)
        // for every chunk the range touches that is not yet cleared.
        clear_chunks_range(start, n);
    }
    // Per run of pages still to be sent (bmap).  A page not in bmap needs
    // nothing: it was sent (its dirty record is the only trace of a write
    // since), or its chunk is not yet cleared and KVM fetched nothing for
    // it at the sync (a fetched page leaves bmap only after its chunk's
    // clear or its own arm), so no later clear can erase a write to it.
    for (Pfn p = start; p < start + n;) {
        if (!bmap_[p]) {
            ++p;
            continue;
        }
        const Pfn run = p;
        const Pfn chunk = run >> shift_;
        const Pfn end =
            arm_clear_ == ArmClear::Range ? std::min(start + n, (chunk + 1) << shift_) : start + n;
        while (p < end && bmap_[p]) {
            ++p;
        }
        switch (arm_clear_) {
        case ArmClear::ChunksAndRuns:
            // cpu_physical_memory_test_and_clear_dirty() also clears the
            // log of what it covers: one more ioctl, nothing left to clear.
            log_.clear_log(run, p - run);
            break;
        case ArmClear::Chunks:
            // The chunks this run touches, each once per round.
            clear_chunks_range(run, p - run);
            break;
        case ArmClear::Range:
            // The run alone, if its chunk is not yet cleared: every page
            // of it whose fetched bit is still set is in bmap, so the run's
            // pages are all there is to clear.  The chunk stays set for
            // the migration thread, which clears the rest -- the pages in
            // use -- just before it sends them.
            if (clear_bmap_[chunk]) {
                log_.clear_log(run, p - run);
                if (log_.accel() == Accel::Kvm) {
                    trace_.log("migration", "KVM_CLEAR_DIRTY_LOG pfn ", run, "..", p - 1,
                               " (arm; chunk ", chunk, " left for the sender)");
                }
            }
            break;
        }
        // Dirty memory: drop what was recorded since the sync; the page
        // will be sent with its content (cpu_physical_memory_test_and_clear_dirty_bits()).
        for (Pfn q = run; q < p; ++q) {
            log_.test_and_clear_dirty_memory(q);
        }
    }
    arm_log_clears_ += log_.log_clears() - clears;
    arm_empty_log_clears_ += log_.empty_log_clears() - empty;
    *pages = n;
}

std::uint64_t MigrationRam::clear_dirty_range(Pfn start, Pfn n, bool mark_skipped)
{
    std::uint64_t cleared = 0;
    for (Pfn p = start; p < start + n; ++p) {
        if (bmap_[p]) {
            if (mark_skipped) {
                skipped_[p] = 1;
            }
            bmap_[p] = 0;
            ++cleared;
        }
    }
    dirty_pages_ -= cleared;
    return cleared;
}

void MigrationRam::skip_range(Pfn start, Pfn n, std::uint64_t* pages)
{
    // ram_filter_skip_pages(): remember what was never sent, for a
    // switch to postcopy -- only the pages this skip takes out of bmap.
    *pages = clear_dirty_range(start, n, true);
}

void MigrationRam::upstream_free_page_hint(Pfn start, Pfn n, std::uint64_t* pages)
{
    // Upstream's function knows nothing of filter_skipped: bmap only.
    clear_chunks_range(start, n);
    *pages = clear_dirty_range(start, n, false);
}

}  // namespace fph_sim
