// Tests of the gRPC helpers (grpc.h) and of H2Session (h2_session.h) without sockets.
#include "gateway/grpc.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/h2_session.h"

namespace nightjar::gateway {
namespace {

using proto::CallStatus;

TEST(GrpcTest, ParsePath) {
  std::string_view s, m;
  ASSERT_TRUE(grpc::ParsePath("/helloworld.Greeter/SayHello", &s, &m));
  EXPECT_EQ(s, "helloworld.Greeter");
  EXPECT_EQ(m, "SayHello");
  for (const char* bad : {"", "/", "//", "/a/", "//m", "/a/b/c", "a/b", "/ab"}) {
    EXPECT_FALSE(grpc::ParsePath(bad, &s, &m)) << bad;
  }
}

TEST(GrpcTest, ParseTimeoutRoundsUpToMilliseconds) {
  int64_t ms = 0;
  const std::pair<const char*, int64_t> cases[] = {
      {"1H", 3'600'000}, {"2M", 120'000}, {"3S", 3000}, {"250m", 250}, {"1u", 1},
      {"1500u", 2},      {"1n", 1},       {"99999999S", 86'400'000},
  };
  for (const auto& [text, want] : cases) {
    ASSERT_TRUE(grpc::ParseTimeout(text, &ms)) << text;
    EXPECT_EQ(ms, want) << text;
  }
  for (const char* bad : {"", "S", "10", "10x", "123456789S", "-1S", "1.5S", " 1S"}) {
    EXPECT_FALSE(grpc::ParseTimeout(bad, &ms)) << bad;
  }
}

TEST(GrpcTest, UnwrapMessage) {
  std::string_view msg;
  std::string error;
  EXPECT_EQ(grpc::UnwrapMessage(std::string("\0\0\0\0\3abc", 8), &msg, &error), grpc::kOk);
  EXPECT_EQ(msg, "abc");
  EXPECT_EQ(grpc::UnwrapMessage(std::string("\0\0\0\0\0", 5), &msg, &error), grpc::kOk);
  EXPECT_EQ(msg, "");
  EXPECT_EQ(grpc::UnwrapMessage("", &msg, &error), grpc::kInternal);
  EXPECT_EQ(grpc::UnwrapMessage(std::string("\0\0\0", 3), &msg, &error), grpc::kInternal);
  EXPECT_EQ(grpc::UnwrapMessage(std::string("\0\0\0\0\4abc", 8), &msg, &error), grpc::kInternal);
  EXPECT_EQ(grpc::UnwrapMessage(std::string("\0\0\0\0\2abc", 8), &msg, &error),
            grpc::kUnimplemented);
  EXPECT_EQ(grpc::UnwrapMessage(std::string("\1\0\0\0\3abc", 8), &msg, &error),
            grpc::kUnimplemented);
  EXPECT_NE(error.find("compressed"), std::string::npos);
  EXPECT_EQ(grpc::UnwrapMessage(std::string("\2\0\0\0\3abc", 8), &msg, &error), grpc::kInternal);
  EXPECT_EQ(grpc::WrapMessage("abc"), std::string("\0\0\0\0\3abc", 8));
}

TEST(GrpcTest, CodeFor) {
  std::string m;
  EXPECT_EQ(grpc::CodeFor(CallStatus::kOk, "", &m), grpc::kOk);
  EXPECT_EQ(grpc::CodeFor(CallStatus::kTimeout, "deadline\n", &m), grpc::kDeadlineExceeded);
  EXPECT_EQ(m, "deadline");
  EXPECT_EQ(grpc::CodeFor(CallStatus::kUnavailable, "", &m), grpc::kUnavailable);
  EXPECT_EQ(grpc::CodeFor(CallStatus::kTooLarge, "", &m), grpc::kResourceExhausted);
  EXPECT_EQ(grpc::CodeFor(CallStatus::kNotFound, "", &m), grpc::kUnimplemented);
  EXPECT_EQ(grpc::CodeFor(CallStatus::kWorkerDied, "", &m), grpc::kInternal);
  EXPECT_EQ(grpc::CodeFor(CallStatus::kFunctionError, "boom", &m), grpc::kUnknown);
  EXPECT_EQ(m, "boom");
  EXPECT_EQ(grpc::CodeFor(CallStatus::kFunctionError, "NOT_FOUND: user 7", &m), grpc::kNotFound);
  EXPECT_EQ(m, "user 7");
  EXPECT_EQ(grpc::CodeFor(CallStatus::kFunctionError, "NOT_FOUND:x", &m), grpc::kUnknown);
  EXPECT_EQ(grpc::CodeFor(CallStatus::kFunctionError, "OK: fine", &m), grpc::kUnknown);
  EXPECT_EQ(grpc::CodeName(12), "UNIMPLEMENTED");
  EXPECT_EQ(grpc::CodeName(17), "");
}

TEST(GrpcTest, PercentEncode) {
  EXPECT_EQ(grpc::PercentEncode("a b%\n\xc3\xa9"), "a b%25%0A%C3%A9");
}

// --- H2Session ------------------------------------------------------------------------------

std::string Frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string f;
  const uint32_t n = static_cast<uint32_t>(payload.size());
  f.push_back(static_cast<char>(n >> 16));
  f.push_back(static_cast<char>(n >> 8));
  f.push_back(static_cast<char>(n));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  for (int shift : {24, 16, 8, 0}) f.push_back(static_cast<char>(stream >> shift));
  f.append(payload);
  return f;
}

std::string Literal(std::string_view name, std::string_view value) {
  std::string out(1, '\0');
  out.push_back(static_cast<char>(name.size()));
  out.append(name);
  out.push_back(static_cast<char>(value.size()));
  out.append(value);
  return out;
}

std::string Headers(std::string_view path) {
  return Literal(":method", "POST") + Literal(":scheme", "http") + Literal(":path", path) +
         Literal(":authority", "x") + Literal("x-test", "1");
}

struct Recorder {
  std::vector<H2Request> requests;
  std::vector<int32_t> abandoned;
};

TEST(H2SessionTest, DeliversCompleteRequestsAndAnswersOnce) {
  Recorder rec;
  H2Session s(
      H2Limits{}, [&](H2Request&& r) { rec.requests.push_back(std::move(r)); },
      [&](int32_t id) { rec.abandoned.push_back(id); });
  ASSERT_TRUE(s.Start());
  std::string in(kH2Preface);
  in += Frame(4, 0, 0, "");
  in += Frame(1, 4, 1, Headers("/function/echo"));
  in += Frame(0, 0, 1, "hel");
  ASSERT_TRUE(s.Feed(in));
  EXPECT_TRUE(rec.requests.empty());  // not complete yet
  ASSERT_TRUE(s.Feed(Frame(0, 1, 1, "lo")));
  ASSERT_EQ(rec.requests.size(), 1u);
  const H2Request& r = rec.requests[0];
  EXPECT_EQ(r.stream_id, 1);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, "/function/echo");
  EXPECT_EQ(r.body, "hello");
  ASSERT_NE(r.Header("x-test"), nullptr);
  EXPECT_EQ(s.awaiting_answer(), 1u);
  EXPECT_TRUE(s.Awaiting(1));
  s.Respond(1, 200, {{"content-type", "text/plain"}}, "hello", {{"grpc-status", "0"}});
  s.Respond(1, 500, {}, "again");  // ignored
  EXPECT_EQ(s.awaiting_answer(), 0u);
  std::string out;
  s.TakeOutput(&out);
  EXPECT_NE(out.find("hello"), std::string::npos);
  EXPECT_EQ(out.find("again"), std::string::npos);
  EXPECT_TRUE(rec.abandoned.empty());
}

TEST(H2SessionTest, LimitsAreDeliveredAsStatuses) {
  Recorder rec;
  H2Limits limits;
  limits.max_body_bytes = 4;
  limits.max_header_list_bytes = 300;  // the plain headers count 207
  H2Session s(
      limits, [&](H2Request&& r) { rec.requests.push_back(std::move(r)); }, [](int32_t) {});
  ASSERT_TRUE(s.Start());
  std::string in(kH2Preface);
  in += Frame(4, 0, 0, "");
  in += Frame(1, 4, 1, Headers("/a"));
  in += Frame(0, 0, 1, "12345");  // over the body limit: delivered before END_STREAM
  in += Frame(1, 5, 3, Headers("/b") + Literal("x-big", std::string(120, 'v')));
  ASSERT_TRUE(s.Feed(in));
  ASSERT_EQ(rec.requests.size(), 2u);
  EXPECT_EQ(rec.requests[0].limit_status, 413);
  EXPECT_TRUE(rec.requests[0].body.empty());
  EXPECT_EQ(rec.requests[1].limit_status, 431);
}

TEST(H2SessionTest, ClientResetAbandonsAnUnansweredStream) {
  Recorder rec;
  H2Session s(
      H2Limits{}, [&](H2Request&& r) { rec.requests.push_back(std::move(r)); },
      [&](int32_t id) { rec.abandoned.push_back(id); });
  ASSERT_TRUE(s.Start());
  std::string in(kH2Preface);
  in += Frame(4, 0, 0, "");
  in += Frame(1, 5, 1, Headers("/a"));
  in += Frame(3, 0, 1, std::string("\0\0\0\x08", 4));  // RST_STREAM CANCEL
  ASSERT_TRUE(s.Feed(in));
  ASSERT_EQ(rec.requests.size(), 1u);
  EXPECT_EQ(rec.abandoned, std::vector<int32_t>{1});
  EXPECT_EQ(s.awaiting_answer(), 0u);
  s.Respond(1, 200, {}, "late");  // dropped
  std::string out;
  s.TakeOutput(&out);
  EXPECT_EQ(out.find("late"), std::string::npos);
}

TEST(H2SessionTest, BadPrefaceFailsWithGoaway) {
  H2Session s(H2Limits{}, [](H2Request&&) {}, [](int32_t) {});
  ASSERT_TRUE(s.Start());
  EXPECT_FALSE(s.Feed("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"));
  EXPECT_FALSE(s.Feed("more"));
  std::string out;
  s.TakeOutput(&out);
  ASSERT_GE(out.size(), 9u);
  bool goaway = false;
  for (size_t i = 0; i + 9 <= out.size();) {
    const size_t len = (uint8_t(out[i]) << 16) | (uint8_t(out[i + 1]) << 8) | uint8_t(out[i + 2]);
    goaway = goaway || out[i + 3] == 7;
    i += 9 + len;
  }
  EXPECT_TRUE(goaway);
}

}  // namespace
}  // namespace nightjar::gateway
