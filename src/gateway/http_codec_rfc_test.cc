// The RFC 9110/9112 rules HttpRequestParser enforces on top of llhttp (docs/http.md). Each
// case is fed whole and split at every byte boundary: a rule that holds only for one split
// is a request-smuggling hole.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/http_codec.h"

namespace nightjar::gateway {
namespace {

using Error = HttpRequestParser::Error;

struct Outcome {
  Error error = Error::kNone;
  std::vector<HttpRequest> requests;
};

Outcome Parse(std::string_view stream, size_t step, HttpLimits limits = {}) {
  HttpRequestParser parser(limits);
  Outcome o;
  if (step == 0) step = stream.size() + 1;
  for (size_t i = 0; i < stream.size() && o.error == Error::kNone; i += step) {
    o.error = parser.Feed(stream.substr(i, step), &o.requests);
  }
  return o;
}

// Expects `error` (and `complete` requests before it) for every split of `stream`.
void ExpectEverySplit(std::string_view stream, Error error, size_t complete = 0,
                      HttpLimits limits = {}) {
  for (size_t step = 0; step <= std::min<size_t>(stream.size(), 64); ++step) {
    const Outcome o = Parse(stream, step, limits);
    EXPECT_EQ(o.error, error) << "step " << step << ": " << stream;
    EXPECT_EQ(o.requests.size(), complete) << "step " << step << ": " << stream;
  }
}

TEST(HttpRfcTest, WhitespaceBeforeColonIsRejected) {
  // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon ... MUST
  // reject". The trailing pipelined request must never be seen.
  ExpectEverySplit(
      "POST /function/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n"
      "0\r\n\r\nGET /function/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
      Error::kMalformed);
  ExpectEverySplit("POST /function/echo HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\nhi",
                   Error::kMalformed);
  ExpectEverySplit("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", Error::kMalformed);
}

TEST(HttpRfcTest, FieldNamesAreTokens) {
  // RFC 9110 §5.1; llhttp 8.1 accepts a space inside a name (found by http_codec_fuzz).
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nContent Length: 5\r\n\r\nhello",
                   Error::kMalformed);
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nTransfer Encoding: chunked\r\n\r\n0\r\n\r\n",
                   Error::kMalformed);
  ExpectEverySplit("GET / HTTP/1.1\r\nHost: x\r\nX(a): 1\r\n\r\n", Error::kMalformed);
  ExpectEverySplit("GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n", Error::kMalformed);
}

TEST(HttpRfcTest, ChunkDataMustEndWithCrlf) {
  // RFC 9112 §7.1: chunk = chunk-size [ext] CRLF chunk-data CRLF. llhttp 8.1 skips the two
  // bytes unchecked; the parser checks them.
  const std::string head = "POST /f HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (const char* body :
       {"2\r\nhiXX0\r\n\r\n", "2\r\nhi\n0\r\n\r\n", "2\r\nhi\r0\r\n\r\n", "2\r\nhiX\n0\r\n\r\n",
        "2\r\nhi\rX0\r\n\r\n", "1\r\na\r\n2\r\nbbXX0\r\n\r\n"}) {
    ExpectEverySplit(head + body, Error::kMalformed);
  }
  // The same bodies well formed are accepted, whatever the split.
  for (size_t step = 0; step < 40; ++step) {
    const Outcome o = Parse(head + "1\r\na\r\n2\r\nbb\r\n0\r\n\r\n", step);
    ASSERT_EQ(o.error, Error::kNone) << step;
    ASSERT_EQ(o.requests.size(), 1u) << step;
    EXPECT_EQ(o.requests[0].body, "abb") << step;
  }
}

TEST(HttpRfcTest, ConflictingOrDuplicateFramingIsRejected) {
  ExpectEverySplit(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n",
      Error::kMalformed);
  ExpectEverySplit(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n"
      "0\r\n\r\n",
      Error::kMalformed);
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
                   Error::kMalformed);
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nhi",
                   Error::kMalformed);
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\nhi", Error::kMalformed);
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", Error::kMalformed);
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                   Error::kMalformed);
  ExpectEverySplit(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
      Error::kMalformed);
}

TEST(HttpRfcTest, TransferEncodingRules) {
  // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 is faulty framing.
  ExpectEverySplit("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                   Error::kMalformed);
  // §6.3: chunked must be last.
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                   Error::kMalformed);
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
                   Error::kMalformed);
  // §6.1: a coding the server does not implement gets 501.
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                   Error::kNotImplemented);
  ExpectEverySplit(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
      Error::kNotImplemented);
  // Case and surrounding whitespace do not matter.
  const Outcome o =
      Parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:  Chunked \r\n\r\n0\r\n\r\n", 0);
  EXPECT_EQ(o.error, Error::kNone);
  EXPECT_EQ(o.requests.size(), 1u);
}

