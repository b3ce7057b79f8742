#include "gateway/http_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nightjar::gateway {
namespace {

using Error = HttpRequestParser::Error;

// Feeds `data` in pieces of `step` bytes (0: all at once), stopping at the first error.
Error FeedInSteps(HttpRequestParser* parser, std::string_view data, size_t step,
                  std::vector<HttpRequest>* out) {
  if (step == 0) return parser->Feed(data, out);
  for (size_t i = 0; i < data.size(); i += step) {
    const Error e = parser->Feed(data.substr(i, step), out);
    if (e != Error::kNone) return e;
  }
  return Error::kNone;
}

TEST(HttpRequestParserTest, SimpleGet) {
  HttpRequestParser parser(HttpLimits{});
  std::vector<HttpRequest> out;
  ASSERT_EQ(parser.Feed("GET /function/echo HTTP/1.1\r\nHost: x\r\n\r\n", &out), Error::kNone);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].method, "GET");
  EXPECT_EQ(out[0].target, "/function/echo");
  EXPECT_EQ(out[0].path, "/function/echo");
  ASSERT_EQ(out[0].headers.size(), 1u);
  EXPECT_EQ(out[0].headers[0].first, "host");
  EXPECT_EQ(out[0].headers[0].second, "x");
  EXPECT_EQ(out[0].body, "");
  EXPECT_TRUE(out[0].keep_alive);
  EXPECT_EQ(parser.error(), Error::kNone);
  EXPECT_EQ(parser.error_status(), 0);
}

TEST(HttpRequestParserTest, IncompleteRequestProducesNothingUntilCompleted) {
  HttpRequestParser parser(HttpLimits{});
  std::vector<HttpRequest> out;
  ASSERT_EQ(parser.Feed("GET / HTTP/1.1\r\nHost: x\r\n", &out), Error::kNone);
  EXPECT_TRUE(out.empty());
  ASSERT_EQ(parser.Feed("\r\n", &out), Error::kNone);
  EXPECT_EQ(out.size(), 1u);
  ASSERT_EQ(parser.Feed("", &out), Error::kNone);
  EXPECT_EQ(out.size(), 1u);
}

TEST(HttpRequestParserTest, PostBodyByteByByte) {
  const std::string body = "{\"name\": \"nightjar\", \"n\": 12345}";
  const std::string request =
      "POST /function/echo HTTP/1.1\r\nHost: gw\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  HttpRequestParser parser(HttpLimits{});
  std::vector<HttpRequest> out;
  for (size_t i = 0; i < request.size(); ++i) {
    ASSERT_EQ(parser.Feed(std::string_view(request).substr(i, 1), &out), Error::kNone) << i;
    ASSERT_EQ(out.size(), i + 1 == request.size() ? 1u : 0u) << i;
  }
  EXPECT_EQ(out[0].method, "POST");
  EXPECT_EQ(out[0].body, body);
  ASSERT_NE(out[0].Header("content-type"), nullptr);
  EXPECT_EQ(*out[0].Header("content-type"), "application/json");
  ASSERT_NE(out[0].Header("host"), nullptr);
  EXPECT_EQ(*out[0].Header("host"), "gw");
}

TEST(HttpRequestParserTest, ChunkedBodyIsDecoded) {
  const std::string request =
      "POST /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n";
  for (size_t step : {size_t{0}, size_t{1}, size_t{3}}) {
    HttpRequestParser parser(HttpLimits{});
    std::vector<HttpRequest> out;
    ASSERT_EQ(FeedInSteps(&parser, request, step, &out), Error::kNone) << step;
    ASSERT_EQ(out.size(), 1u) << step;
    EXPECT_EQ(out[0].body, "hello, world") << step;
    // Trailers are not exposed as headers.
    EXPECT_EQ(out[0].Header("x-trailer"), nullptr);
    ASSERT_NE(out[0].Header("transfer-encoding"), nullptr);
    EXPECT_TRUE(out[0].keep_alive);
  }
}

