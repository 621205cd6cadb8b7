// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <bitset>
#include <cstdint>
#include <random>
#include <vector>

#include "interval_set.hpp"

namespace {

using fph::IntervalSet;
using fph::Range;
using V = std::vector<Range>;

Range rb(std::uint64_t s, std::uint64_t e)
{
    return Range::from_bounds(s, e);
}

V pieces(const IntervalSet& s, Range r)
{
    V out;
    s.for_each_intersection(r, [&](const Range& p) { out.push_back(p); });
    return out;
}

TEST(IntervalSet, StartsEmpty)
{
    IntervalSet s;
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.size(), 0u);
    EXPECT_FALSE(s.contains(rb(0, 1)));
    EXPECT_FALSE(s.intersects(rb(0, UINT64_MAX)));
}

TEST(IntervalSet, InsertDisjointKeepsOrder)
{
    IntervalSet s;
    s.insert(rb(30, 40));
    s.insert(rb(10, 20));
    EXPECT_EQ(s.to_vector(), (V{rb(10, 20), rb(30, 40)}));
    EXPECT_EQ(s.total_bytes(), 20u);
}

TEST(IntervalSet, InsertMergesAdjacentBothSides)
{
    IntervalSet s;
    s.insert(rb(10, 20));
    s.insert(rb(30, 40));
    s.insert(rb(20, 30));  // touches both neighbours exactly
    EXPECT_EQ(s.to_vector(), (V{rb(10, 40)}));
}

TEST(IntervalSet, InsertMergesOverlapsAndSwallows)
{
    IntervalSet s;
    s.insert(rb(10, 20));
    s.insert(rb(25, 30));
    s.insert(rb(35, 40));
    s.insert(rb(50, 60));
    s.insert(rb(15, 37));  // overlaps first, swallows second, overlaps third
    EXPECT_EQ(s.to_vector(), (V{rb(10, 40), rb(50, 60)}));
    s.insert(rb(0, 100));
    EXPECT_EQ(s.to_vector(), (V{rb(0, 100)}));
}

TEST(IntervalSet, InsertInsideExistingIsNoop)
{
    IntervalSet s;
    s.insert(rb(10, 40));
    s.insert(rb(20, 30));
    EXPECT_EQ(s.to_vector(), (V{rb(10, 40)}));
}

TEST(IntervalSet, GapOfOneIsNotMerged)
{
    IntervalSet s;
    s.insert(rb(10, 20));
    s.insert(rb(21, 30));
    EXPECT_EQ(s.size(), 2u);
}

TEST(IntervalSet, RejectsEmptyAndWrapping)
{
    IntervalSet s;
    EXPECT_FALSE(s.insert(Range{5, 0}));
    EXPECT_FALSE(s.insert(Range{UINT64_MAX - 10, 11}));
    EXPECT_TRUE(s.empty());
    EXPECT_TRUE(s.insert(Range{UINT64_MAX - 10, 10}));  // ends at 2^64 - 1: fine
    EXPECT_TRUE(s.contains(Range{UINT64_MAX - 1, 1}));
}

TEST(IntervalSet, ContainsBoundaries)
{
    IntervalSet s;
    s.insert(rb(100, 200));
    EXPECT_TRUE(s.contains(rb(100, 200)));
    EXPECT_TRUE(s.contains(rb(100, 101)));
    EXPECT_TRUE(s.contains(rb(199, 200)));
    EXPECT_FALSE(s.contains(rb(99, 200)));
    EXPECT_FALSE(s.contains(rb(100, 201)));
    EXPECT_FALSE(s.contains(rb(200, 201)));
    EXPECT_FALSE(s.contains(rb(99, 100)));
    EXPECT_FALSE(s.contains(Range{150, 0}));
}

TEST(IntervalSet, ContainsNeedsOneIntervalNotTwo)
{
    IntervalSet s;
    s.insert(rb(0, 10));
    s.insert(rb(11, 20));
    EXPECT_FALSE(s.contains(rb(5, 15)));
    s.insert(rb(10, 11));
    EXPECT_TRUE(s.contains(rb(5, 15)));
}

TEST(IntervalSet, IntersectsBoundaries)
{
    IntervalSet s;
    s.insert(rb(100, 200));
    EXPECT_TRUE(s.intersects(rb(0, 101)));
    EXPECT_FALSE(s.intersects(rb(0, 100)));
    EXPECT_TRUE(s.intersects(rb(199, 300)));
    EXPECT_FALSE(s.intersects(rb(200, 300)));
    EXPECT_TRUE(s.intersects(rb(0, 1000)));
    EXPECT_TRUE(s.intersects(rb(150, 151)));
}

TEST(IntervalSet, IntersectionClipsToEachInterval)
{
    IntervalSet s;
    s.insert(rb(10, 20));
    s.insert(rb(30, 40));
    s.insert(rb(50, 60));
    EXPECT_EQ(pieces(s, rb(15, 55)), (V{rb(15, 20), rb(30, 40), rb(50, 55)}));
    EXPECT_EQ(pieces(s, rb(20, 30)), V{});
    EXPECT_EQ(pieces(s, rb(0, 100)), (V{rb(10, 20), rb(30, 40), rb(50, 60)}));
    EXPECT_EQ(pieces(s, rb(31, 32)), (V{rb(31, 32)}));
    EXPECT_EQ(pieces(s, Range{12, 0}), V{});
}