TEST(HttpRfcTest, CloseWinsOverKeepAlive) {
  // RFC 9112 §9.3: "close" ends the connection whatever else Connection lists.
  for (const char* c : {"Connection: keep-alive\r\nConnection: close\r\n",
                        "Connection: close, keep-alive\r\n", "Connection: keep-alive, close\r\n"}) {
    for (const char* v : {"1.0", "1.1"}) {
      const Outcome o = Parse(std::string("GET / HTTP/") + v + "\r\nHost: x\r\n" + c +
                                  "\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n",
                              0);
      ASSERT_EQ(o.requests.size(), 1u) << v << c;
      EXPECT_FALSE(o.requests[0].keep_alive) << v << c;
    }
  }
}

TEST(HttpRfcTest, EmptyTransferEncodingIsRejected) {
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n", Error::kMalformed);
}

TEST(HttpRfcTest, ChunkExtensionsAndTrailersCountAgainstTheHeadLimit) {
  HttpLimits limits;
  limits.max_header_bytes = 1024;
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  ExpectEverySplit(head + "1;ext=" + std::string(2000, 'e') + "\r\na\r\n0\r\n\r\n",
                   Error::kHeaderTooLarge, 0, limits);
  ExpectEverySplit(head + "0\r\nX-T: " + std::string(2000, 't') + "\r\n\r\n",
                   Error::kHeaderTooLarge, 0, limits);
  // Within the limit, and the budget restarts with each request.
  const std::string ok = head + "1;e=" + std::string(500, 'e') +
                         "\r\na\r\n0\r\nX: " + std::string(300, 't') + "\r\n\r\n";
  const Outcome o = Parse(ok + ok, 0, limits);
  EXPECT_EQ(o.error, Error::kNone);
  EXPECT_EQ(o.requests.size(), 2u);
}

// Found by http_codec_fuzz in CI: a trailer longer than the limit with a bad byte after it
// got 400 when read whole (llhttp failed before reporting the trailer) and 431 when a read
// ended inside the trailer. The first fault in byte order decides, for every cut.
TEST(HttpRfcTest, FirstFaultInByteOrderWinsOverTheMetadataLimit) {
  HttpLimits limits;
  limits.max_header_bytes = 1024;
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string over = std::string(1100, 't');
  const struct {
    std::string body;
    Error error;
  } cases[] = {
      // A trailer field name over the limit, then a byte no token may hold.
      {"0\r\n" + over + "(x: v\r\n\r\n", Error::kHeaderTooLarge},
      {"0\r\nX(" + over + ": v\r\n\r\n", Error::kMalformed},
      {"0\r\nA: b\r\n" + over + " x: v\r\n\r\n", Error::kHeaderTooLarge},
      // A chunk extension over the limit, then a byte no extension may hold.
      {"1;" + over + "\x7f\r\na\r\n0\r\n\r\n", Error::kHeaderTooLarge},
      {"1;e\x7f" + over + "\r\na\r\n0\r\n\r\n", Error::kMalformed},
  };
  for (const auto& c : cases) {
    const std::string stream = head + c.body;
    for (size_t cut = 0; cut <= stream.size(); ++cut) {
      HttpRequestParser parser(limits);
      std::vector<HttpRequest> out;
      parser.Feed(std::string_view(stream).substr(0, cut), &out);
      parser.Feed(std::string_view(stream).substr(cut), &out);
      ASSERT_EQ(parser.error(), c.error) << "cut at " << cut << " of " << stream.size();
    }
    ExpectEverySplit(stream, c.error, 0, limits);
  }
}

TEST(HttpRfcTest, ObsoleteLineFoldingIsRejected) {
  // RFC 9112 §5.2: reject obs-fold with 400 (or replace it; we reject).
  ExpectEverySplit("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", Error::kMalformed);
  ExpectEverySplit("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n\ttwo\r\n\r\n", Error::kMalformed);
  ExpectEverySplit("GET / HTTP/1.1\r\n Host: x\r\n\r\n", Error::kMalformed);
}