TEST(HttpRequestParserTest, TwoPipelinedRequestsInOneFeed) {
  HttpRequestParser parser(HttpLimits{});
  std::vector<HttpRequest> out;
  ASSERT_EQ(
      parser.Feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz", &out),
      Error::kNone);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].method, "GET");
  EXPECT_EQ(out[0].target, "/a");
  EXPECT_EQ(out[0].body, "");
  EXPECT_EQ(out[1].method, "POST");
  EXPECT_EQ(out[1].target, "/b");
  EXPECT_EQ(out[1].body, "xyz");
}

TEST(HttpRequestParserTest, ThreePipelinedRequestsInOneFeed) {
  const std::string stream =
      "POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1"
      "PUT /two?q=2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n22\r\n0\r\n\r\n"
      "DELETE /three HTTP/1.1\r\nHost: x\r\nX-N: 3\r\n\r\n";
  for (size_t step : {size_t{0}, size_t{1}, size_t{7}}) {
    HttpRequestParser parser(HttpLimits{});
    std::vector<HttpRequest> out;
    ASSERT_EQ(FeedInSteps(&parser, stream, step, &out), Error::kNone) << step;
    ASSERT_EQ(out.size(), 3u) << step;
    EXPECT_EQ(out[0].method, "POST");
    EXPECT_EQ(out[0].body, "1");
    EXPECT_EQ(out[1].method, "PUT");
    EXPECT_EQ(out[1].path, "/two");
    EXPECT_EQ(out[1].body, "22");
    EXPECT_EQ(out[2].method, "DELETE");
    EXPECT_EQ(out[2].path, "/three");
    ASSERT_NE(out[2].Header("x-n"), nullptr);
    EXPECT_EQ(*out[2].Header("x-n"), "3");
    // Headers of one request do not leak into the next.
    EXPECT_EQ(out[2].headers.size(), 2u);
    EXPECT_EQ(out[2].body, "");
  }
}

TEST(HttpRequestParserTest, KeepAliveFollowsVersionAndConnectionHeader) {
  struct Case {
    const char* request;
    bool keep_alive;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n", false},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
  };
  for (const Case& c : cases) {
    HttpRequestParser parser(HttpLimits{});
    std::vector<HttpRequest> out;
    ASSERT_EQ(parser.Feed(c.request, &out), Error::kNone) << c.request;
    ASSERT_EQ(out.size(), 1u) << c.request;
    EXPECT_EQ(out[0].keep_alive, c.keep_alive) << c.request;
  }
}

TEST(HttpRequestParserTest, RequestsAfterConnectionCloseAreIgnored) {
  HttpRequestParser parser(HttpLimits{});
  std::vector<HttpRequest> out;
  ASSERT_EQ(
      parser.Feed("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", &out),
      Error::kNone);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].target, "/a");
  ASSERT_EQ(parser.Feed("GET /c HTTP/1.1\r\nHost: x\r\n\r\n", &out), Error::kNone);
  EXPECT_EQ(out.size(), 1u);
}

TEST(HttpRequestParserTest, HeaderNamesLowerCasedAndLookedUp) {
  const std::string request =
      "GET / HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc-123\r\nCONTENT-type: text/plain  \r\n"
      "x-empty:\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n";
  for (size_t step : {size_t{0}, size_t{1}, size_t{5}}) {
    HttpRequestParser parser(HttpLimits{});
    std::vector<HttpRequest> out;
    ASSERT_EQ(FeedInSteps(&parser, request, step, &out), Error::kNone) << step;
    ASSERT_EQ(out.size(), 1u);
    const HttpRequest& r = out[0];
    ASSERT_EQ(r.headers.size(), 6u) << step;
    EXPECT_EQ(r.headers[1].first, "x-request-id");
    EXPECT_EQ(r.headers[2].first, "content-type");
    ASSERT_NE(r.Header("x-request-id"), nullptr);
    EXPECT_EQ(*r.Header("x-request-id"), "abc-123");
    ASSERT_NE(r.Header("content-type"), nullptr);
    EXPECT_EQ(*r.Header("content-type"), "text/plain");  // trailing whitespace trimmed
    ASSERT_NE(r.Header("x-empty"), nullptr);
    EXPECT_EQ(*r.Header("x-empty"), "");
    ASSERT_NE(r.Header("x-dup"), nullptr);
    EXPECT_EQ(*r.Header("x-dup"), "1");  // first wins
    EXPECT_EQ(r.Header("absent"), nullptr);
  }
}

