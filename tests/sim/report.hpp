// SPDX-License-Identifier: GPL-2.0-or-later
// One-line summaries of batches, shared by the CLI and the tests.
#pragma once

#include <ostream>

#include "runner.hpp"

namespace fph_sim {

void print_summary(std::ostream& out, const BatchOptions& opt, const BatchSummary& s);
void print_failure(std::ostream& out, const RunResult& r);

}  // namespace fph_sim
