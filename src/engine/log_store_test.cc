// Tests for the log ring (bound, drop count, cursor reads) and the pipe parser (lines,
// frames and their call ids, cut lines, headers that are not headers).
#include "engine/log_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proto/log_frame.h"

namespace nightjar::engine {
namespace {

LogLine Line(std::string text) {
  LogLine l;
  l.text = std::move(text);
  return l;
}

TEST(LogStoreTest, RingKeepsTheNewestLinesAndCountsWhatItDrops) {
  LogStore store(2, 3);
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(store.Append(1, Line("l" + std::to_string(i))), i);
  LogStore::Page all = store.Read(1, 0, 0);
  ASSERT_EQ(all.lines.size(), 3u);
  EXPECT_EQ(all.lines[0].text, "l3");
  EXPECT_EQ(all.lines[0].seq, 3u);
  EXPECT_EQ(all.lines[2].text, "l5");
  EXPECT_EQ(all.last_seq, 5u);
  EXPECT_EQ(all.dropped, 2u);
  EXPECT_EQ(all.missed, 2u);
  // The other function's ring is its own.
  EXPECT_TRUE(store.Read(2, 0, 0).lines.empty());
  EXPECT_EQ(store.Read(2, 0, 0).dropped, 0u);
}

TEST(LogStoreTest, CursorReadsReturnOnlyNewerLinesAndWhatWasMissed) {
  LogStore store(1, 3);
  for (int i = 1; i <= 3; ++i) store.Append(1, Line("a" + std::to_string(i)));
  LogStore::Page p = store.Read(1, 2, 0);
  ASSERT_EQ(p.lines.size(), 1u);
  EXPECT_EQ(p.lines[0].text, "a3");
  EXPECT_EQ(p.missed, 0u);
  EXPECT_TRUE(store.Read(1, 3, 0).lines.empty());
  for (int i = 4; i <= 9; ++i) store.Append(1, Line("a" + std::to_string(i)));
  p = store.Read(1, 3, 0);  // lines 4..6 went while the reader was away
  EXPECT_EQ(p.missed, 3u);
  ASSERT_EQ(p.lines.size(), 3u);
  EXPECT_EQ(p.lines[0].text, "a7");
  EXPECT_EQ(p.last_seq, 9u);
}

TEST(LogStoreTest, MaxLinesTakesTheNewest) {
  LogStore store(1, 10);
  for (int i = 1; i <= 6; ++i) store.Append(1, Line(std::to_string(i)));
  LogStore::Page p = store.Read(1, 0, 2);
  ASSERT_EQ(p.lines.size(), 2u);
  EXPECT_EQ(p.lines[0].text, "5");
  EXPECT_EQ(p.lines[1].text, "6");
}

TEST(LogStoreTest, UnknownFunctionIsIgnored) {
  LogStore store(1, 10);
  EXPECT_EQ(store.Append(0, Line("x")), 0u);
  EXPECT_EQ(store.Append(2, Line("x")), 0u);
  EXPECT_TRUE(store.Read(7, 0, 0).lines.empty());
}

TEST(LogStoreTest, FormatNamesEverything) {
  LogLine l;
  l.time_ns = 1'796'025'600'123'456'789;  // 2026-11-30T08:00:00.123456789Z
  l.call_id = 0x0010000000000005;
  l.worker_id = 3;
  l.stream = LogStream::kStderr;
  l.text = "hello";
  EXPECT_EQ(LogStore::Format("fn", l),
            "2026-11-30T08:00:00.123456Z fn w3 stderr 0010000000000005 hello");
  l.text = "a\x1b[2Jb\tc\r";
  EXPECT_EQ(LogStore::Format("fn", l),
            "2026-11-30T08:00:00.123456Z fn w3 stderr 0010000000000005 a\\x1b[2Jb\tc\\x0d");
  l.text = "hello";
  l.call_id = 0;
  l.worker_id = -1;
  l.pid = 42;
  l.stream = LogStream::kStdout;
  l.cut = true;
  EXPECT_EQ(LogStore::Format("fn", l),
            "2026-11-30T08:00:00.123456Z fn p42 stdout - hello [cut at 5 bytes]");
}

class LogParserTest : public ::testing::Test {
 protected:
  LogParser Make(size_t max_line) {
    return LogParser(max_line, 7, [this](LogLine&& l) { lines_.push_back(std::move(l)); });
  }
  std::vector<LogLine> lines_;
};

TEST_F(LogParserTest, PlainLinesAcrossReadsCarryNoCallId) {
  LogParser p = Make(100);
  p.Feed("one\ntw");
  p.Feed("o\n\nthree");
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_EQ(lines_[0].text, "one");
  EXPECT_EQ(lines_[1].text, "two");
  EXPECT_EQ(lines_[2].text, "");
  EXPECT_EQ(lines_[0].call_id, 0u);
  EXPECT_EQ(lines_[0].worker_id, 7);
  p.Finish();  // the worker died mid-line
  ASSERT_EQ(lines_.size(), 4u);
  EXPECT_EQ(lines_[3].text, "three");
  EXPECT_FALSE(lines_[3].cut);
}

TEST_F(LogParserTest, FramesTagTheirLinesAndEndTheirLastLine) {
  LogParser p = Make(100);
  const std::string body = "a\nb";
  const std::string frame = proto::LogFrameHeader(0x0010000000000005, 2, body.size()) + body;
  // Fed a byte at a time: a frame split anywhere by the pipe still parses.
  for (char c : "before" + frame + "after\n") p.Feed(std::string_view(&c, 1));
  ASSERT_EQ(lines_.size(), 4u);
  EXPECT_EQ(lines_[0].text, "before");
  EXPECT_EQ(lines_[0].call_id, 0u);
  EXPECT_EQ(lines_[1].text, "a");
  EXPECT_EQ(lines_[1].call_id, 0x0010000000000005u);
  EXPECT_EQ(lines_[1].worker_id, 2);
  EXPECT_EQ(lines_[2].text, "b");
  EXPECT_EQ(lines_[2].call_id, 0x0010000000000005u);
  EXPECT_EQ(lines_[3].text, "after");
  EXPECT_EQ(lines_[3].call_id, 0u);
  EXPECT_EQ(lines_[3].worker_id, 7);
}

TEST_F(LogParserTest, FramesOfOneCallContinueALineAndOthersEndIt) {
  LogParser p = Make(100);
  // std::cerr << "x=" << 5 << "\n": one frame per <<.
  p.Feed(proto::LogFrameHeader(1, 1, 2) + "x=" + proto::LogFrameHeader(1, 1, 1) + "5" +
         proto::LogFrameHeader(1, 1, 1) + "\n");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_EQ(lines_[0].text, "x=5");
  EXPECT_EQ(lines_[0].call_id, 1u);
  // Another call's frame, or plain output, ends an open line.
  p.Feed(proto::LogFrameHeader(1, 1, 4) + "open" + proto::LogFrameHeader(2, 3, 3) + "b\nc");
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_EQ(lines_[1].text, "open");
  EXPECT_EQ(lines_[1].call_id, 1u);
  EXPECT_EQ(lines_[2].text, "b");
  EXPECT_EQ(lines_[2].call_id, 2u);
  EXPECT_EQ(lines_[2].worker_id, 3);
  // "c" stays open until something else is written: here another call's frame, then a
  // plain '\n' (an empty plain line of its own).
  p.Feed(proto::LogFrameHeader(4, 1, 1) + "z" + "\n");
  ASSERT_EQ(lines_.size(), 6u);
  EXPECT_EQ(lines_[3].text, "c");
  EXPECT_EQ(lines_[3].call_id, 2u);
  EXPECT_EQ(lines_[4].text, "z");
  EXPECT_EQ(lines_[4].call_id, 4u);
  EXPECT_EQ(lines_[5].text, "");
  EXPECT_EQ(lines_[5].call_id, 0u);
  EXPECT_EQ(lines_[5].worker_id, 7);
}

TEST_F(LogParserTest, SomethingThatIsNotAHeaderIsText) {
  LogParser p = Make(100);
  p.Feed("\x1eNJLOG zz\nx\x1e y\n");
  p.Feed(std::string(80, '\x1e') + "\n");
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_EQ(lines_[0].text, "\x1eNJLOG zz");
  EXPECT_EQ(lines_[1].text, "x\x1e y");
  EXPECT_EQ(lines_[2].text.size(), 80u);
}

TEST_F(LogParserTest, LongLinesAreCutOnceAndTheRestSkipped) {
  LogParser p = Make(10);
  p.Feed(std::string(25, 'x'));
  ASSERT_EQ(lines_.size(), 1u);  // emitted at the cut, not at a '\n' that may never come
  EXPECT_TRUE(lines_[0].cut);
  EXPECT_EQ(lines_[0].text, std::string(10, 'x'));
  p.Feed(std::string(1 << 20, 'y'));
  EXPECT_EQ(lines_.size(), 1u);
  p.Feed("\nnext\n");
  ASSERT_EQ(lines_.size(), 2u);
  EXPECT_EQ(lines_[1].text, "next");
  EXPECT_FALSE(lines_[1].cut);
  p.Feed(std::string(10, 'z') + "\n");  // exactly the limit is not cut
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_FALSE(lines_[2].cut);
}

TEST_F(LogParserTest, CutInsideAFrameKeepsTheCallId) {
  LogParser p = Make(4);
  const std::string body = "abcdefgh\nok";
  p.Feed(proto::LogFrameHeader(9, 1, body.size()) + body + "plain\n");
  ASSERT_EQ(lines_.size(), 3u);
  EXPECT_TRUE(lines_[0].cut);
  EXPECT_EQ(lines_[0].call_id, 9u);
  EXPECT_EQ(lines_[1].text, "ok");
  EXPECT_EQ(lines_[1].call_id, 9u);
  EXPECT_EQ(lines_[2].text, "plai");
  EXPECT_EQ(lines_[2].call_id, 0u);
}

}  // namespace
}  // namespace nightjar::engine