TEST(HttpRequestParserTest, QueryStringSplitFromPath) {
  struct Case {
    const char* target;
    const char* path;
  };
  const Case cases[] = {
      {"/function/echo?x=1&y=2", "/function/echo"},
      {"/function/echo", "/function/echo"},
      {"/?", "/"},
      {"/a?b?c", "/a"},
      {"http://gw.example:8080/function/echo?x=1", "/function/echo"},
      {"http://gw.example", "/"},
  };
  for (const Case& c : cases) {
    HttpRequestParser parser(HttpLimits{});
    std::vector<HttpRequest> out;
    const std::string request = std::string("GET ") + c.target + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(parser.Feed(request, &out), Error::kNone) << c.target;
    ASSERT_EQ(out.size(), 1u) << c.target;
    EXPECT_EQ(out[0].target, c.target);
    EXPECT_EQ(out[0].path, c.path) << c.target;
  }
}

TEST(HttpRequestParserTest, MalformedRequestLine) {
  const char* const requests[] = {
      "@GARBAGE\r\n\r\n",
      "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/x.1\r\n\r\n",
      "GET / HTTP/1.1 extra\r\n\r\n",
      "\x01GET / HTTP/1.1\r\nHost: x\r\n\r\n",
  };
  for (const char* request : requests) {
    HttpRequestParser parser(HttpLimits{});
    std::vector<HttpRequest> out;
    EXPECT_EQ(parser.Feed(request, &out), Error::kMalformed) << request;
    EXPECT_EQ(parser.error(), Error::kMalformed);
    EXPECT_EQ(parser.error_status(), 400);
    EXPECT_TRUE(out.empty());
  }
}

TEST(HttpRequestParserTest, MalformedFraming) {
  const char* const requests[] = {
      // Both framings at once: a request-smuggling vector.
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      // Transfer-Encoding whose last coding is not chunked: length unknowable.
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
  };
  for (const char* request : requests) {
    HttpRequestParser parser(HttpLimits{});
    std::vector<HttpRequest> out;
    EXPECT_EQ(parser.Feed(request, &out), Error::kMalformed) << request;
    EXPECT_TRUE(out.empty());
  }
}

TEST(HttpRequestParserTest, AnH2cOfferStopsTheParserAndOtherOffersAreIgnored) {
  // RFC 7540 §3.2: after a complete h2c offer the stream may continue in HTTP/2, so the
  // parser stops there; declined (ResumeAfterUpgrade), the rest is parsed as HTTP/1.1.
  // Other Upgrade offers are ignored (RFC 9110 §7.8).
  const std::string offer =
      "POST /function/echo HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
      "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nContent-Length: 2\r\n\r\nhi";
  const std::string rest =
      "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
      "GET /after HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t step : {size_t{0}, size_t{1}, size_t{9}}) {
    HttpRequestParser parser(HttpLimits{});
    std::vector<HttpRequest> out;
    ASSERT_EQ(FeedInSteps(&parser, offer + rest, step, &out), Error::kNone) << step;
    ASSERT_EQ(out.size(), 1u) << step;
    EXPECT_EQ(out[0].body, "hi");
    EXPECT_TRUE(out[0].h2c_upgrade);
    ASSERT_TRUE(parser.stopped_for_upgrade());
    const std::string remainder = parser.TakeRemainder();
    EXPECT_EQ(remainder, rest) << step;
    parser.ResumeAfterUpgrade();
    ASSERT_EQ(parser.Feed(remainder, &out), Error::kNone);
    ASSERT_EQ(out.size(), 3u) << step;
    EXPECT_FALSE(out[1].h2c_upgrade);
    EXPECT_EQ(out[1].path, "/ws");
    EXPECT_EQ(out[2].path, "/after");
  }
}

