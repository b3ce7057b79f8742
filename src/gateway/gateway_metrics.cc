// GatewayMetrics; see gateway_metrics.h.
#include "gateway/gateway_metrics.h"

#include <algorithm>

#include "metrics/exposition.h"

namespace nightjar::gateway {

GatewayMetrics::GatewayMetrics(const config::Config& config) {
  for (const auto& f : config.functions) {
    const int index = static_cast<int>(functions_.size());
    auto& p = functions_.emplace_back(std::make_unique<PerFunction>());
    p->name = f.name;
    by_name_.emplace_back(f.name, index);
    if (!f.grpc.empty()) by_name_.emplace_back("grpc:" + f.grpc, index);
  }
  std::sort(by_name_.begin(), by_name_.end());
}

int GatewayMetrics::Find(std::string_view function) const {
  auto it = std::lower_bound(
      by_name_.begin(), by_name_.end(), function,
      [](const std::pair<std::string, int>& e, std::string_view f) { return e.first < f; });
  return it != by_name_.end() && it->first == function ? it->second : -1;
}

void GatewayMetrics::Count(int index, int code, int64_t ns) {
  if (index < 0 || static_cast<size_t>(index) >= functions_.size()) return;
  size_t c = 0;
  while (c < kNumCodes && kCodes[c] != code) ++c;
  if (c == kNumCodes) c = 4;  // 500
  PerCode& pc = functions_[static_cast<size_t>(index)]->codes[c];
  pc.calls.Add();
  pc.seconds.Observe(ns);
}

std::string GatewayMetrics::Page(const std::string& engines) const {
  using prometheus::MetricType;
  auto calls = metrics::Family("gateway_function_invocation_total",
                               "Function calls answered by the gateway, by HTTP status code.",
                               MetricType::Counter);
  auto seconds = metrics::Family("gateway_functions_seconds",
                                 "Function call latency measured by the gateway, in seconds.",
                                 MetricType::Histogram);
  for (const auto& f : functions_) {
    for (size_t c = 0; c < kNumCodes; ++c) {
      const PerCode& pc = f->codes[c];
      const uint64_t n = pc.calls.value();
      if (n == 0) continue;  // a series appears with its first call, as in OpenFaaS
      const std::string code = std::to_string(kCodes[c]);
      metrics::AddCounter(&calls, {{"function_name", f->name}, {"code", code}},
                          static_cast<double>(n));
      metrics::AddHistogram(&seconds, {{"function_name", f->name}, {"code", code}},
                            pc.seconds.Snapshot());
    }
  }
  std::vector<prometheus::MetricFamily> families = {calls, seconds};
  for (auto& f : metrics::ProcessFamilies()) families.push_back(std::move(f));
  const std::string parts[] = {metrics::Serialize(families), engines};
  return metrics::MergeExpositions(parts);
}

}  // namespace nightjar::gateway
