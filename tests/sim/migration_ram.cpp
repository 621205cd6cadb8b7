// SPDX-License-Identifier: GPL-2.0-or-later
#include "migration_ram.hpp"

#include <algorithm>

namespace fph_sim {

MigrationRam::MigrationRam(GuestMemory& mem, DirtyLog& log, unsigned clear_bmap_shift,
                           const Trace& trace)
    : mem_(mem), log_(log), shift_(clear_bmap_shift), trace_(trace), bmap_(mem.pages(), 0),
      clear_bmap_(((mem.pages() - 1) >> clear_bmap_shift) + 1, 0), dest_(mem.pages(), 0)
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
    bmap_[pfn] = 0;
    --dirty_pages_;
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
    trace_.log("migration", "final round: sent ", sent, " pages");
    return sent;
}

void MigrationRam::arm_range(Pfn start, Pfn n, std::uint64_t* pages)
{
    // KVM: clear the bits collected at the last sync (and re-protect) for
    // chunks not yet cleared; every page they cover is still to be sent.
    clear_chunks_range(start, n);
    // Dirty memory: drop what was recorded since the sync, but only for
    // pages still to be sent -- for a sent page it is the only trace.
    for (Pfn p = start; p < start + n; ++p) {
        if (bmap_[p]) {
            log_.test_and_clear_dirty_memory(p);
        }
    }
    *pages = n;
}

void MigrationRam::skip_range(Pfn start, Pfn n, std::uint64_t* pages)
{
    std::uint64_t cleared = 0;
    for (Pfn p = start; p < start + n; ++p) {
        cleared += bmap_[p];
        bmap_[p] = 0;
    }
    dirty_pages_ -= cleared;
    *pages = cleared;
}

void MigrationRam::upstream_free_page_hint(Pfn start, Pfn n, std::uint64_t* pages)
{
    clear_chunks_range(start, n);
    skip_range(start, n, pages);
}

}  // namespace fph_sim
