// Trace context: W3C traceparent parsing (every invalid kind of Trace Context Level 1,
// §3.2.2), formatting, derived span ids, Server-Timing and call id formatting, link structs.
#include "proto/trace.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "proto/link_frame.h"

namespace nightjar::proto {
namespace {

constexpr char kValid[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::string Hex(const std::array<uint8_t, 16>& id) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : id) {
    s += kHex[b >> 4];
    s += kHex[b & 0xf];
  }
  return s;
}

TEST(Traceparent, ParsesTheSpecExample) {
  TraceContext t;
  ASSERT_TRUE(ParseTraceparent(kValid, &t));
  EXPECT_EQ(Hex(t.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t.parent_span_id, 0x00f067aa0ba902b7ull);
  EXPECT_EQ(t.flags, 0x01);
  EXPECT_TRUE(t.has_trace());
}

TEST(Traceparent, KeepsFlagsOfVersion00AndSurroundingBlanksAreNotPartOfIt) {
  TraceContext t;
  ASSERT_TRUE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &t));
  EXPECT_EQ(t.flags, 0x00);
  ASSERT_TRUE(ParseTraceparent(std::string(" ") + kValid + "\t", &t));
  EXPECT_EQ(t.flags, 0x01);
}

// §3.2.2.2: a higher version is parsed as 00 when it has the 00 fields and, if longer,
// a '-' after them; only the sampled flag is kept.
TEST(Traceparent, FutureVersionIsReadAsVersion00) {
  TraceContext t;
  ASSERT_TRUE(
      ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff-what-ever", &t));
  EXPECT_EQ(t.parent_span_id, 0x00f067aa0ba902b7ull);
  EXPECT_EQ(t.flags, 0x01);
  ASSERT_TRUE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", &t));
  EXPECT_FALSE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00x", &t));
}

TEST(Traceparent, RejectsEveryInvalidKind) {
  const char* invalid[] = {
      "",
      "00",
      // version ff is invalid (§3.2.2.2); version not hex
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      // upper-case hex is invalid (HEXDIGLC, §3.2.2)
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
      "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      // all-zero trace id (§3.2.2.3) and parent id (§3.2.2.4)
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
      // wrong lengths and separators
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      // version 00 has nothing after the flags
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      // non-hex inside the ids
      "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba9 2b7-01",
      // two header lines joined by the parser (RFC 9110 §5.3)
      ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, "
       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
  };
  for (const char* value : invalid) {
    TraceContext t;
    t.flags = 0x42;
    EXPECT_FALSE(ParseTraceparent(value, &t)) << value;
    EXPECT_EQ(t.flags, 0x42) << "untouched on failure: " << value;
    EXPECT_FALSE(t.has_trace()) << value;
  }
}

TEST(Traceparent, FormatRoundTrips) {
  TraceContext t;
  ASSERT_TRUE(ParseTraceparent(kValid, &t));
  char out[kTraceparentSize];
  FormatTraceparent(t.trace_id, t.parent_span_id, t.flags, out);
  EXPECT_EQ(std::string(out, kTraceparentSize), kValid);
}

TEST(TraceId, NewIdsAreNonZeroAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto id = NewTraceId();
    TraceContext t;
    t.trace_id = id;
    ASSERT_TRUE(t.has_trace());
    seen.insert(Hex(id));
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(SpanId, DistinctPerCallIdNonZeroAndStable) {
  TraceContext t;
  ASSERT_TRUE(ParseTraceparent(kValid, &t));
  std::set<uint64_t> spans;
  for (uint64_t counter = 0; counter < 10000; ++counter) {
    const uint64_t span = SpanIdFor(CallId::Make(3, 0, counter % 7, counter), t.trace_id);
    EXPECT_NE(span, 0u);
    spans.insert(span);
  }
  EXPECT_EQ(spans.size(), 10000u);
  // Fixed here so a change of the derivation, which every runtime repeats
  // (runtimes/*: traceparent()), is a visible protocol change.
  std::array<uint8_t, 16> zero{};
  EXPECT_EQ(SpanIdFor(0, zero), 0xe220a8397b1dcdafull);  // splitmix64(0)'s first output
}

TEST(ServerTiming, FormatsKnownPartsInMilliseconds) {
  CallResult r;
  r.queue_us = 4;
  r.dispatch_us = 11;
  r.exec_us = 120;
  r.child_us = 80;
  r.known = CallResult::kTimingQueue | CallResult::kTimingDispatch | CallResult::kTimingExec |
            CallResult::kTimingChild;
  EXPECT_EQ(FormatServerTiming(r),
            "queue;dur=0.004, dispatch;dur=0.011, exec;dur=0.120, child;dur=0.080");
  r.known = CallResult::kTimingQueue;
  r.queue_us = 30'000'123;
  EXPECT_EQ(FormatServerTiming(r), "queue;dur=30000.123");
  r.known = 0;
  EXPECT_EQ(FormatServerTiming(r), "");
}

TEST(CallIdFormat, SixteenLowerCaseHexDigits) {
  EXPECT_EQ(FormatCallId(0x0010000000000005ull), "0010000000000005");
  EXPECT_EQ(FormatCallId(0), "0000000000000000");
  EXPECT_EQ(FormatCallId(~0ull), "ffffffffffffffff");
}

TEST(LinkStructs, RoundTrip) {
  TraceContext t;
  ASSERT_TRUE(ParseTraceparent(kValid, &t));
  std::string payload(StructBytes(EncodeLinkTrace(t)));
  payload += "fn";
  std::string_view view(payload);
  TraceContext back;
  ASSERT_TRUE(DecodeLinkTrace(&view, &back));
  EXPECT_EQ(view, "fn");
  EXPECT_EQ(back.trace_id, t.trace_id);
  EXPECT_EQ(back.parent_span_id, t.parent_span_id);
  EXPECT_EQ(back.flags, t.flags);
  std::string_view short_payload("short");
  EXPECT_FALSE(DecodeLinkTrace(&short_payload, &back));

  CallResult r;
  r.call_id = 77;
  r.queue_us = 1;
  r.dispatch_us = 2;
  r.exec_us = 3;
  r.child_us = 4;
  r.known = 15;
  r.trace = t;
  CallResult got;
  ASSERT_TRUE(DecodeLinkResult(StructBytes(EncodeLinkResult(r)), &got));
  EXPECT_EQ(got.call_id, 77u);
  EXPECT_EQ(got.queue_us + got.dispatch_us + got.exec_us + got.child_us, 10u);
  EXPECT_EQ(got.known, 15);
  EXPECT_EQ(got.trace.trace_id, t.trace_id);
  EXPECT_EQ(got.trace.parent_span_id, t.parent_span_id);
  EXPECT_FALSE(DecodeLinkResult("short", &got));
}

}  // namespace
}  // namespace nightjar::proto
