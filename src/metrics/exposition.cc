// Exposition helpers; see exposition.h.
#include "metrics/exposition.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "prometheus/text_serializer.h"

namespace nightjar::metrics {
namespace {

prometheus::ClientMetric& NewSample(prometheus::MetricFamily* f, Labels labels) {
  prometheus::ClientMetric& m = f->metric.emplace_back();
  m.label.reserve(labels.size());
  for (const auto& [name, value] : labels) m.label.push_back({std::string(name), std::string(value)});
  return m;
}

// strtod: /proc text is trusted, but a parse failure must not throw on an I/O thread.
double ToDouble(const std::string& s) { return std::strtod(s.c_str(), nullptr); }

// The family a "# HELP name ..." or "# TYPE name ..." line names; empty for other lines.
std::string_view CommentFamily(std::string_view line) {
  if (!line.starts_with("# HELP ") && !line.starts_with("# TYPE ")) return {};
  line.remove_prefix(7);
  return line.substr(0, line.find(' '));
}

}  // namespace

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void AddCounter(prometheus::MetricFamily* f, Labels labels, double value) {
  NewSample(f, labels).counter.value = value;
}

void AddGauge(prometheus::MetricFamily* f, Labels labels, double value) {
  NewSample(f, labels).gauge.value = value;
}

void AddHistogram(prometheus::MetricFamily* f, Labels labels,
                  prometheus::ClientMetric::Histogram h) {
  NewSample(f, labels).histogram = std::move(h);
}

std::string Serialize(const std::vector<prometheus::MetricFamily>& families) {
  std::vector<prometheus::MetricFamily> present;
  for (const auto& f : families) {
    if (!f.metric.empty()) present.push_back(f);
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, present);
  return out.str();
}

std::string AddLabel(std::string_view exposition, std::string_view name, std::string_view value) {
  std::string label(name);
  label += "=\"";
  for (char c : value) {
    if (c == '\\') {
      label += "\\\\";
    } else if (c == '"') {
      label += "\\\"";
    } else if (c == '\n') {
      label += "\\n";
    } else {
      label.push_back(c);
    }
  }
  label += '"';
  std::string out;
  out.reserve(exposition.size() + exposition.size() / 4);
  while (!exposition.empty()) {
    const size_t nl = exposition.find('\n');
    std::string_view line = exposition.substr(0, nl);
    exposition.remove_prefix(nl == std::string_view::npos ? exposition.size() : nl + 1);
    if (line.empty() || line.front() == '#') {
      out.append(line);
    } else {
      // A metric name holds neither '{' nor ' ': the first of them ends it.
      const size_t end = line.find_first_of("{ ");
      if (end == std::string_view::npos) {
        out.append(line);  // not a sample line; left as it is
      } else if (line[end] == '{') {
        out.append(line.substr(0, end + 1)).append(label);
        if (line.size() > end + 1 && line[end + 1] != '}') out.push_back(',');
        out.append(line.substr(end + 1));
      } else {
        out.append(line.substr(0, end)).append("{").append(label).append("}");
        out.append(line.substr(end));
      }
    }
    out.push_back('\n');
  }
  return out;
}

std::string MergeExpositions(std::span<const std::string> parts) {
  struct Merged {
    std::string head;     // HELP and TYPE lines
    std::string samples;  // every part's sample lines, in order
  };
  std::vector<std::string> order;
  std::map<std::string, Merged, std::less<>> families;
  std::string untyped;
  for (const std::string& part : parts) {
    std::string_view rest = part;
    Merged* current = nullptr;
    std::string_view current_name;
    bool head_owned = false;  // this part supplies the family's HELP/TYPE
    while (!rest.empty()) {
      const size_t nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
      if (line.empty()) continue;
      if (std::string_view fam = CommentFamily(line); !fam.empty()) {
        if (current == nullptr || fam != current_name) {
          auto it = families.find(fam);
          if (it == families.end()) {
            it = families.emplace(std::string(fam), Merged{}).first;
            order.push_back(it->first);
            head_owned = true;
          } else {
            head_owned = false;
          }
          current = &it->second;
          current_name = it->first;
        }
        if (head_owned) current->head.append(line).push_back('\n');
        continue;
      }
      if (line.front() == '#') continue;  // other comments carry nothing
      std::string& to = current != nullptr ? current->samples : untyped;
      to.append(line).push_back('\n');
    }
  }
  std::string out = untyped;
  for (const std::string& name : order) {
    const Merged& m = families.find(name)->second;
    out += m.head;
    out += m.samples;
  }
  return out;
}

std::vector<prometheus::MetricFamily> ProcessFamilies() {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  // /proc/self/stat (proc(5)): the fields after the parenthesised command name, which
  // may itself hold spaces and parentheses.
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren != std::string::npos && ticks > 0) {
    std::istringstream fields(stat.substr(paren + 2));
    std::vector<std::string> f;
    for (std::string s; fields >> s;) f.push_back(s);
    // f[0] is field 3 (state): field n is f[n - 3].
    if (f.size() > 21) {
      const double utime = ToDouble(f[14 - 3]), stime = ToDouble(f[15 - 3]);
      const double starttime = ToDouble(f[22 - 3]);
      const double vsize = ToDouble(f[23 - 3]), rss = ToDouble(f[24 - 3]);
      auto& cpu = out.emplace_back(Family("process_cpu_seconds_total",
                                          "Total user and system CPU time spent in seconds.",
                                          MetricType::Counter));
      AddCounter(&cpu, {}, (utime + stime) / ticks);
      auto& vm = out.emplace_back(Family("process_virtual_memory_bytes",
                                         "Virtual memory size in bytes.", MetricType::Gauge));
      AddGauge(&vm, {}, vsize);
      auto& rm = out.emplace_back(Family("process_resident_memory_bytes",
                                         "Resident memory size in bytes.", MetricType::Gauge));
      AddGauge(&rm, {}, rss * page);
      // Start time since boot + the boot time (btime in /proc/stat) = since the epoch.
      std::ifstream proc_stat("/proc/stat");
      for (std::string line; std::getline(proc_stat, line);) {
        if (!line.starts_with("btime ")) continue;
        auto& st = out.emplace_back(
            Family("process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.", MetricType::Gauge));
        AddGauge(&st, {}, ToDouble(line.substr(6)) + starttime / ticks);
        break;
      }
    }
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    double n = 0;
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
    auto& fds = out.emplace_back(
        Family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge));
    AddGauge(&fds, {}, n - 1);  // less the one opendir() holds
  }
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0) {
    auto& max = out.emplace_back(Family(
        "process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge));
    AddGauge(&max, {}, r.rlim_cur == RLIM_INFINITY ? 0 : static_cast<double>(r.rlim_cur));
  }
  return out;
}

}  // namespace nightjar::metrics
