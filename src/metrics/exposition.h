// The Prometheus text exposition (format 0.0.4,
// https://prometheus.io/docs/instrumenting/exposition_formats/) of Nightjar's metrics:
// building MetricFamily values, serializing them with prometheus-cpp's TextSerializer,
// and the gateway's merge of several processes' expositions into one valid page.
//
// Thread rule: free functions, any thread. None of this runs on the call path.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"

namespace nightjar::metrics {

// The Content-Type of GET /metrics (exposition format 0.0.4).
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// A family with no samples yet. `type`: Counter, Gauge or Histogram.
prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type);
// Appends one sample to `f` (whose type says which of the values is meant).
void AddCounter(prometheus::MetricFamily* f, Labels labels, double value);
void AddGauge(prometheus::MetricFamily* f, Labels labels, double value);
void AddHistogram(prometheus::MetricFamily* f, Labels labels,
                  prometheus::ClientMetric::Histogram h);

// TextSerializer's output for `families` (families without samples are left out).
std::string Serialize(const std::vector<prometheus::MetricFamily>& families);

// Adds the label name="value" to every sample line of `exposition` (as the first label;
// the value is escaped as the format requires: \\, \", \n). Comment lines pass unchanged.
// `name` must be a valid label name that the exposition's samples do not carry.
std::string AddLabel(std::string_view exposition, std::string_view name, std::string_view value);

// Merges several expositions into one in which every family appears once: its HELP and
// TYPE lines from the first part that has it, then its samples from every part in order.
// A family is the run of lines from a "# HELP"/"# TYPE" line to the next family's; sample
// lines before any (untyped) pass through first. Parts must themselves be valid; samples of
// one family that clash across parts must have been told apart (AddLabel) beforehand.
std::string MergeExpositions(std::span<const std::string> parts);

// The standard process metrics of the calling process, named as the Prometheus client
// guidelines name them (https://prometheus.io/docs/instrumenting/writing_clientlibs/
// #process-metrics): process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds,
// process_start_time_seconds. Read from /proc/self; a file that cannot be read leaves its
// metrics out.
std::vector<prometheus::MetricFamily> ProcessFamilies();

}  // namespace nightjar::metrics
