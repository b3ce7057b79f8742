// Tests for GET /logs/<function>'s routing (http_routes.h): the function name, the cursor
// and line-count parameters, and the errors a malformed one gets.
#include "gateway/http_routes.h"

#include <gtest/gtest.h>

namespace nightjar::gateway {
namespace {

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
  EXPECT_EQ(a.extra, "X-Nightjar-Log-Cursor: 42");
  EXPECT_EQ(AnswerForLogs(proto::CallStatus::kOk, "", "").extra, "");
  a = AnswerForLogs(proto::CallStatus::kNotFound, "no function named \"x\"", "");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "no function named \"x\"\n");
}

}  // namespace
}  // namespace nightjar::gateway
