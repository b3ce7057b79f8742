// LogStore: the engine's memory of its workers' output (docs/operations.md, "Function
// logs"): one bounded ring of lines per function. A full ring drops its oldest line and
// counts it; every line has a sequence number (1, 2, ... per function), so a reader that
// polls with the last number it saw (GET /logs/<fn>?after=N) gets exactly the lines after
// it and learns how many it missed.
//
// LogParser: turns the bytes of one worker pipe into lines -- plain output (no call id)
// and log frames (proto/log_frame.h, tagged with their call id) -- bounded: a line longer
// than max_line_bytes is cut there (marked) and the rest of it skipped, so a function that
// writes without newlines costs the engine max_line_bytes, not what it wrote.
//
// Thread rules: LogStore's methods may be called from any thread (one short lock per
// function, never on the call path). A LogParser belongs to one pipe's loop thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace nightjar::engine {

enum class LogStream : uint8_t { kStdout = 1, kStderr = 2 };

struct LogLine {
  uint64_t seq = 0;        // set by LogStore::Append: 1, 2, ... per function
  int64_t time_ns = 0;     // CLOCK_REALTIME when the engine read it
  uint64_t call_id = 0;    // 0: written outside any call the worker could name
  int32_t worker_id = -1;  // -1: a runtime process's own output (not one slot's)
  int32_t pid = 0;
  LogStream stream = LogStream::kStdout;
  bool cut = false;  // the line was longer than max_line_bytes; text holds its start
  std::string text;  // without the '\n'
};

class LogStore {
 public:
  // One ring of `lines_per_function` lines for each function id 1..function_count.
  LogStore(uint32_t function_count, uint32_t lines_per_function);

  // Adds a line to a function's ring (dropping the oldest when full). Unknown ids are
  // ignored. Returns the line's sequence number (0 if ignored).
  uint64_t Append(uint32_t function_id, LogLine line);

  struct Page {
    std::vector<LogLine> lines;  // in sequence order
    uint64_t last_seq = 0;       // the newest sequence number so far (the next `after`)
    uint64_t missed = 0;         // lines after `after` that the ring dropped before this read
    uint64_t dropped = 0;        // lines the ring has dropped since the engine started
  };
  // The lines with seq > after, at most the newest `max_lines` of them (0 = all kept).
  Page Read(uint32_t function_id, uint64_t after, size_t max_lines) const;

  // "2026-11-30T08:00:00.123456Z <function> w<worker> <stream> <call id|-> <text>" (w<id>
  // for a worker, p<pid> for a runtime process's own output; a cut line ends in
  // " [cut at N bytes]"; control characters but tab shown as \xNN), without the '\n'.
  static std::string Format(std::string_view function, const LogLine& line);

 private:
  struct Ring {
    mutable std::mutex mu;
    std::deque<LogLine> lines;  // guarded by mu
    uint64_t next_seq = 1;      // guarded by mu
    uint64_t dropped = 0;       // guarded by mu
  };
  uint32_t capacity_;
  std::vector<std::unique_ptr<Ring>> rings_;  // index = function id
};

class LogParser {
 public:
  // `emit` receives each finished line (call_id, worker_id and text set; cut when
  // longer than max_line_bytes). `default_worker` tags plain output.
  using Emit = std::function<void(LogLine&&)>;
  LogParser(size_t max_line_bytes, int32_t default_worker, Emit emit);

  void Feed(std::string_view bytes);
  // The pipe ended (the worker exited): a line without its '\n' is emitted as it is.
  void Finish();

 private:
  enum class State { kText, kHeader, kFrame };
  void TextByte(std::string_view* in);
  void HeaderBytes(std::string_view* in);
  void FrameBytes(std::string_view* in);
  // Appends to the line being built (bounded), or emits it at '\n'.
  void Append(std::string_view chunk);
  void EndLine(bool always);
  bool ParseHeader(std::string_view h);

  size_t max_line_;
  int32_t default_worker_;
  Emit emit_;
  State state_ = State::kText;
  std::string line_;       // current line (at most max_line_ bytes)
  bool line_cut_ = false;  // line_ reached max_line_: skip to its '\n'
  std::string header_;     // kHeader: what may be a frame header
  uint64_t frame_call_ = 0;
  int32_t frame_worker_ = -1;
  uint64_t frame_left_ = 0;  // kFrame: body bytes still to come
  uint64_t call_ = 0;        // tags of the bytes being read (a frame's, or plain output's)
  int32_t worker_ = -1;
  uint64_t line_call_ = 0;  // tags of the open line (line_ / line_cut_)
  int32_t line_worker_ = -1;
};

}  // namespace nightjar::engine