TEST(HttpRfcTest, BareLineFeedsAndControlCharactersAreRejected) {
  ExpectEverySplit("GET / HTTP/1.1\nHost: x\n\n", Error::kMalformed);
  ExpectEverySplit("GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", Error::kMalformed);
  ExpectEverySplit(std::string("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n", 35),
                   Error::kMalformed);
  ExpectEverySplit("GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", Error::kMalformed);
}

TEST(HttpRfcTest, HostRules) {
  // RFC 9112 §3.2: 400 for HTTP/1.1 without Host, with two, or with an invalid one.
  ExpectEverySplit("GET / HTTP/1.1\r\n\r\n", Error::kMalformed);
  ExpectEverySplit("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", Error::kMalformed);
  ExpectEverySplit("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", Error::kMalformed);
  for (const char* bad : {"a b", "a/b", "a@b", "a:b:c", "[::1", "a:8o", "a?b"}) {
    ExpectEverySplit(std::string("GET / HTTP/1.1\r\nHost: ") + bad + "\r\n\r\n", Error::kMalformed);
  }
  for (const char* good :
       {"", "gw", "gw.example:8080", "127.0.0.1:1", "[::1]:80", "[::1]", "xn--bcher-kva.example"}) {
    const Outcome o = Parse(std::string("GET / HTTP/1.1\r\nHost: ") + good + "\r\n\r\n", 0);
    EXPECT_EQ(o.error, Error::kNone) << good;
  }
  // HTTP/1.0 needs none.
  EXPECT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", 0).error, Error::kNone);
}