TEST(HttpRequestParserTest, AnIncompleteH2cOfferIsNoOffer) {
  // Without HTTP2-Settings named in Connection (RFC 7540 §3.2.1), or in HTTP/1.0, the
  // offer does not count and parsing goes on.
  for (const char* head :
       {"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
        "HTTP2-Settings: AAMAAABk\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n",
        "GET / HTTP/1.0\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, keep-alive\r\n"
        "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n\r\n"}) {
    HttpRequestParser parser(HttpLimits{});
    std::vector<HttpRequest> out;
    ASSERT_EQ(parser.Feed(std::string(head) + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n", &out),
              Error::kNone);
    ASSERT_EQ(out.size(), 2u) << head;
    EXPECT_FALSE(out[0].h2c_upgrade) << head;
    EXPECT_FALSE(parser.stopped_for_upgrade());
  }
}

TEST(HttpRequestParserTest, ConnectIsNotImplemented) {
  HttpRequestParser parser(HttpLimits{});
  std::vector<HttpRequest> out;
  EXPECT_EQ(parser.Feed("CONNECT gw.example:443 HTTP/1.1\r\nHost: gw.example:443\r\n\r\n", &out),
            Error::kNotImplemented);
  EXPECT_EQ(parser.error_status(), 501);
  EXPECT_TRUE(out.empty());
}

TEST(HttpRequestParserTest, RequestsBeforeAnErrorAreStillReturned) {
  HttpRequestParser parser(HttpLimits{});
  std::vector<HttpRequest> out;
  EXPECT_EQ(parser.Feed("GET /ok HTTP/1.1\r\nHost: x\r\n\r\nB@D\r\n\r\n", &out), Error::kMalformed);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].target, "/ok");
}

// A request whose request line plus headers take exactly `size` bytes.
std::string RequestWithHeadBytes(size_t size) {
  const std::string prefix = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";
  const std::string suffix = "\r\n\r\n";
  return prefix + std::string(size - prefix.size() - suffix.size(), 'p') + suffix;
}

TEST(HttpRequestParserTest, HeaderLimitIsExact) {
  constexpr size_t kLimit = 200;
  for (size_t step : {size_t{0}, size_t{1}, size_t{13}}) {
    HttpLimits limits;
    limits.max_header_bytes = kLimit;
    {
      HttpRequestParser parser(limits);
      std::vector<HttpRequest> out;
      const std::string request = RequestWithHeadBytes(kLimit);
      ASSERT_EQ(FeedInSteps(&parser, request + request, step, &out), Error::kNone) << step;
      EXPECT_EQ(out.size(), 2u) << step;  // the budget restarts with each request
    }
    {
      HttpRequestParser parser(limits);
      std::vector<HttpRequest> out;
      EXPECT_EQ(FeedInSteps(&parser, RequestWithHeadBytes(kLimit + 1), step, &out),
                Error::kHeaderTooLarge)
          << step;
      EXPECT_TRUE(out.empty());
    }
  }
}

TEST(HttpRequestParserTest, HeaderOverLimitInOneChunk) {
  HttpLimits limits;
  limits.max_header_bytes = 1024;
  HttpRequestParser parser(limits);
  std::vector<HttpRequest> out;
  EXPECT_EQ(parser.Feed(RequestWithHeadBytes(4096), &out), Error::kHeaderTooLarge);
  EXPECT_EQ(parser.error_status(), 431);
  EXPECT_TRUE(out.empty());
}

TEST(HttpRequestParserTest, HeaderOverLimitByteByByteWithoutHeadEnd) {
  // The head never ends: the limit must trip on accumulated bytes, not on a complete head.
  HttpLimits limits;
  limits.max_header_bytes = 1024;
  HttpRequestParser parser(limits);
  std::vector<HttpRequest> out;
  const std::string stream = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4096, 'p');
  size_t fed = 0;
  Error e = Error::kNone;
  while (fed < stream.size() && e == Error::kNone) {
    e = parser.Feed(std::string_view(stream).substr(fed++, 1), &out);
  }
  EXPECT_EQ(e, Error::kHeaderTooLarge);
  EXPECT_EQ(fed, limits.max_header_bytes + 1);
  EXPECT_TRUE(out.empty());
}

