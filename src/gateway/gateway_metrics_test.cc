// GatewayMetrics: only configured functions are counted (by name or gRPC service), per
// code, and the page holds the gateway's families, this process's, and the engines'.
#include "gateway/gateway_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gateway/http_routes.h"

namespace nightjar::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

config::Config TwoFunctions() {
  config::Config c;
  c.functions.resize(2);
  c.functions[0].name = "echo";
  c.functions[0].id = 1;
  c.functions[1].name = "greeter";
  c.functions[1].id = 2;
  c.functions[1].grpc = "helloworld.Greeter";
  return c;
}

TEST(GatewayMetricsTest, FindsConfiguredNamesAndServicesOnly) {
  GatewayMetrics m(TwoFunctions());
  EXPECT_EQ(m.Find("echo"), 0);
  EXPECT_EQ(m.Find("greeter"), 1);
  EXPECT_EQ(m.Find("grpc:helloworld.Greeter"), 1);
  EXPECT_EQ(m.Find("ech"), -1);
  EXPECT_EQ(m.Find("echo2"), -1);
  EXPECT_EQ(m.Find(""), -1);
}

TEST(GatewayMetricsTest, CountsPerFunctionAndCodeAndOnlySeriesThatHappened) {
  GatewayMetrics m(TwoFunctions());
  m.Count(m.Find("echo"), 200, 30'000);
  m.Count(m.Find("echo"), 200, 40'000);
  m.Count(m.Find("echo"), 502, 1'000'000);
  m.Count(m.Find("grpc:helloworld.Greeter"), 200, 10);
  m.Count(m.Find("nope"), 200, 10);  // -1: ignored
  m.Count(m.Find("echo"), 418, 10);  // not a call outcome's code: counted as 500
  const std::string page = m.Page("");
  EXPECT_THAT(page, HasSubstr("# TYPE gateway_function_invocation_total counter\n"));
  EXPECT_THAT(page,
              HasSubstr("gateway_function_invocation_total{function_name=\"echo\",code=\"200\"} 2\n"));
  EXPECT_THAT(page,
              HasSubstr("gateway_function_invocation_total{function_name=\"echo\",code=\"502\"} 1\n"));
  EXPECT_THAT(page,
              HasSubstr("gateway_function_invocation_total{function_name=\"echo\",code=\"500\"} 1\n"));
  EXPECT_THAT(
      page, HasSubstr("gateway_function_invocation_total{function_name=\"greeter\",code=\"200\"} 1\n"));
  EXPECT_THAT(page, HasSubstr("gateway_functions_seconds_count{function_name=\"echo\",code=\"200\"} 2\n"));
  EXPECT_THAT(page, HasSubstr("gateway_functions_seconds_bucket{function_name=\"echo\",code=\"200\","
                              "le=\"5e-05\"} 2\n"));
  EXPECT_THAT(page, Not(HasSubstr("code=\"404\"")));
  EXPECT_THAT(page, Not(HasSubstr("nope")));
  EXPECT_THAT(page, HasSubstr("# TYPE process_open_fds gauge\n"));
}

TEST(GatewayMetricsTest, PageMergesTheEnginesPartIntoOneFamilyEach) {
  GatewayMetrics m(TwoFunctions());
  const std::string engines =
      "# HELP process_open_fds Number of open file descriptors.\n"
      "# TYPE process_open_fds gauge\nprocess_open_fds{engine=\"e:1\"} 12\n"
      "# HELP nightjar_x_total X.\n# TYPE nightjar_x_total counter\n"
      "nightjar_x_total{engine=\"e:1\"} 1\n";
  const std::string page = m.Page(engines);
  EXPECT_EQ(page.find("# TYPE process_open_fds"), page.rfind("# TYPE process_open_fds"));
  EXPECT_THAT(page, HasSubstr("process_open_fds{engine=\"e:1\"} 12\n"));
  EXPECT_THAT(page, HasSubstr("nightjar_x_total{engine=\"e:1\"} 1\n"));
}

TEST(GatewayMetricsTest, TimerOfAnUnknownFunctionOrWithMetricsOffCountsNothing) {
  GatewayMetrics m(TwoFunctions());
  CallTimer::Start(nullptr, "echo").Done(200);
  CallTimer::Start(&m, "nope").Done(200);
  CallTimer::Start(&m, "echo").Done(504);
  const std::string page = m.Page("");
  EXPECT_THAT(page,
              HasSubstr("gateway_function_invocation_total{function_name=\"echo\",code=\"504\"} 1\n"));
  EXPECT_THAT(page, Not(HasSubstr("code=\"200\"")));
}

HttpRequest Request(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = path;
  r.path = std::move(path);
  return r;
}

TEST(MetricsRouteTest, GetAndHeadGatherOthersAreRefused) {
  EXPECT_EQ(ResolveRoute(Request("GET", "/metrics")).kind, Route::Kind::kMetrics);
  EXPECT_EQ(ResolveRoute(Request("HEAD", "/metrics")).kind, Route::Kind::kMetrics);
  Route post = ResolveRoute(Request("POST", "/metrics"));
  EXPECT_EQ(post.kind, Route::Kind::kRespond);
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.allow, "Allow: GET, HEAD, OPTIONS");
  Route options = ResolveRoute(Request("OPTIONS", "/metrics"));
  EXPECT_EQ(options.status, 204);
  EXPECT_EQ(ResolveRoute(Request("GET", "/metrics/x")).status, 404);
}

}  // namespace
}  // namespace nightjar::gateway