TEST(HttpRfcTest, VersionsOtherThanOneAreNotSupported) {
  for (const char* v : {"HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/1.2", "HTTP/9.9"}) {
    ExpectEverySplit(std::string("GET / ") + v + "\r\nHost: x\r\n\r\n",
                     Error::kVersionNotSupported);
  }
  // The HTTP/2 connection preface (prior knowledge) on an HTTP/1.1 port.
  ExpectEverySplit("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Error::kVersionNotSupported);
  for (const char* v : {"HTTP/x.1", "HTTP/1", "HTTP/1.1x", "HTTQ/1.1", "http/1.1"}) {
    ExpectEverySplit(std::string("GET / ") + v + "\r\nHost: x\r\n\r\n", Error::kMalformed);
  }
}

TEST(HttpRfcTest, UnknownMethodsAreNotImplementedAndGarbageIsBad) {
  // RFC 9110 §9.1: 501 for a method the server does not recognise.
  for (const char* m : {"FOO", "BREW", "X", "GETX", "get"}) {
    ExpectEverySplit(std::string(m) + " / HTTP/1.1\r\nHost: x\r\n\r\n", Error::kNotImplemented);
  }
  for (const char* m : {"G@T", "GE(T", "\x01GET", "{}", "FOO\r\n", "FOO\t", "FO@"}) {
    ExpectEverySplit(std::string(m) + " / HTTP/1.1\r\nHost: x\r\n\r\n", Error::kMalformed);
  }
  ExpectEverySplit("GARBAGE\r\n\r\n", Error::kMalformed);
  ExpectEverySplit(std::string(40, 'A') + " / HTTP/1.1\r\n\r\n", Error::kMalformed);
  // Methods llhttp knows parse; the router decides what they may do.
  for (const char* m : {"PUT", "DELETE", "PATCH", "PROPFIND", "TRACE", "OPTIONS"}) {
    const Outcome o = Parse(std::string(m) + " / HTTP/1.1\r\nHost: x\r\n\r\n", 0);
    EXPECT_EQ(o.error, Error::kNone) << m;
    ASSERT_EQ(o.requests.size(), 1u) << m;
    EXPECT_EQ(o.requests[0].method, m);
  }
}

TEST(HttpRfcTest, OverlongTargetGets414) {
  HttpLimits limits;
  limits.max_target_bytes = 100;
  const std::string at_limit = "/" + std::string(99, 'a');
  const std::string over = "/" + std::string(100, 'a');
  for (size_t step : {size_t{0}, size_t{1}, size_t{7}}) {
    EXPECT_EQ(Parse("GET " + at_limit + " HTTP/1.1\r\nHost: x\r\n\r\n", step, limits).error,
              Error::kNone);
  }
  ExpectEverySplit("GET " + over + " HTTP/1.1\r\nHost: x\r\n\r\n", Error::kTargetTooLong, 0,
                   limits);
  // Long before the head limit, and even when the target never ends.
  const Outcome o = Parse("GET /" + std::string(5000, 'a'), 0, limits);
  EXPECT_EQ(o.error, Error::kTargetTooLong);
}

TEST(HttpRfcTest, RequestTargetForms) {
  EXPECT_EQ(Parse("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 0).requests.at(0).path, "*");
  ExpectEverySplit("GET * HTTP/1.1\r\nHost: x\r\n\r\n", Error::kMalformed);
  ExpectEverySplit("GET gw:80 HTTP/1.1\r\nHost: x\r\n\r\n", Error::kMalformed);
  ExpectEverySplit("GET ftp://gw/x HTTP/1.1\r\nHost: x\r\n\r\n", Error::kMalformed);
  ExpectEverySplit("GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n", Error::kMalformed);
  const Outcome o = Parse("GET HTTP://gw:8080/function/echo?x HTTP/1.1\r\nHost: x\r\n\r\n", 0);
  ASSERT_EQ(o.requests.size(), 1u);
  EXPECT_EQ(o.requests[0].path, "/function/echo");
}

TEST(HttpRfcTest, ExpectContinue) {
  const auto expect = [](const char* request) {
    const Outcome o = Parse(request, 0);
    EXPECT_EQ(o.error, Error::kNone) << request;
    return o.requests.size() == 1 && o.requests[0].expect_continue;
  };
  EXPECT_TRUE(
      expect("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
             "Content-Length: 1\r\n\r\nx"));
  EXPECT_TRUE(
      expect("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n"
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  // Nothing to continue: no body.
  EXPECT_FALSE(expect("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\r\n"));
  // RFC 9110 §10.1.1: ignored from HTTP/1.0 clients.
  EXPECT_FALSE(expect("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx"));
  // Any other expectation: 417.
  ExpectEverySplit("POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx",
                   Error::kExpectationFailed);
}

TEST(HttpRfcTest, HeadCheckRunsBeforeTheBodyAndCanRefuseIt) {
  for (bool accept : {true, false}) {
    HttpRequestParser parser(HttpLimits{});
    int checks = 0;
    parser.set_head_check([&](const HttpRequest& head) {
      ++checks;
      EXPECT_EQ(head.path, "/function/echo");
      EXPECT_TRUE(head.body.empty());
      return accept;
    });
    std::vector<HttpRequest> out;
    const Error e = parser.Feed(
        "GET /before HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /function/echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        "Content-Length: 5\r\n\r\n",
        &out);
    EXPECT_EQ(checks, 1);
    ASSERT_EQ(out.size(), 1u);  // the request before it is complete either way
    EXPECT_EQ(parser.phase(),
              accept ? HttpRequestParser::Phase::kBody : HttpRequestParser::Phase::kBody);
    if (accept) {
      EXPECT_EQ(e, Error::kNone);
      EXPECT_EQ(parser.Feed("hello", &out), Error::kNone);
      ASSERT_EQ(out.size(), 2u);
      EXPECT_EQ(out[1].body, "hello");
    } else {
      EXPECT_EQ(e, Error::kRejected);
      EXPECT_EQ(parser.error_status(), 0);  // the check answered it
      EXPECT_EQ(parser.Feed("hello", &out), Error::kRejected);
      EXPECT_EQ(out.size(), 1u);
    }
  }
}

TEST(HttpRfcTest, PhaseFollowsTheStream) {
  HttpRequestParser parser(HttpLimits{});
  std::vector<HttpRequest> out;
  EXPECT_EQ(parser.phase(), HttpRequestParser::Phase::kIdle);
  ASSERT_EQ(parser.Feed("POST / HTTP/1.1\r\nHo", &out), Error::kNone);
  EXPECT_EQ(parser.phase(), HttpRequestParser::Phase::kHead);
  ASSERT_EQ(parser.Feed("st: x\r\nContent-Length: 4\r\n\r\nab", &out), Error::kNone);
  EXPECT_EQ(parser.phase(), HttpRequestParser::Phase::kBody);
  EXPECT_EQ(parser.body_bytes(), 2u);
  ASSERT_EQ(parser.Feed("cd", &out), Error::kNone);
  EXPECT_EQ(parser.phase(), HttpRequestParser::Phase::kIdle);
  EXPECT_EQ(out.size(), 1u);
}

TEST(HttpRfcTest, ErrorsCarryAMessage) {
  HttpRequestParser parser(HttpLimits{});
  std::vector<HttpRequest> out;
  ASSERT_EQ(parser.Feed("GET / HTTP/1.1\r\n\r\n", &out), Error::kMalformed);
  EXPECT_NE(parser.error_message().find("Host"), std::string::npos) << parser.error_message();
  EXPECT_EQ(parser.error_message().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace nightjar::gateway
