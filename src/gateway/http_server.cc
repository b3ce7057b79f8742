// HttpServer and HttpConnection implementation.
#include "gateway/http_server.h"

#include <sys/socket.h>

#include <charconv>
#include <deque>

#include "base/clock.h"
#include "base/logging.h"
#include "gateway/http_codec.h"
#include "io/socket.h"
#include "io/stream_connection.h"

namespace nightjar::gateway {

using proto::CallStatus;

int HttpStatusFor(CallStatus status) {
  switch (status) {
    case CallStatus::kOk: return 200;
    case CallStatus::kFunctionError: return 502;
    case CallStatus::kWorkerDied: return 502;
    case CallStatus::kTimeout: return 504;
    case CallStatus::kUnavailable: return 503;
    case CallStatus::kNotFound: return 404;
    case CallStatus::kTooLarge: return 413;
    case CallStatus::kBadRequest: return 400;
    case CallStatus::kInternal: return 500;
  }
  return 500;
}

namespace {
constexpr std::string_view kFunctionPrefix = "/function/";
const std::string kRetryAfter = "Retry-After: 1";
}  // namespace

// One client connection. Responses are kept in request order: each request gets a slot,
// and a slot is written only when every earlier slot has been.
class HttpConnection final : public io::StreamConnection {
 public:
  HttpConnection(HttpServer* server, io::EventLoop* loop, UniqueFd fd,
                 const config::GatewayConfig& config, Backend* backend)
      : StreamConnection(loop, std::move(fd)),
        server_(server),
        backend_(backend),
        parser_(HttpLimits{config.max_header_bytes, config.max_body_bytes}) {}

  bool busy() const { return !slots_.empty(); }

 protected:
  void OnData(std::string* in) override {
    requests_.clear();
    HttpRequestParser::Error err = parser_.Feed(*in, &requests_);
    in->clear();
    for (auto& req : requests_) Handle(req);
    if (err != HttpRequestParser::Error::kNone) {
      // Answer in order after the requests that parsed, then close.
      Slot& s = NewSlot(false);
      s.ready = true;
      int status = parser_.error_status();
      AppendResponse(&s.response, status, "", "text/plain",
                     std::string(ReasonPhrase(status)) + "\n", false);
      broken_ = true;
      FlushReady();
    }
  }
  void OnClosed() override { server_->Forget(this); }

 private:
  struct Slot {
    uint64_t seq = 0;
    bool ready = false;
    bool keep_alive = true;
    std::string response;
  };

  Slot& NewSlot(bool keep_alive) {
    slots_.push_back(Slot{next_seq_++, false, keep_alive, {}});
    return slots_.back();
  }

  void Respond(uint64_t seq, int status, std::string_view body,
               std::span<const std::string> extra = {}) {
    RespondTyped(seq, status, "text/plain", body, extra);
  }

  void RespondTyped(uint64_t seq, int status, std::string_view content_type,
                    std::string_view body, std::span<const std::string> extra = {}) {
    for (auto& s : slots_) {
      if (s.seq != seq) continue;
      AppendResponse(&s.response, status, "", content_type, body, s.keep_alive, extra);
      s.ready = true;
      break;
    }
    FlushReady();
  }

  void FlushReady() {
    bool close = false;
    while (!slots_.empty() && slots_.front().ready) {
      Send(slots_.front().response);
      close = close || !slots_.front().keep_alive;
      slots_.pop_front();
      if (close) break;
    }
    if (close || (broken_ && slots_.empty())) {
      slots_.clear();
      CloseAfterFlush();
    }
  }

  void Handle(HttpRequest& req) {
    if (broken_) return;
    Slot& slot = NewSlot(req.keep_alive);
    uint64_t seq = slot.seq;
    if (req.path == "/healthz") {
      if (req.method == "GET" || req.method == "HEAD") return Respond(seq, 200, "ok\n");
      return Respond(seq, 405, "use GET /healthz\n");
    }
    if (req.path == "/status") {
      if (req.method != "GET") return Respond(seq, 405, "use GET /status\n");
      bool text = req.target.find("format=text") != std::string::npos;
      auto weak = std::weak_ptr<HttpConnection>(
          std::static_pointer_cast<HttpConnection>(shared_from_this()));
      io::EventLoop* home = loop();
      backend_->CollectStatus(text ? Backend::StatusFormat::kText : Backend::StatusFormat::kJson,
                       [weak, home, seq, text](std::string body) {
                         home->Dispatch([weak, seq, text, body = std::move(body)] {
                           auto self = weak.lock();
                           if (!self || self->closed()) return;
                           self->RespondTyped(seq, 200, text ? "text/plain" : "application/json",
                                              body);
                         });
                       });
      return;
    }
    if (!req.path.starts_with(kFunctionPrefix)) {
      return Respond(seq, 404, "not found: use POST /function/<name>\n");
    }
    std::string_view name = std::string_view(req.path).substr(kFunctionPrefix.size());
    if (name.empty() || name.find('/') != std::string_view::npos) {
      return Respond(seq, 404, "not found: use POST /function/<name>\n");
    }
    if (req.method != "POST") return Respond(seq, 405, "use POST to call a function\n");
    int64_t timeout_ms = 0;
    if (const std::string* t = req.Header("x-nightjar-timeout-ms")) {
      auto [p, ec] = std::from_chars(t->data(), t->data() + t->size(), timeout_ms);
      if (ec != std::errc() || p != t->data() + t->size() || timeout_ms <= 0) {
        return Respond(seq, 400, "X-Nightjar-Timeout-Ms must be a positive integer\n");
      }
    }
    std::weak_ptr<HttpConnection> weak =
        std::static_pointer_cast<HttpConnection>(shared_from_this());
    io::EventLoop* home = loop();
    backend_->Call(name, req.body, timeout_ms,
                   [weak, home, seq](CallStatus status, std::string out) {
                     home->Dispatch([weak, seq, status, out = std::move(out)]() mutable {
                       auto self = weak.lock();
                       if (!self || self->closed()) return;  // client left: drop the answer
                       self->Complete(seq, status, std::move(out));
                     });
                   });
  }

