// SPDX-License-Identifier: GPL-2.0-or-later
// placeholder
#include <gtest/gtest.h>
TEST(Sim, Placeholder) {}