TEST(IntervalSet, EraseSplitsInterval)
{
    IntervalSet s;
    s.insert(rb(10, 40));
    s.erase(rb(20, 30));
    EXPECT_EQ(s.to_vector(), (V{rb(10, 20), rb(30, 40)}));
}

TEST(IntervalSet, EraseTrimsEdgesAndRemovesCovered)
{
    IntervalSet s;
    s.insert(rb(10, 20));
    s.insert(rb(30, 40));
    s.insert(rb(50, 60));
    s.insert(rb(70, 80));
    s.erase(rb(15, 55));
    EXPECT_EQ(s.to_vector(), (V{rb(10, 15), rb(55, 60), rb(70, 80)}));
    s.erase(rb(10, 15));  // exactly an interval
    s.erase(rb(75, 80));  // tail of an interval
    s.erase(rb(55, 56));  // head of an interval
    EXPECT_EQ(s.to_vector(), (V{rb(56, 60), rb(70, 75)}));
    s.erase(rb(0, 1000));
    EXPECT_TRUE(s.empty());
}

TEST(IntervalSet, EraseOfGapIsNoop)
{
    IntervalSet s;
    s.insert(rb(10, 20));
    s.insert(rb(30, 40));
    s.erase(rb(20, 30));
    EXPECT_EQ(s.to_vector(), (V{rb(10, 20), rb(30, 40)}));
}

// Compare against a bitmap model over a small universe.
TEST(IntervalSet, GapsAreTheComplementWithinRange)
{
    IntervalSet s;
    s.insert(Range{0x2000, 0x1000});
    s.insert(Range{0x5000, 0x2000});
    std::vector<Range> gaps;
    s.for_each_gap(Range{0x0, 0x8000}, [&](const Range& g) { gaps.push_back(g); });
    EXPECT_EQ(gaps, (std::vector<Range>{Range{0x0, 0x2000}, Range{0x3000, 0x2000},
                                        Range{0x7000, 0x1000}}));
    gaps.clear();
    s.for_each_gap(Range{0x5000, 0x1000}, [&](const Range& g) { gaps.push_back(g); });
    EXPECT_TRUE(gaps.empty());
    s.for_each_gap(Range{0x5800, 0x2000}, [&](const Range& g) { gaps.push_back(g); });
    EXPECT_EQ(gaps, (std::vector<Range>{Range{0x7000, 0x800}}));
}

TEST(IntervalSet, RandomisedAgainstBitmap)
{
    constexpr std::uint64_t kN = 256;
    std::mt19937_64 rng(12345);
    IntervalSet s;
    std::bitset<kN> model;
    for (int step = 0; step < 5000; ++step) {
        const std::uint64_t a = rng() % kN;
        const std::uint64_t b = a + 1 + rng() % (kN - a);
        const Range r = rb(a, b);
        const int op = static_cast<int>(rng() % 4);
        if (op == 0 || op == 1) {
            s.insert(r);
            for (auto i = a; i < b; ++i)
                model.set(i);
        } else if (op == 2) {
            s.erase(r);
            for (auto i = a; i < b; ++i)
                model.reset(i);
        }
        bool all = true, any = false;
        for (auto i = a; i < b; ++i) {
            all = all && model[i];
            any = any || model[i];
        }
        ASSERT_EQ(s.contains(r), all) << "step " << step;
        ASSERT_EQ(s.intersects(r), any) << "step " << step;
        // Structure: sorted, disjoint, non-adjacent, and equal to the model.
        std::bitset<kN> seen;
        std::uint64_t prev_end = 0;
        bool first = true;
        for (const Range& iv : s.to_vector()) {
            ASSERT_FALSE(iv.empty());
            if (!first) {
                ASSERT_GT(iv.addr, prev_end);
            }
            first = false;
            prev_end = iv.end();
            for (auto i = iv.addr; i < iv.end(); ++i)
                seen.set(i);
        }
        ASSERT_EQ(seen, model) << "step " << step;
        std::uint64_t clipped = 0;
        s.for_each_intersection(r, [&](const Range& p) {
            for (auto i = p.addr; i < p.end(); ++i)
                ASSERT_TRUE(model[i]);
            clipped += p.len;
        });
        std::uint64_t expect = 0;
        for (auto i = a; i < b; ++i)
            expect += model[i];
        ASSERT_EQ(clipped, expect);
    }
}

TEST(IntervalSet, ScalesToManyRanges)
{
    // 200k disjoint page ranges, as one epoch of a large guest may produce.
    constexpr std::uint64_t kRanges = 200'000;
    IntervalSet s;
    for (std::uint64_t i = 0; i < kRanges; ++i) {
        s.insert(Range{(kRanges - 1 - i) * 0x2000, 0x1000});  // reverse order
    }
    EXPECT_EQ(s.size(), kRanges);
    for (std::uint64_t i = 0; i < kRanges; i += 997) {
        ASSERT_TRUE(s.contains(Range{i * 0x2000, 0x1000}));
        ASSERT_FALSE(s.intersects(Range{i * 0x2000 + 0x1000, 0x1000}));
    }
    // Filling the gaps collapses everything into one interval.
    for (std::uint64_t i = 0; i < kRanges; ++i) {
        s.insert(Range{i * 0x2000 + 0x1000, 0x1000});
    }
    EXPECT_EQ(s.to_vector(), (V{Range{0, kRanges * 0x2000}}));
}

}  // namespace
