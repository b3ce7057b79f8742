// Unit tests of the counting types and of the exposition helpers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <ctime>
#include <map>
#include <thread>
#include <vector>

#include "metrics/counters.h"
#include "metrics/exposition.h"

namespace nightjar::metrics {
namespace {

using prometheus::MetricType;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(CounterTest, CountsFromManyThreadsWithoutLoss) {
  Counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 100'000; ++i) c.Add();
    });
  }
  for (auto& t : threads) t.join();
  c.Add(5);
  EXPECT_EQ(c.value(), 400'005u);
}

TEST(HistogramTest, BucketsAreCumulativeInSecondsWithInfLast) {
  static constexpr int64_t kBounds[] = {1'000, 2'000, 3'000};
  Histogram h(kBounds);
  h.Observe(500);    // <= 1 us
  h.Observe(1'000);  // bounds are inclusive (le)
  h.Observe(2'500);  // <= 3 us
  h.Observe(9'000);  // +Inf
  h.Observe(-7);     // clamped to 0
  auto s = h.Snapshot();
  ASSERT_EQ(s.bucket.size(), 4u);
  EXPECT_DOUBLE_EQ(s.bucket[0].upper_bound, 1e-6);
  EXPECT_EQ(s.bucket[0].cumulative_count, 3u);
  EXPECT_EQ(s.bucket[1].cumulative_count, 3u);
  EXPECT_EQ(s.bucket[2].cumulative_count, 4u);
  EXPECT_TRUE(std::isinf(s.bucket[3].upper_bound));
  EXPECT_EQ(s.bucket[3].cumulative_count, 5u);
  EXPECT_EQ(s.sample_count, 5u);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_DOUBLE_EQ(s.sample_sum, 13'000e-9);
}

TEST(HistogramTest, ConcurrentObserversLoseNoSample) {
  Histogram h;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 50'000; ++i) h.Observe(int64_t{i} * 1000 * (t + 1));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.Snapshot().bucket.back().cumulative_count, 200'000u);
}

TEST(HistogramTest, DefaultBoundsIncrease) {
  auto b = LatencyBoundsNs();
  ASSERT_FALSE(b.empty());
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
  EXPECT_LE(b.size(), Histogram::kMaxBuckets);
}

TEST(ExpositionTest, SerializesOneHelpAndTypePerFamilyAndHistogramOnce) {
  auto calls = Family("t_calls_total", "Calls.", MetricType::Counter);
  AddCounter(&calls, {{"function", "echo"}, {"code", "200"}}, 3);
  AddCounter(&calls, {{"function", "echo"}, {"code", "502"}}, 1);
  auto lat = Family("t_seconds", "Latency.", MetricType::Histogram);
  static constexpr int64_t kBounds[] = {1'000'000};
  Histogram h(kBounds);
  h.Observe(10);
  AddHistogram(&lat, {{"function", "echo"}}, h.Snapshot());
  auto empty = Family("t_empty", "Nothing.", MetricType::Gauge);
  const std::string text = Serialize({calls, lat, empty});
  EXPECT_THAT(text, HasSubstr("# TYPE t_calls_total counter\n"));
  EXPECT_THAT(text, HasSubstr("t_calls_total{function=\"echo\",code=\"502\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("t_seconds_bucket{function=\"echo\",le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("t_seconds_count{function=\"echo\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("t_empty")));
  // The +Inf bucket this code supplies is not repeated by the serializer.
  size_t infs = 0;
  for (size_t p = text.find("le=\"+Inf\""); p != std::string::npos;
       p = text.find("le=\"+Inf\"", p + 1)) {
    ++infs;
  }
  EXPECT_EQ(infs, 1u);
}

TEST(ExpositionTest, LabelValuesAreEscaped) {
  auto f = Family("t_total", "T.", MetricType::Counter);
  AddCounter(&f, {{"function", "a\"b\\c\nd"}}, 1);
  EXPECT_THAT(Serialize({f}), HasSubstr("t_total{function=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(ExpositionTest, AddLabelGoesFirstOnEverySampleLine) {
  const std::string in =
      "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\nb 3\nc{} 4\n";
  EXPECT_EQ(AddLabel(in, "engine", "h:1\"\\\n"),
            "# HELP a_total A.\n# TYPE a_total counter\n"
            "a_total{engine=\"h:1\\\"\\\\\\n\",x=\"1\"} 2\n"
            "b{engine=\"h:1\\\"\\\\\\n\"} 3\n"
            "c{engine=\"h:1\\\"\\\\\\n\"} 4\n");
}

TEST(ExpositionTest, MergeKeepsOneHeadPerFamilyAndEverySample) {
  const std::string gw =
      "# HELP process_open_fds Fds.\n# TYPE process_open_fds gauge\nprocess_open_fds 7\n";
  const std::string e1 = AddLabel(
      "# HELP nightjar_x_total X.\n# TYPE nightjar_x_total counter\nnightjar_x_total 1\n"
      "# HELP process_open_fds Fds.\n# TYPE process_open_fds gauge\nprocess_open_fds 9\n",
      "engine", "e1");
  const std::string e2 = AddLabel(
      "# HELP process_open_fds Fds.\n# TYPE process_open_fds gauge\nprocess_open_fds 11\n"
      "# HELP nightjar_x_total X.\n# TYPE nightjar_x_total counter\nnightjar_x_total 2\n",
      "engine", "e2");
  const std::string parts[] = {gw, e1, e2};
  EXPECT_EQ(MergeExpositions(parts),
            "# HELP process_open_fds Fds.\n# TYPE process_open_fds gauge\n"
            "process_open_fds 7\n"
            "process_open_fds{engine=\"e1\"} 9\n"
            "process_open_fds{engine=\"e2\"} 11\n"
            "# HELP nightjar_x_total X.\n# TYPE nightjar_x_total counter\n"
            "nightjar_x_total{engine=\"e1\"} 1\n"
            "nightjar_x_total{engine=\"e2\"} 2\n");
}

TEST(ExpositionTest, HistogramSampleLinesStayWithTheirFamily) {
  auto lat = Family("h_seconds", "H.", MetricType::Histogram);
  Histogram h;
  h.Observe(1);
  AddHistogram(&lat, {}, h.Snapshot());
  const std::string one = Serialize({lat});
  const std::string parts[] = {AddLabel(one, "engine", "a"), AddLabel(one, "engine", "b")};
  const std::string merged = MergeExpositions(parts);
  EXPECT_EQ(merged.find("# TYPE h_seconds histogram"), merged.rfind("# TYPE h_seconds histogram"));
  EXPECT_THAT(merged, HasSubstr("h_seconds_count{engine=\"b\"} 1\n"));
  EXPECT_LT(merged.find("h_seconds_count{engine=\"a\"}"),
            merged.find("h_seconds_bucket{engine=\"b\""));
}

TEST(ProcessMetricsTest, HasTheStandardNamesWithPlausibleValues) {
  std::map<std::string, double> values;
  for (const auto& f : ProcessFamilies()) {
    ASSERT_EQ(f.metric.size(), 1u) << f.name;
    values[f.name] = f.type == MetricType::Counter ? f.metric[0].counter.value
                                                   : f.metric[0].gauge.value;
  }
  EXPECT_GE(values.at("process_cpu_seconds_total"), 0);
  EXPECT_GT(values.at("process_resident_memory_bytes"), 1 << 20);
  EXPECT_GT(values.at("process_virtual_memory_bytes"), values.at("process_resident_memory_bytes"));
  EXPECT_GE(values.at("process_open_fds"), 3);  // stdin, stdout, stderr at least
  EXPECT_GE(values.at("process_max_fds"), values.at("process_open_fds"));
  EXPECT_GT(values.at("process_start_time_seconds"), 1.6e9);  // after 2020
  EXPECT_LE(values.at("process_start_time_seconds"), static_cast<double>(std::time(nullptr)) + 1);
}

}  // namespace
}  // namespace nightjar::metrics
