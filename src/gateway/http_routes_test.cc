// Tests of http_routes.h: a call route's trace context and the call-answer headers
// (X-Nightjar-Call-Id, Server-Timing); GET /logs/<function>'s routing (the function name,
// the cursor and line-count parameters, the errors a malformed one gets).
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

HttpRequest Req(std::string method, std::string target) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.path = r.target.substr(0, r.target.find_first_of("?#"));
  return r;
}

TEST(LogsRouteTest, GetNamesTheFunctionAndItsParameters) {
  Route r = ResolveRoute(Req("GET", "/logs/my%2Dfn?after=17&lines=5"));
  ASSERT_EQ(r.kind, Route::Kind::kLogs);
  EXPECT_EQ(r.function, "my-fn");
  EXPECT_EQ(r.log_after, 17u);
  EXPECT_EQ(r.log_lines, 5u);
  r = ResolveRoute(Req("HEAD", "/logs/fn"));
  ASSERT_EQ(r.kind, Route::Kind::kLogs);
  EXPECT_EQ(r.log_after, 0u);
  EXPECT_EQ(r.log_lines, 0u);
  // Other parameters are not ours to refuse.
  EXPECT_EQ(ResolveRoute(Req("GET", "/logs/fn?follow=1")).kind, Route::Kind::kLogs);
}

TEST(LogsRouteTest, BadParametersAre400) {
  for (const char* target : {"/logs/fn?after=", "/logs/fn?after=-1", "/logs/fn?after=1x",
                             "/logs/fn?lines=1000001", "/logs/fn?after=99999999999999999999",
                             "/logs/%zz"}) {
    Route r = ResolveRoute(Req("GET", target));
    EXPECT_EQ(r.kind, Route::Kind::kRespond) << target;
    EXPECT_EQ(r.status, 400) << target;
  }
}

TEST(LogsRouteTest, OtherMethodsAndPaths) {
  Route r = ResolveRoute(Req("POST", "/logs/fn"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "Allow: GET, HEAD, OPTIONS");
  EXPECT_EQ(r.function, "fn");  // 404 instead when there is no such function
  EXPECT_EQ(ResolveRoute(Req("OPTIONS", "/logs/fn")).status, 204);
  EXPECT_EQ(ResolveRoute(Req("GET", "/logs/")).status, 404);
  EXPECT_EQ(ResolveRoute(Req("GET", "/logs/a/b")).status, 404);
}

TEST(LogsRouteTest, AnswerCarriesTheCursor) {
  CallAnswer a = AnswerForLogs(proto::CallStatus::kOk, "line\n", "42");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "line\n");
  ASSERT_EQ(a.extra().size(), 1u);
  EXPECT_EQ(a.extra()[0], "X-Nightjar-Log-Cursor: 42");
  EXPECT_TRUE(AnswerForLogs(proto::CallStatus::kOk, "", "").extra().empty());
  a = AnswerForLogs(proto::CallStatus::kNotFound, "no function named \"x\"", "");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "no function named \"x\"\n");
}

}  // namespace
}  // namespace nightjar::gateway
