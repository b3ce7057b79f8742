// LogCapture implementation.
#include "engine/log_capture.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "base/logging.h"

namespace nightjar::engine {

// Bytes one readiness event may take from a pipe before the loop serves others (the pipe
// stays readable, so level-triggered epoll comes back to it): a flooding function gets
// its share of the loop, not all of it.
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kReadsPerEvent = 16;

class LogCapture::Pipe final : public io::Watcher {
 public:
  Pipe(LogCapture* owner, io::EventLoop* loop, uint32_t function_id, int32_t worker_id, int32_t pid,
       LogStream stream, UniqueFd fd)
      : owner_(owner),
        loop_(loop),
        function_id_(function_id),
        pid_(pid),
        stream_(stream),
        fd_(std::move(fd)),
        parser_(owner->config_.logs.max_line_bytes, worker_id,
                [this](LogLine&& l) { Emit(std::move(l)); }) {}

  Status Start() { return loop_->Watch(fd_.get(), EPOLLIN, this); }

  void OnEvents(uint32_t) override {
    static thread_local char buf[kReadChunk];
    for (int i = 0; i < kReadsPerEvent; ++i) {
      const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
      if (n > 0) {
        parser_.Feed(std::string_view(buf, static_cast<size_t>(n)));
        if (static_cast<size_t>(n) < sizeof(buf)) return;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      // EOF: every writer (the worker and its children) is gone.
      parser_.Finish();
      Close();
      owner_->Remove(this);  // deletes this
      return;
    }
  }

  void Close() {
    if (!fd_.valid()) return;
    loop_->Unwatch(fd_.get());
    fd_.Reset();
  }
  io::EventLoop* loop() const { return loop_; }

 private:
  void Emit(LogLine&& line) {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    line.time_ns = static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    line.pid = pid_;
    line.stream = stream_;
    owner_->Store(function_id_, std::move(line));
  }

  LogCapture* owner_;
  io::EventLoop* loop_;
  uint32_t function_id_;
  int32_t pid_;
  LogStream stream_;
  UniqueFd fd_;
  LogParser parser_;
};

LogCapture::LogCapture(const config::Config& config, io::LoopThreads* loops, LogEcho echo)
    : config_(config),
      loops_(loops),
      echo_(echo),
      store_(static_cast<uint32_t>(config.functions.size()), config.logs.lines_per_function) {}

LogCapture::~LogCapture() { Stop(); }

void LogCapture::Adopt(uint32_t function_id, int32_t worker_id, int32_t pid, UniqueFd out,
                       UniqueFd err) {
  if (function_id == 0 || function_id > config_.functions.size()) return;
  io::EventLoop* loop = loops_->Next();
  for (auto [fd, stream] : {std::pair{&out, LogStream::kStdout}, {&err, LogStream::kStderr}}) {
    if (!fd->valid()) continue;
    const int flags = ::fcntl(fd->get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd->get(), F_SETFL, flags | O_NONBLOCK) != 0) continue;
    auto pipe =
        std::make_unique<Pipe>(this, loop, function_id, worker_id, pid, stream, std::move(*fd));
    Pipe* raw = pipe.get();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      pipes_.emplace(raw, std::move(pipe));
    }
    // Watched last: its first event may run (and even remove it) on the loop at once.
    if (Status st = raw->Start(); !st.ok()) {
      NJ_LOG(kWarning) << "cannot watch a worker's output pipe: " << st.message();
      std::lock_guard<std::mutex> lock(mu_);
      pipes_.erase(raw);
    }
  }
}

void LogCapture::Remove(Pipe* pipe) {
  std::unique_ptr<Pipe> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pipes_.find(pipe);
    if (it == pipes_.end()) return;
    gone = std::move(it->second);
    pipes_.erase(it);
  }
}

void LogCapture::Store(uint32_t function_id, LogLine&& line) {
  if (echo_ == LogEcho::kAll || (echo_ == LogEcho::kStderrOutsideCalls && line.call_id == 0 &&
                                 line.stream == LogStream::kStderr)) {
    const std::string text = LogStore::Format(config_.functions[function_id - 1].name, line) + "\n";
    (void)!::write(STDERR_FILENO, text.data(), text.size());
  }
  store_.Append(function_id, std::move(line));
}

Result<std::string> LogCapture::Read(std::string_view function, uint64_t after, size_t max_lines,
                                     uint64_t* last_seq) const {
  const config::FunctionConfig* f = config_.Find(function);
  if (f == nullptr) {
    return NotFound("no function named \"" + std::string(function) + "\"");
  }
  LogStore::Page page = store_.Read(f->id, after, max_lines);
  std::string out;
  if (page.missed > 0) out += "# " + std::to_string(page.missed) + " lines dropped\n";
  for (const LogLine& l : page.lines) {
    out += LogStore::Format(f->name, l);
    out += '\n';
  }
  *last_seq = page.last_seq;
  return out;
}

void LogCapture::Stop() {
  std::unordered_map<Pipe*, std::unique_ptr<Pipe>> pipes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    pipes.swap(pipes_);
  }
  // Each pipe is closed on its own loop, where its events run.
  for (auto& [raw, pipe] : pipes) {
    Pipe* p = pipe.get();
    if (p->loop()->InLoopThread()) {
      p->Close();
    } else {
      p->loop()->RunAndWait([p] { p->Close(); });
    }
  }
}

}  // namespace nightjar::engine