TEST(HttpRequestParserTest, LargeHeaderLimitIsHonouredExactly) {
  // http-parser, the parser before llhttp, capped heads at 80 KiB on its own; llhttp has no
  // cap, so the configured limit alone decides.
  HttpLimits limits;
  limits.max_header_bytes = 1 << 20;
  {
    HttpRequestParser parser(limits);
    std::vector<HttpRequest> out;
    EXPECT_EQ(parser.Feed(RequestWithHeadBytes(1 << 20), &out), Error::kNone);
    EXPECT_EQ(out.size(), 1u);
  }
  HttpRequestParser parser(limits);
  std::vector<HttpRequest> out;
  EXPECT_EQ(parser.Feed(RequestWithHeadBytes((1 << 20) + 1), &out), Error::kHeaderTooLarge);
}

TEST(HttpRequestParserTest, ContentLengthOverLimitRejectedBeforeBody) {
  HttpLimits limits;
  limits.max_body_bytes = 1000;
  HttpRequestParser parser(limits);
  std::vector<HttpRequest> out;
  // Only the head is sent: the error must not wait for body bytes.
  EXPECT_EQ(parser.Feed("POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n", &out),
            Error::kBodyTooLarge);
  EXPECT_EQ(parser.error_status(), 413);
  EXPECT_TRUE(out.empty());
}

TEST(HttpRequestParserTest, BodyAtLimitAccepted) {
  HttpLimits limits;
  limits.max_body_bytes = 1000;
  HttpRequestParser parser(limits);
  std::vector<HttpRequest> out;
  const std::string body(1000, 'b');
  ASSERT_EQ(parser.Feed("POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + body, &out),
            Error::kNone);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body, body);
}

TEST(HttpRequestParserTest, ChunkedBodyOverLimit) {
  HttpLimits limits;
  limits.max_body_bytes = 10;
  for (size_t step : {size_t{0}, size_t{1}}) {
    HttpRequestParser parser(limits);
    std::vector<HttpRequest> out;
    // 6 + 5 decoded bytes: the second chunk crosses the limit.
    EXPECT_EQ(FeedInSteps(&parser,
                          "POST /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "6\r\naaaaaa\r\n5\r\nbbbbb\r\n0\r\n\r\n",
                          step, &out),
              Error::kBodyTooLarge)
        << step;
    EXPECT_TRUE(out.empty());
  }
  // Exactly at the limit is fine.
  HttpRequestParser parser(limits);
  std::vector<HttpRequest> out;
  EXPECT_EQ(parser.Feed("POST /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "6\r\naaaaaa\r\n4\r\nbbbb\r\n0\r\n\r\n",
                        &out),
            Error::kNone);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body, "aaaaaabbbb");
}

TEST(HttpRequestParserTest, ErrorsAreSticky) {
  HttpRequestParser parser(HttpLimits{});
  std::vector<HttpRequest> out;
  ASSERT_EQ(parser.Feed("N@T HTTP\r\n\r\n", &out), Error::kMalformed);
  EXPECT_EQ(parser.Feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &out), Error::kMalformed);
  EXPECT_EQ(parser.Feed("", &out), Error::kMalformed);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(parser.error(), Error::kMalformed);

  HttpLimits limits;
  limits.max_body_bytes = 1;
  HttpRequestParser body_parser(limits);
  ASSERT_EQ(body_parser.Feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n", &out),
            Error::kBodyTooLarge);
  EXPECT_EQ(body_parser.Feed("xx", &out), Error::kBodyTooLarge);
  EXPECT_EQ(body_parser.Feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &out), Error::kBodyTooLarge);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace nightjar::gateway
