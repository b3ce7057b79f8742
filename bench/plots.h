// PNG plots of a run, drawn by gnuplot (Debian's gnuplot-nox):
//   latency_vs_load.png  open-loop external nop: p50/p99/p99.9 against offered load
//   latency_cdf.png      CDFs of the floors and the Nightjar paths
//   latency_ccdf.png     the same as 1 - CDF on log axes, to show the tails
// Thread rule: free function on the harness thread.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "results.h"

namespace nightjar::bench {

// Writes the data files and the gnuplot script under `data_dir`, runs gnuplot, and leaves
// the PNGs in `out_dir`. Returns the PNG paths written. Fails when gnuplot is missing or
// fails (its output is in data_dir/gnuplot.log).
Result<std::vector<std::string>> DrawPlots(const Results& results, const std::string& data_dir,
                                           const std::string& out_dir, const std::string& title);

}  // namespace nightjar::bench