  void Complete(uint64_t seq, CallStatus status, std::string out) {
    int code = HttpStatusFor(status);
    if (status != CallStatus::kOk) {
      if (out.empty()) out = proto::CallStatusName(status);
      if (out.back() != '\n') out.push_back('\n');
    }
    if (code == 503) {
      Respond(seq, code, out, std::span<const std::string>(&kRetryAfter, 1));
    } else {
      Respond(seq, code, out);
    }
  }

  HttpServer* server_;
  Backend* backend_;
  HttpRequestParser parser_;
  std::vector<HttpRequest> requests_;
  std::deque<Slot> slots_;
  uint64_t next_seq_ = 1;
  bool broken_ = false;
};

HttpServer::HttpServer(const config::GatewayConfig& config, io::LoopThreads* loops,
                       Backend* backend)
    : config_(config), loops_(loops), backend_(backend) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Start(const std::string& host, int port) {
  auto fd = io::ListenTcp(host, port, &port_);
  if (!fd.ok()) return fd.status();
  listen_fd_ = std::move(*fd);
  io::EventLoop* l0 = loops_->loop(0);
  NJ_RETURN_IF_ERROR(l0->Watch(listen_fd_.get(), EPOLLIN, this));
  for (size_t i = 0; i < loops_->size(); ++i) {
    io::EventLoop* loop = loops_->loop(i);
    loop->Post([this, loop] { SweepIdle(loop); });
  }
  return Status::Ok();
}

void HttpServer::OnEvents(uint32_t) {
  for (;;) {
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    UniqueFd owned(fd);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) continue;
    if (conns_.size() >= config_.max_connections) {
      // Over the limit: tell the client why instead of silently dropping it.
      std::string resp = FormatResponse(503, "", "text/plain", "too many connections\n", false,
                                        std::span<const std::string>(&kRetryAfter, 1));
      [[maybe_unused]] ssize_t n = ::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL);
      continue;
    }
    io::SetNoDelay(fd);
    io::EventLoop* loop = loops_->Next();
    auto conn = std::make_shared<HttpConnection>(this, loop, std::move(owned), config_, backend_);
    conns_.insert(conn);
    // Start on the connection's own loop, outside mu_ (a failed start calls Forget).
    loop->Post([conn] {
      if (!conn->Start().ok()) conn->Close();
    });
  }
}

void HttpServer::Forget(HttpConnection* c) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = conns_.begin(); it != conns_.end(); ++it) {
    if (it->get() == c) {
      conns_.erase(it);
      return;
    }
  }
}

void HttpServer::SweepIdle(io::EventLoop* loop) {
  // Runs once a second per loop; closes connections with no traffic and no call in
  // flight for longer than the idle timeout (this also bounds slow clients).
  std::vector<std::shared_ptr<HttpConnection>> victims;
  int64_t cutoff = MonotonicNowNs() - config_.idle_timeout_ms * 1'000'000;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    for (auto& c : conns_) {
      if (c->loop() == loop && !c->busy() && c->last_activity_ns() < cutoff) victims.push_back(c);
    }
  }
  for (auto& c : victims) c->Close();
  int64_t period = std::min<int64_t>(1000, std::max<int64_t>(config_.idle_timeout_ms / 4, 10));
  loop->RunAfterMs(period, [this, loop] { SweepIdle(loop); });
}

void HttpServer::StopAccepting() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  loops_->loop(0)->RunAndWait([this] {
    if (listen_fd_.valid()) loops_->loop(0)->Unwatch(listen_fd_.get());
    listen_fd_.Reset();
  });
}

void HttpServer::Stop() {
  StopAccepting();
  std::vector<std::shared_ptr<HttpConnection>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns.assign(conns_.begin(), conns_.end());
  }
  for (auto& c : conns) c->loop()->RunAndWait([&c] { c->CloseAfterFlush(); });
}

}  // namespace nightjar::gateway
