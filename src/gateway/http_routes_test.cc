// Routes' trace context and the call-answer headers (X-Nightjar-Call-Id, Server-Timing).
#include "gateway/http_routes.h"

#include <gtest/gtest.h>

namespace nightjar::gateway {
namespace {

constexpr char kValid[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

HttpRequest Post(std::vector<std::pair<std::string, std::string>> headers) {
  HttpRequest r;
  r.method = "POST";
  r.target = r.path = "/function/echo";
  r.headers = std::move(headers);
  return r;
}

TEST(RouteTrace, ValidTraceparentIsTaken) {
  const Route r = ResolveRoute(Post({{"traceparent", kValid}}));
  ASSERT_EQ(r.kind, Route::Kind::kCall);
  EXPECT_TRUE(r.trace.has_trace());
  EXPECT_EQ(r.trace.parent_span_id, 0x00f067aa0ba902b7ull);
}

TEST(RouteTrace, AbsentInvalidOrRepeatedMeansNewTrace) {
  EXPECT_FALSE(ResolveRoute(Post({})).trace.has_trace());
  const Route bad = ResolveRoute(
      Post({{"traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"}}));
  EXPECT_EQ(bad.kind, Route::Kind::kCall);  // ignored, not an error (W3C §4.3)
  EXPECT_FALSE(bad.trace.has_trace());
  EXPECT_FALSE(
      ResolveRoute(Post({{"traceparent", kValid}, {"traceparent", kValid}})).trace.has_trace());
}

proto::CallResult Result(proto::CallStatus status, uint64_t call_id, uint8_t known) {
  proto::CallResult r;
  r.status = status;
  r.call_id = call_id;
  r.queue_us = 4;
  r.dispatch_us = 11;
  r.exec_us = 120;
  r.child_us = 80;
  r.known = known;
  return r;
}

TEST(AnswerForCall, CallIdAndServerTimingWhenOn) {
  const CallAnswer a =
      AnswerForCall(Result(proto::CallStatus::kOk, 0x0010000000000005ull, 15), "out", true);
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "out");
  ASSERT_EQ(a.extra().size(), 2u);
  EXPECT_EQ(a.extra()[0], "X-Nightjar-Call-Id: 0010000000000005");
  EXPECT_EQ(a.extra()[1],
            "Server-Timing: queue;dur=0.004, dispatch;dur=0.011, exec;dur=0.120, child;dur=0.080");
}

TEST(AnswerForCall, EngineErrorsCarryWhatIsKnown) {
  const CallAnswer a = AnswerForCall(
      Result(proto::CallStatus::kUnavailable, 7, proto::CallResult::kTimingQueue), "", true);
  EXPECT_EQ(a.status, 503);
  ASSERT_EQ(a.extra().size(), 3u);
  EXPECT_EQ(a.extra()[0], "X-Nightjar-Call-Id: 0000000000000007");
  EXPECT_EQ(a.extra()[1], "Server-Timing: queue;dur=0.004");
  EXPECT_EQ(a.extra()[2], "Retry-After: 1");
}

TEST(AnswerForCall, NoHeadersWhenOffOrNoCallWasMade) {
  EXPECT_TRUE(AnswerForCall(Result(proto::CallStatus::kOk, 5, 15), "x", false).extra().empty());
  const CallAnswer not_found = AnswerForCall(Result(proto::CallStatus::kNotFound, 0, 0), "", true);
  EXPECT_EQ(not_found.status, 404);
  EXPECT_TRUE(not_found.extra().empty());
}

}  // namespace
}  // namespace nightjar::gateway
