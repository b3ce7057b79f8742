// Unit tests of the harness's own machinery (not of Nightjar): schedules, the HTTP
// response parser, the JSON shape, /proc accounting. Built by the `bench` target and run by
// `make bench` / `make bench-quick` before the benchmarks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "deployment.h"
#include "http_client.h"
#include "proc_stat.h"
#include "rate_schedule.h"
#include "report.h"
#include "results.h"

namespace nightjar::bench {
namespace {

TEST(RateScheduleTest, ConstantRateHasExactCountSortedInRange) {
  const ConstantRate s(5000, 2.0);
  EXPECT_NEAR(s.ExpectedRequests(), 10000, 1e-6);
  const auto a = PoissonArrivals(s, 1);
  ASSERT_EQ(a.size(), 10000u);
  EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
  EXPECT_GE(a.front(), 0);
  EXPECT_LT(a.back(), 2'000'000'000);
  // Roughly uniform: each half of the run gets about half of the requests.
  const auto half = std::lower_bound(a.begin(), a.end(), 1'000'000'000) - a.begin();
  EXPECT_NEAR(static_cast<double>(half), 5000, 300);
  EXPECT_EQ(a, PoissonArrivals(s, 1));  // deterministic per seed
  EXPECT_NE(a, PoissonArrivals(s, 2));
}

TEST(RateScheduleTest, InterarrivalsLookExponential) {
  const ConstantRate s(10000, 5.0);
  const auto a = PoissonArrivals(s, 7);
  double sum = 0, sum_sq = 0;
  for (size_t i = 1; i < a.size(); ++i) {
    const double gap = static_cast<double>(a[i] - a[i - 1]);
    sum += gap;
    sum_sq += gap * gap;
  }
  const double n = static_cast<double>(a.size() - 1);
  const double mean = sum / n;
  const double cv = std::sqrt(sum_sq / n - mean * mean) / mean;
  EXPECT_NEAR(mean, 100'000, 2'000);  // 100 us at 10000/s
  EXPECT_NEAR(cv, 1.0, 0.05);         // exponential gaps: coefficient of variation 1
}

TEST(RateScheduleTest, PiecewiseRateFollowsSegments) {
  const PiecewiseRate s({{0, 1000}, {1, 9000}, {1.5, 1000}}, 2.0);
  EXPECT_EQ(s.RateAt(0.5), 1000);
  EXPECT_EQ(s.RateAt(1.2), 9000);
  EXPECT_EQ(s.RateAt(1.9), 1000);
  EXPECT_NEAR(s.ExpectedRequests(), 1000 + 4500 + 500, 1);
  const auto a = PoissonArrivals(s, 3);
  const auto in_burst = std::count_if(
      a.begin(), a.end(), [](int64_t t) { return t >= 1'000'000'000 && t < 1'500'000'000; });
  EXPECT_NEAR(static_cast<double>(in_burst), 4500, 250);
}

TEST(ResponseParserTest, SplitAndPipelinedResponses) {
  ResponseParser p(true);
  std::vector<HttpResponse> out;
  const std::string two =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
      "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nConnection: close\r\n\r\n";
  for (char c : two) ASSERT_TRUE(p.Feed(std::string_view(&c, 1), &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].status, 200);
  EXPECT_EQ(out[0].body, "hello");
  EXPECT_FALSE(out[0].close);
  EXPECT_EQ(out[1].status, 503);
  EXPECT_EQ(out[1].body_size, 0u);
  EXPECT_TRUE(out[1].close);
}

TEST(ResponseParserTest, RejectsGarbageAndChunked) {
  std::vector<HttpResponse> out;
  ResponseParser bad(false);
  EXPECT_FALSE(bad.Feed("SMTP ready\r\n\r\n", &out).ok());
  ResponseParser chunked(false);
  EXPECT_FALSE(chunked.Feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &out).ok());
}

TEST(ResultsTest, JsonHasTheIssueShape) {
  Results r;
  Histogram h;
  for (uint64_t v = 1; v <= 1000; ++v) h.Record(v * 1000);
  r.AddLatency("floor.pipe_rtt_1k", h);
  r.AddValue("internal.nop.max_rate", "calls/s", 51234);
  const std::string json = r.ToJson("abc", "test \"machine\"", "quick");
  EXPECT_NE(json.find("\"git\": \"abc\""), std::string::npos);
  EXPECT_NE(json.find("\"machine\": \"test \\\"machine\\\"\""), std::string::npos);
  EXPECT_NE(json.find("{\"name\": \"floor.pipe_rtt_1k\", \"unit\": \"us\", \"p50\": 500, "
                      "\"p99\": 990, \"p999\": 999, \"samples\": 1000"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"name\": \"internal.nop.max_rate\", \"unit\": \"calls/s\", "
                      "\"value\": 51234}"),
            std::string::npos)
      << json;
}

TEST(ResultsTest, RatiosAreComputedAndJudged) {
  Results r;
  Histogram pipe, internal;
  pipe.Record(10'000);
  internal.Record(15'000);
  r.AddLatency("floor.pipe_rtt_1k", pipe);
  r.AddLatency("internal.nop", internal);
  AddRatios(&r);
  const Measurement* ratio = r.Find("ratio.internal_p50_over_pipe_p50");
  ASSERT_NE(ratio, nullptr);
  EXPECT_DOUBLE_EQ(ratio->value, 1.5);
  EXPECT_EQ(ratio->extra.at("met"), 1);
  EXPECT_EQ(r.Find("ratio.external_p50_over_tcp_p50"), nullptr);  // inputs missing
}

TEST(ResultsTest, PythonRatioIsOverTheCppInternalNop) {
  Results r;
  Histogram cpp, python;
  cpp.Record(10'000);
  python.Record(16'000);
  r.AddLatency("internal.nop", cpp);
  r.AddLatency("internal.nop.python", python);
  AddRatios(&r);
  const Measurement* ratio = r.Find("ratio.python_internal_p50_over_cpp_internal_p50");
  ASSERT_NE(ratio, nullptr);
  EXPECT_DOUBLE_EQ(ratio->value, 1.6);
  EXPECT_EQ(ratio->extra.at("target_max"), 1.5);
  EXPECT_EQ(ratio->extra.at("met"), 0);
}

TEST(ResultsTest, ContainerRatiosAreOverTheProcessNumbers) {
  Results r;
  Histogram process, container, external, external_container;
  process.Record(10'000);
  container.Record(10'400);
  external.Record(20'000);
  external_container.Record(25'000);
  r.AddLatency("internal.nop", process);
  r.AddLatency("internal.nop.container", container);
  r.AddLatency("external.nop.seq", external);
  r.AddLatency("external.nop.container", external_container);
  AddRatios(&r);
  const Measurement* ratio = r.Find("ratio.container_internal_p50_over_process_p50");
  ASSERT_NE(ratio, nullptr);
  EXPECT_DOUBLE_EQ(ratio->value, 1.04);
  EXPECT_EQ(ratio->extra.at("target_max"), 1.05);
  EXPECT_EQ(ratio->extra.at("met"), 1);
  const Measurement* ext = r.Find("ratio.container_external_p50_over_process_p50");
  ASSERT_NE(ext, nullptr);
  EXPECT_DOUBLE_EQ(ext->value, 1.25);
  EXPECT_EQ(ext->extra.count("met"), 0u);  // informational
}

TEST(DeploymentTest, ConfigNamesTheIsolationOnlyWhenGiven) {
  DeploymentSpec spec;
  spec.functions = {
      {"nop", "/b/libnop.so", 2, 4, 0, "", 0},
      {.name = "c-nop", .handler = "/b/libnop.so", .isolation = "container"},
  };
  const std::string y = RenderConfig(spec);
  EXPECT_NE(y.find("  - name: c-nop\n    handler: /b/libnop.so\n    min_workers: 1\n"
                   "    max_workers: 8\n    isolation: container\n"),
            std::string::npos)
      << y;
  EXPECT_EQ(y.find("isolation"), y.rfind("isolation")) << y;  // nop keeps the default
}

TEST(DeploymentTest, ConfigNamesThePythonRuntimeHandlerAndSlots) {
  DeploymentSpec spec;
  spec.functions = {
      {"nop", "/b/libnop.so", 2, 4, 0, "", 0},
      {.name = "py-nop",
       .handler = "/src/examples/python/nop.py:handle",
       .min_workers = 8,
       .max_workers = 8,
       .runtime = "python",
       .slots_per_process = 8},
  };
  const std::string y = RenderConfig(spec);
  EXPECT_NE(y.find("  - name: nop\n    handler: /b/libnop.so\n    min_workers: 2\n"),
            std::string::npos)
      << y;
  EXPECT_NE(y.find("  - name: py-nop\n    runtime: python\n"
                   "    handler: /src/examples/python/nop.py:handle\n"
                   "    min_workers: 8\n    max_workers: 8\n    slots_per_process: 8\n"),
            std::string::npos)
      << y;
  // The C++ entry keeps the engine's defaults: no runtime or slots keys.
  const size_t cpp = y.find("name: nop\n");
  const std::string cpp_entry = y.substr(cpp, y.find("name: py-nop") - cpp);
  EXPECT_EQ(cpp_entry.find("runtime"), std::string::npos) << y;
  EXPECT_EQ(cpp_entry.find("slots_per_process"), std::string::npos) << y;
}

TEST(ResultsTest, ThreeDigits) {
  EXPECT_DOUBLE_EQ(ThreeDigits(12.345), 12.3);
  EXPECT_DOUBLE_EQ(ThreeDigits(123456), 123000);
  EXPECT_DOUBLE_EQ(ThreeDigits(0.0012345), 0.00123);
  EXPECT_DOUBLE_EQ(ThreeDigits(0), 0);
}

TEST(ProcStatTest, ContainerProcessesAreFoundByTheirEnginesCgroup) {
  // cgroup v1 (one line per hierarchy) and v2 (one "0::" line), as /proc/<pid>/cgroup has them.
  const std::string v1 = "4:memory:/nightjar/nightjar-123-0a1b2c3d-6-0\n3:cpuset:/\n0::/\n";
  const std::string v2 = "0::/nightjar/nightjar-123-0a1b2c3d-6-1\n";
  EXPECT_TRUE(InContainerOf(v1, 123));
  EXPECT_TRUE(InContainerOf(v2, 123));
  EXPECT_FALSE(InContainerOf(v1, 12));  // another engine's pid is a prefix of this one's
  EXPECT_FALSE(InContainerOf(v2, 1234));
  EXPECT_FALSE(InContainerOf("4:memory:/other/nightjar-123-0a1b2c3d-6-0\n0::/\n", 123));
  EXPECT_FALSE(InContainerOf("0::/\n", 123));
}

TEST(ProcStatTest, OwnTreeIsFoundAndUsesCpu) {
  const auto tree = ProcessTree(::getpid());
  ASSERT_FALSE(tree.empty());
  EXPECT_EQ(tree.front(), ::getpid());
  volatile double x = 0;
  auto before = ProcessTreeCpuUs(::getpid());
  ASSERT_TRUE(before.ok());
  for (int i = 0; i < 50'000'000; ++i) x = x + 1;
  auto after = ProcessTreeCpuUs(::getpid());
  ASSERT_TRUE(after.ok());
  EXPECT_GE(*after, *before);
  EXPECT_FALSE(ProcessTreeCpuUs(999999999).ok());
}

}  // namespace
}  // namespace nightjar::bench
