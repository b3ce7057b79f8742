// The human-readable report (a table on stdout) and the ratios the targets are stated in.
// Thread rule: free functions on the harness thread.
#pragma once

#include <ostream>
#include <string>

#include "results.h"

namespace nightjar::bench {

// Adds the target ratios (ratio.*) and target verdicts computed from the measured results to
// `results`, so they land in the JSON too. Ratios whose inputs are missing are skipped.
void AddRatios(Results* results);

// Prints every result and the ratio/target table.
void PrintReport(const Results& results, const std::string& header, std::ostream& out);

}  // namespace nightjar::bench
