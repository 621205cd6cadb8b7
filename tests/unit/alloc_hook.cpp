// SPDX-License-Identifier: GPL-2.0-or-later
// Replaces the global operator new/delete.  Kept alone in this file so the
// compiler never sees new and free() together (-Wmismatched-new-delete).
#include "alloc_hook.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<long> g_fail_after{-1};
}  // namespace

void fph_test::set_alloc_failure(long after) noexcept
{
    g_fail_after = after;
}

void* operator new(std::size_t n)
{
    long left = g_fail_after.load();
    while (left >= 0) {
        if (left == 0) {
            throw std::bad_alloc();
        }
        if (g_fail_after.compare_exchange_weak(left, left - 1)) {
            break;
        }
    }
    if (void* p = std::malloc(n ? n : 1)) {
        return p;
    }
    throw std::bad_alloc();
}

void operator delete(void* p) noexcept
{
    std::free(p);
}

void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}

// The other forms, so every allocation in the binary pairs malloc/free.
void* operator new[](std::size_t n)
{
    return ::operator new(n);
}

void* operator new(std::size_t n, const std::nothrow_t&) noexcept
{
    try {
        return ::operator new(n);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}

void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept
{
    return ::operator new(n, tag);
}

void operator delete[](void* p) noexcept
{
    std::free(p);
}

void operator delete[](void* p, std::size_t) noexcept
{
    std::free(p);
}

void operator delete(void* p, const std::nothrow_t&) noexcept
{
    std::free(p);
}

void operator delete[](void* p, const std::nothrow_t&) noexcept
{
    std::free(p);
}
