// gnuplot plots (see plots.h).
#include "plots.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include "util.h"

namespace nightjar::bench {

namespace {

// The distributions drawn in the CDF plots, in legend order.
const char* const kCdfSeries[] = {
    "channel.rtt_1k",   "floor.pipe_rtt_1k", "floor.pipe_3hop_1k",
    "internal.nop",     "floor.tcp_rtt_1k",  "floor.tcp_2hop_1k",
    "external.nop.seq", "internal.chain4",   "floor.grpc_uds_rtt_1k",
};

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> DrawPlots(const Results& results, const std::string& data_dir,
                                           const std::string& out_dir, const std::string& title) {
  std::vector<std::string> pngs;
  std::ostringstream gp;
  gp << "set terminal pngcairo noenhanced size 1000,650 font 'sans,10'\n"
     << "set grid\nset key outside right top\nset datafile missing '?'\n";
  // Nine distinguishable colours, so no two series share one.
  const char* const colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                 "#8c564b", "#e377c2", "#7f7f7f", "#17becf"};
  for (size_t i = 0; i < std::size(colours); ++i) {
    gp << "set linetype " << i + 1 << " lc rgb '" << colours[i] << "' lw 2\n";
  }
  gp << "set linetype cycle " << std::size(colours) << "\n";

  // Latency against offered load.
  std::vector<const Measurement*> steps;
  for (const Measurement& r : results.all()) {
    if (r.name.rfind("external.nop.load.", 0) == 0 && r.extra.count("offered_rate")) {
      steps.push_back(&r);
    }
  }
  std::sort(steps.begin(), steps.end(), [](const Measurement* a, const Measurement* b) {
    return a->extra.at("offered_rate") < b->extra.at("offered_rate");
  });
  if (!steps.empty()) {
    const std::string dat = data_dir + "/load.dat";
    std::ofstream f(dat);
    f << "# offered achieved p50_us p99_us p999_us sustained\n";
    for (const Measurement* r : steps) {
      f << r->extra.at("offered_rate") << " " << r->extra.at("achieved_rate") << " " << r->p50
        << " " << r->p99 << " " << r->p999 << " " << r->extra.at("sustained") << "\n";
    }
    const std::string png = out_dir + "/latency_vs_load.png";
    gp << "set output '" << png << "'\n"
       << "set title \"" << Escape(title) << "\\nexternal nop, open-loop Poisson load\"\n"
       << "set xlabel 'offered load (calls/s)'\nset ylabel 'latency (us), from intended send'\n"
       << "set logscale y\nunset logscale x\nset format y '%g'\n"
       << "plot '" << dat << "' using 1:3 with linespoints title 'p50', "
       << "'' using 1:4 with linespoints title 'p99', "
       << "'' using 1:5 with linespoints title 'p99.9'\n";
    pngs.push_back(png);
  }

  // CDFs.
  std::vector<std::pair<std::string, std::string>> cdfs;  // (name, data file)
  for (const char* name : kCdfSeries) {
    const Measurement* r = results.Find(name);
    if (r == nullptr || !r->is_latency() || r->samples == 0) continue;
    const std::string dat = data_dir + "/cdf_" + name + ".dat";
    std::ofstream f(dat);
    f << "# latency_us fraction one_minus_fraction\n";
    for (const auto& p : r->histogram->Cdf(1000)) {
      // The last point has nothing above it: no 1 - F on a log axis ("?" = missing).
      f << static_cast<double>(p.value) / 1e3 << " " << p.fraction << " ";
      if (p.fraction < 1.0) {
        f << 1.0 - p.fraction << "\n";
      } else {
        f << "?\n";
      }
    }
    cdfs.emplace_back(name, dat);
  }
  if (!cdfs.empty()) {
    auto plot = [&](const std::string& png, const std::string& ylabel, int column, bool log_y) {
      gp << "set output '" << png << "'\n"
         << "set title \"" << Escape(title) << "\\nlatency distributions, same run\"\n"
         << "set xlabel 'latency (us)'\nset ylabel '" << ylabel << "'\n"
         << "set logscale x\n"
         << (log_y ? "set logscale y\nset format y '%g'\n" : "unset logscale y\n") << "plot ";
      for (size_t i = 0; i < cdfs.size(); ++i) {
        gp << (i ? ", " : "") << "'" << cdfs[i].second << "' using 1:" << column
           << " with lines lw 2 title '" << cdfs[i].first << "'";
      }
      gp << "\n";
      pngs.push_back(png);
    };
    plot(out_dir + "/latency_cdf.png", "fraction of calls <= latency", 2, false);
    plot(out_dir + "/latency_ccdf.png", "fraction of calls > latency", 3, true);
  }

  if (pngs.empty()) return pngs;
  const std::string script = data_dir + "/plots.gp";
  {
    std::ofstream f(script);
    f << gp.str();
    if (!f) return Internal("cannot write " + script);
  }
  NJ_RETURN_IF_ERROR(RunProcess({"gnuplot", script}, data_dir + "/gnuplot.log", 120));
  return pngs;
}

}  // namespace nightjar::bench
