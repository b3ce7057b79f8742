// Tracer: the OTLP/HTTP JSON it writes, its bounded queue, and a real export to an HTTP
// server on 127.0.0.1 (cpp-httplib's server, port 0).
#include "engine/tracer.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace nightjar::engine {
namespace {

SpanRecord Span(uint64_t call_id, bool external) {
  SpanRecord s;
  for (int i = 0; i < 16; ++i) s.trace_id[i] = static_cast<uint8_t>(0x10 + i);
  s.call_id = call_id;
  s.span_id = proto::SpanIdFor(call_id, s.trace_id);
  s.parent_span_id = external ? 0x00f067aa0ba902b7ull : 0;
  s.start_ns = 1'000;
  s.end_ns = 5'000;
  s.function_id = 1;
  s.status = external ? 0 : static_cast<uint16_t>(proto::CallStatus::kTimeout);
  s.external = external;
  return s;
}

TEST(TracerJson, IsAnExportTraceServiceRequest) {
  const std::string body = Tracer::ExportJson({Span(0x0010000000000005ull, true), Span(9, false)},
                                              "svc", {"", "echo"}, 1'700'000'000'000'000'000);
  const auto j = nlohmann::json::parse(body);
  const auto& rs = j.at("resourceSpans").at(0);
  EXPECT_EQ(rs.at("resource").at("attributes").at(0).at("key"), "service.name");
  EXPECT_EQ(rs.at("resource").at("attributes").at(0).at("value").at("stringValue"), "svc");
  const auto& spans = rs.at("scopeSpans").at(0).at("spans");
  ASSERT_EQ(spans.size(), 2u);
  const auto& root = spans.at(0);
  EXPECT_EQ(root.at("traceId"), "101112131415161718191a1b1c1d1e1f");
  EXPECT_EQ(root.at("spanId").get<std::string>().size(), 16u);
  EXPECT_EQ(root.at("parentSpanId"), "00f067aa0ba902b7");
  EXPECT_EQ(root.at("name"), "echo");
  EXPECT_EQ(root.at("startTimeUnixNano"), "1700000000000001000");
  EXPECT_EQ(root.at("endTimeUnixNano"), "1700000000000005000");
  EXPECT_EQ(root.at("status").at("code"), 1);
  bool has_id = false;
  for (const auto& a : root.at("attributes")) {
    if (a.at("key") == "faas.invocation_id") {
      has_id = true;
      EXPECT_EQ(a.at("value").at("stringValue"), "0010000000000005");
    }
  }
  EXPECT_TRUE(has_id);
  EXPECT_FALSE(spans.at(1).contains("parentSpanId"));  // 0 = none
  bool has_parent_call = false;
  for (const auto& a : spans.at(1).at("attributes")) {
    has_parent_call |= a.at("key") == "nightjar.parent_call_id";
  }
  EXPECT_TRUE(has_parent_call);  // internal calls name their caller
  EXPECT_EQ(spans.at(1).at("status").at("code"), 2);
  EXPECT_EQ(spans.at(1).at("status").at("message"), "timeout");
}

TEST(TracerJson, EscapesStrings) {
  const std::string service = "a\"b\\c\nd\x01";
  const auto j = nlohmann::json::parse(Tracer::ExportJson({Span(1, true)}, service, {"", "f"}, 0));
  EXPECT_EQ(j["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"], service);
  const auto empty = nlohmann::json::parse(Tracer::ExportJson({}, "s", {}, 0));
  EXPECT_TRUE(empty["resourceSpans"][0]["scopeSpans"][0]["spans"].empty());
}

TEST(TracerQueue, DropsAndCountsWhenFullNeverBlocks) {
  Tracer t("http://127.0.0.1:1/v1/traces", "svc", {"", "f"});  // not started: nothing drains
  for (size_t i = 0; i < Tracer::kQueueSlots; ++i) ASSERT_TRUE(t.Record(Span(i + 1, true)));
  EXPECT_FALSE(t.Record(Span(1, true)));
  EXPECT_FALSE(t.Record(Span(2, true)));
  EXPECT_EQ(t.dropped(), 2u);
}

TEST(TracerExport, PostsBatchesToAnHttpReceiver) {
  httplib::Server server;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> bodies;
  std::string content_type;
  server.Post("/v1/traces", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    bodies.push_back(req.body);
    content_type = req.get_header_value("Content-Type");
    cv.notify_all();
    res.set_content("{}", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  {
    Tracer t("http://127.0.0.1:" + std::to_string(port) + "/v1/traces", "svc", {"", "f"});
    t.Start();
    for (uint64_t i = 1; i <= 600; ++i) ASSERT_TRUE(t.Record(Span(i, true)));
    size_t spans = 0;
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] {
      spans = 0;
      for (const auto& b : bodies) {
        spans += nlohmann::json::parse(b)["resourceSpans"][0]["scopeSpans"][0]["spans"].size();
      }
      return spans == 600;
    }));
    EXPECT_GE(bodies.size(), 2u);  // batches of at most kMaxBatch
    EXPECT_EQ(content_type, "application/json");
    lock.unlock();
    t.Stop();
    EXPECT_EQ(t.exported(), 600u);
    EXPECT_EQ(t.failed(), 0u);
  }
  server.stop();
  serving.join();
}

TEST(TracerQueue, ManyProducersOneConsumerLoseNothingThatFits) {
  // Producers on several threads (the engine's loops), the export thread draining: every
  // span recorded is exported or counted as dropped, never both, never lost.
  httplib::Server server;
  std::atomic<size_t> received{0};
  server.Post("/v1/traces", [&](const httplib::Request& req, httplib::Response& res) {
    received +=
        nlohmann::json::parse(req.body)["resourceSpans"][0]["scopeSpans"][0]["spans"].size();
    res.set_content("{}", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  Tracer t("http://127.0.0.1:" + std::to_string(port) + "/v1/traces", "svc", {"", "f"});
  t.Start();
  constexpr int kThreads = 4, kEach = 3000;
  std::atomic<size_t> accepted{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kThreads; ++p) {
    producers.emplace_back([&, p] {
      for (int i = 0; i < kEach; ++i) {
        if (t.Record(Span(static_cast<uint64_t>(p) * kEach + i + 1, true))) ++accepted;
      }
    });
  }
  for (auto& th : producers) th.join();
  t.Stop();
  EXPECT_EQ(accepted + t.dropped(), size_t{kThreads * kEach});
  EXPECT_EQ(t.exported() + t.failed(), accepted.load());
  EXPECT_EQ(received.load(), t.exported());
  server.stop();
  serving.join();
}

TEST(TracerExport, ReceiverDownCountsFailuresAndStopReturns) {
  // A port nobody listens on: found by binding port 0 and closing it.
  int port = 0;
  {
    httplib::Server probe;
    port = probe.bind_to_any_port("127.0.0.1");
  }
  Tracer t("http://127.0.0.1:" + std::to_string(port) + "/v1/traces", "svc", {"", "f"});
  t.Start();
  for (uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(t.Record(Span(i, true)));
  t.Stop();
  EXPECT_EQ(t.exported(), 0u);
  EXPECT_EQ(t.failed() + t.dropped(), 10u);
}

}  // namespace
}  // namespace nightjar::engine
