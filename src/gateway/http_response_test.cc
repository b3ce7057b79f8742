#include "gateway/http_response.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nightjar::gateway {
namespace {

ResponseHead Head(int status, bool keep_alive = true) {
  ResponseHead h;
  h.status = status;
  h.keep_alive = keep_alive;
  return h;
}

TEST(FormatResponseTest, OkExactBytes) {
  EXPECT_EQ(FormatResponse(Head(200), "hello"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
}

TEST(FormatResponseTest, NotFoundWithCloseExactBytes) {
  EXPECT_EQ(FormatResponse(Head(404, false), "no such function\n"),
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n"
            "Connection: close\r\n\r\nno such function\n");
}

TEST(FormatResponseTest, CustomReasonExtraHeadersAndNoContentType) {
  const std::vector<std::string> extra = {"X-Call-Id: 42", "Retry-After: 1"};
  ResponseHead h = Head(503);
  h.reason = "Busy";
  h.content_type = "";
  h.extra_headers = extra;
  EXPECT_EQ(FormatResponse(h, ""),
            "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nX-Call-Id: 42\r\nRetry-After: 1\r\n\r\n");
}

TEST(FormatResponseTest, LineBreaksCannotSplitTheResponse) {
  const std::vector<std::string> extra = {"X-Ok: 1", "X-Bad: 1\r\nSet-Cookie: x=1"};
  ResponseHead h = Head(200);
  h.reason = "OK\r\nX-Evil: 1";
  h.content_type = "text/plain\r\nX-Evil: 2";
  h.date = "now\r\nX-Evil: 3";
  h.extra_headers = extra;
  EXPECT_EQ(FormatResponse(h, ""), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Ok: 1\r\n\r\n");
}

TEST(FormatResponseTest, NoContentHasNoLength) {
  ResponseHead h = Head(204);
  h.content_type = "";
  EXPECT_EQ(FormatResponse(h, "ignored"), "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(FormatResponseTest, HeadKeepsTheLengthButSendsNoBody) {
  ResponseHead h = Head(200);
  h.head_only = true;
  EXPECT_EQ(FormatResponse(h, "ok\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n");
}

TEST(FormatResponseTest, DateAndKeepAliveForHttp10) {
  ResponseHead h = Head(200);
  h.date = "Sun, 06 Nov 1994 08:49:37 GMT";
  h.announce_keep_alive = true;
  EXPECT_EQ(FormatResponse(h, "x"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n"
            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nConnection: keep-alive\r\n\r\nx");
}

TEST(FormatResponseTest, CloseWinsOverKeepAliveAnnouncement) {
  ResponseHead h = Head(400, false);
  h.announce_keep_alive = true;
  const std::string r = FormatResponse(h, "");
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(r.find("keep-alive"), std::string::npos);
}

TEST(FormatResponseTest, AppendResponseAppends) {
  std::string buffer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  const std::string first = buffer;
  ResponseHead h = Head(502);
  h.content_type = "application/json";
  AppendResponse(&buffer, h, "{}");
  EXPECT_EQ(buffer, first +
                        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\n"
                        "Content-Length: 2\r\n\r\n{}");
}

TEST(FormatResponseTest, OutOfRangeStatusBecomes500) {
  EXPECT_EQ(FormatResponse(Head(42), "").substr(0, 13), "HTTP/1.1 500 ");
  EXPECT_EQ(FormatResponse(Head(1000), "").substr(0, 13), "HTTP/1.1 500 ");
}

TEST(FormatResponseTest, ReasonPhrases) {
  EXPECT_STREQ(ReasonPhrase(200), "OK");
  EXPECT_STREQ(ReasonPhrase(400), "Bad Request");
  EXPECT_STREQ(ReasonPhrase(404), "Not Found");
  EXPECT_STREQ(ReasonPhrase(405), "Method Not Allowed");
  EXPECT_STREQ(ReasonPhrase(408), "Request Timeout");
  EXPECT_STREQ(ReasonPhrase(413), "Content Too Large");
  EXPECT_STREQ(ReasonPhrase(414), "URI Too Long");
  EXPECT_STREQ(ReasonPhrase(417), "Expectation Failed");
  EXPECT_STREQ(ReasonPhrase(429), "Too Many Requests");
  EXPECT_STREQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_STREQ(ReasonPhrase(500), "Internal Server Error");
  EXPECT_STREQ(ReasonPhrase(501), "Not Implemented");
  EXPECT_STREQ(ReasonPhrase(502), "Bad Gateway");
  EXPECT_STREQ(ReasonPhrase(503), "Service Unavailable");
  EXPECT_STREQ(ReasonPhrase(504), "Gateway Timeout");
  EXPECT_STREQ(ReasonPhrase(505), "HTTP Version Not Supported");
  EXPECT_STREQ(ReasonPhrase(299), "");
  EXPECT_EQ(FormatResponse(Head(299), ""),
            "HTTP/1.1 299 \r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpDateTest, ImfFixdate) {
  EXPECT_EQ(FormatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110 §5.6.7
  EXPECT_EQ(FormatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(HttpDateNow().size(), 29u);
}

}  // namespace
}  // namespace nightjar::gateway
