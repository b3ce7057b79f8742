// LogStore and LogParser implementation.
#include "engine/log_store.h"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "proto/log_frame.h"

namespace nightjar::engine {

LogStore::LogStore(uint32_t function_count, uint32_t lines_per_function)
    : capacity_(std::max<uint32_t>(lines_per_function, 1)) {
  rings_.resize(function_count + 1);
  for (auto& r : rings_) r = std::make_unique<Ring>();
}

uint64_t LogStore::Append(uint32_t function_id, LogLine line) {
  if (function_id == 0 || function_id >= rings_.size()) return 0;
  Ring& r = *rings_[function_id];
  std::lock_guard<std::mutex> lock(r.mu);
  if (r.lines.size() >= capacity_) {
    r.lines.pop_front();
    ++r.dropped;
  }
  line.seq = r.next_seq++;
  r.lines.push_back(std::move(line));
  return r.lines.back().seq;
}

LogStore::Page LogStore::Read(uint32_t function_id, uint64_t after, size_t max_lines) const {
  Page page;
  if (function_id == 0 || function_id >= rings_.size()) return page;
  const Ring& r = *rings_[function_id];
  std::lock_guard<std::mutex> lock(r.mu);
  page.last_seq = r.next_seq - 1;
  page.dropped = r.dropped;
  const uint64_t first_kept = r.lines.empty() ? r.next_seq : r.lines.front().seq;
  // Sequence numbers are contiguous, so what the ring lost past `after` is a difference.
  if (after + 1 < first_kept) page.missed = first_kept - (after + 1);
  const uint64_t from = std::max(after + 1, first_kept);
  size_t begin = static_cast<size_t>(from - first_kept);
  if (begin > r.lines.size()) begin = r.lines.size();
  if (max_lines > 0 && r.lines.size() - begin > max_lines) begin = r.lines.size() - max_lines;
  page.lines.assign(r.lines.begin() + static_cast<std::ptrdiff_t>(begin), r.lines.end());
  return page;
}

std::string LogStore::Format(std::string_view function, const LogLine& line) {
  const time_t secs = static_cast<time_t>(line.time_ns / 1'000'000'000);
  tm utc{};
  gmtime_r(&secs, &utc);
  char head[96];
  int n = std::snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ ",
                        utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                        utc.tm_sec, static_cast<long long>(line.time_ns % 1'000'000'000 / 1000));
  std::string out(head, static_cast<size_t>(n));
  out.append(function);
  if (line.worker_id >= 0) {
    out += " w" + std::to_string(line.worker_id);
  } else {
    out += " p" + std::to_string(line.pid);
  }
  out += line.stream == LogStream::kStderr ? " stderr " : " stdout ";
  if (line.call_id != 0) {
    char id[17];
    std::snprintf(id, sizeof(id), "%016llx", static_cast<unsigned long long>(line.call_id));
    out.append(id, 16);
  } else {
    out += '-';
  }
  out += ' ';
  // Control characters (an ANSI escape, a '\r') are shown, not obeyed, by a terminal.
  for (unsigned char c : line.text) {
    if (c < 0x20 && c != '\t') {
      char esc[5];
      std::snprintf(esc, sizeof(esc), "\\x%02x", c);
      out += esc;
    } else if (c == 0x7f) {
      out += "\\x7f";
    } else {
      out += static_cast<char>(c);
    }
  }
  if (line.cut) out += " [cut at " + std::to_string(line.text.size()) + " bytes]";
  return out;
}

LogParser::LogParser(size_t max_line_bytes, int32_t default_worker, Emit emit)
    : max_line_(std::max<size_t>(max_line_bytes, 1)),
      default_worker_(default_worker),
      emit_(std::move(emit)),
      worker_(default_worker),
      line_worker_(default_worker) {}

void LogParser::Feed(std::string_view in) {
  while (!in.empty()) {
    switch (state_) {
      case State::kText:
        TextByte(&in);
        break;
      case State::kHeader:
        HeaderBytes(&in);
        break;
      case State::kFrame:
        FrameBytes(&in);
        break;
    }
  }
}

void LogParser::TextByte(std::string_view* in) {
  size_t p = 0;
  while (p < in->size() && (*in)[p] != '\n' && (*in)[p] != proto::kLogFrameStart) ++p;
  Append(in->substr(0, p));
  if (p == in->size()) {
    in->remove_prefix(p);
    return;
  }
  if ((*in)[p] == '\n') {
    EndLine(true);
    in->remove_prefix(p + 1);
    return;
  }
  in->remove_prefix(p);
  state_ = State::kHeader;
  header_.clear();
}

void LogParser::HeaderBytes(std::string_view* in) {
  const size_t room = proto::kMaxLogFrameHeader - header_.size();
  const size_t nl = in->substr(0, room).find('\n');
  if (nl == std::string_view::npos) {
    header_.append(in->substr(0, room));
    in->remove_prefix(std::min(room, in->size()));
    if (header_.size() < proto::kMaxLogFrameHeader) return;  // more may come
    state_ = State::kText;                                   // too long for a header: plain text
    Append(header_);
    return;
  }
  header_.append(in->substr(0, nl));
  in->remove_prefix(nl + 1);
  if (ParseHeader(header_)) {
    call_ = frame_call_;
    worker_ = frame_worker_;
    state_ = frame_left_ > 0 ? State::kFrame : State::kText;
    if (state_ == State::kText) {
      call_ = 0;
      worker_ = default_worker_;
    }
    return;
  }
  state_ = State::kText;
  Append(header_);
  EndLine(true);
}

void LogParser::FrameBytes(std::string_view* in) {
  std::string_view body =
      in->substr(0, static_cast<size_t>(std::min<uint64_t>(frame_left_, in->size())));
  in->remove_prefix(body.size());
  frame_left_ -= body.size();
  for (size_t nl; (nl = body.find('\n')) != std::string_view::npos;) {
    Append(body.substr(0, nl));
    EndLine(true);
    body.remove_prefix(nl + 1);
  }
  Append(body);
  if (frame_left_ == 0) {
    // A line the frame left open stays open for the next frame of the same call (a
    // std::cerr line comes as one frame per <<); anything else ends it.
    state_ = State::kText;
    call_ = 0;
    worker_ = default_worker_;
  }
}

// "\x1eNJLOG <16 hex> <worker id> <length>" (the '\n' already taken off).
bool LogParser::ParseHeader(std::string_view h) {
  const std::string prefix =
      std::string(1, proto::kLogFrameStart) + std::string(proto::kLogFrameTag) + " ";
  if (!h.starts_with(prefix)) return false;
  h.remove_prefix(prefix.size());
  if (h.size() < 17 || h[16] != ' ') return false;
  uint64_t call = 0;
  for (size_t i = 0; i < 16; ++i) {
    const char c = h[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    call = call << 4 | static_cast<uint64_t>(d);
  }
  h.remove_prefix(17);
  const size_t sp = h.find(' ');
  if (sp == std::string_view::npos || sp == 0) return false;
  uint32_t worker = 0;
  uint64_t length = 0;
  auto w = std::from_chars(h.data(), h.data() + sp, worker);
  if (w.ec != std::errc() || w.ptr != h.data() + sp || worker > 0xffff) return false;
  const std::string_view len = h.substr(sp + 1);
  auto l = std::from_chars(len.data(), len.data() + len.size(), length);
  if (len.empty() || l.ec != std::errc() || l.ptr != len.data() + len.size()) return false;
  frame_call_ = call;
  frame_worker_ = static_cast<int32_t>(worker);
  frame_left_ = length;
  return true;
}

void LogParser::Append(std::string_view chunk) {
  if (chunk.empty()) return;
  if (call_ != line_call_ || worker_ != line_worker_) {
    EndLine(false);  // the open line is another source's: it ends here
    line_call_ = call_;
    line_worker_ = worker_;
  }
  if (line_cut_) return;
  const size_t room = max_line_ - line_.size();
  if (chunk.size() <= room) {
    line_.append(chunk);
    if (line_.size() < max_line_) return;
    // Exactly full: whether it is cut depends on what comes next; keep it until then.
    return;
  }
  line_.append(chunk.substr(0, room));
  // Emitted now, not at its '\n' (which may never come): the rest of the line is skipped.
  LogLine out;
  out.call_id = line_call_;
  out.worker_id = line_worker_;
  out.cut = true;
  out.text = std::move(line_);
  line_.clear();
  line_cut_ = true;
  emit_(std::move(out));
}

// always: a '\n' of the current source ends its line (even an empty one); otherwise
// the open line, if any, ends as it is.
void LogParser::EndLine(bool always) {
  if (always && (call_ != line_call_ || worker_ != line_worker_)) {
    EndLine(false);  // another source's open line ends first
    line_call_ = call_;
    line_worker_ = worker_;
  }
  if (line_cut_) {
    line_cut_ = false;
    return;
  }
  if (!always && line_.empty()) return;
  LogLine out;
  out.call_id = line_call_;
  out.worker_id = line_worker_;
  out.text = std::move(line_);
  line_.clear();
  emit_(std::move(out));
}

void LogParser::Finish() {
  if (state_ == State::kHeader) {
    state_ = State::kText;
    Append(header_);
  }
  EndLine(false);
  state_ = State::kText;
  call_ = 0;
  worker_ = default_worker_;
}

}  // namespace nightjar::engine
