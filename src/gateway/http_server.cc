// HttpServer implementation.
#include "gateway/http_server.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <algorithm>

#include "base/clock.h"
#include "base/logging.h"
#include "gateway/http_connection.h"
#include "gateway/http_response.h"
#include "io/socket.h"

namespace nightjar::gateway {

using proto::CallStatus;

int HttpStatusFor(CallStatus status) {
  switch (status) {
    case CallStatus::kOk:
      return 200;
    case CallStatus::kFunctionError:
      return 502;
    case CallStatus::kWorkerDied:
      return 502;
    case CallStatus::kTimeout:
      return 504;
    case CallStatus::kUnavailable:
      return 503;
    case CallStatus::kNotFound:
      return 404;
    case CallStatus::kTooLarge:
      return 413;
    case CallStatus::kBadRequest:
      return 400;
    case CallStatus::kInternal:
      return 500;
  }
  return 500;
}

namespace {

const std::string kRetryAfter = "Retry-After: 1";

// Tells a connection we will not serve why, in one non-blocking write, and drops it.
void Refuse(int fd, std::string_view why) {
  ResponseHead head;
  head.status = 503;
  head.keep_alive = false;
  head.date = HttpDateNow();
  head.extra_headers = std::span<const std::string>(&kRetryAfter, 1);
  const std::string resp = FormatResponse(head, why);
  [[maybe_unused]] ssize_t n = ::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL);
}

}  // namespace

HttpServer::HttpServer(const config::GatewayConfig& config, io::LoopThreads* loops,
                       Backend* backend)
    : config_(config), loops_(loops), backend_(backend) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Start(const std::string& host, int port) {
  auto fd = io::ListenTcp(host, port, &port_);
  if (!fd.ok()) return fd.status();
  listen_fd_ = std::move(*fd);
  spare_fd_ = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  io::EventLoop* l0 = loops_->loop(0);
  NJ_RETURN_IF_ERROR(l0->Watch(listen_fd_.get(), EPOLLIN, this));
  for (size_t i = 0; i < loops_->size(); ++i) {
    io::EventLoop* loop = loops_->loop(i);
    loop->Post([this, loop] { Sweep(loop); });
  }
  return Status::Ok();
}

void HttpServer::OnEvents(uint32_t) {
  for (;;) {
    int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) ShedOne();
      return;
    }
    UniqueFd owned(fd);
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) continue;
    if (conns_.size() >= config_.max_connections) {
      // Over the limit: tell the client why instead of silently dropping it.
      Refuse(fd, "too many connections\n");
      continue;
    }
    io::SetNoDelay(fd);
    io::EventLoop* loop = loops_->Next();
    auto conn = std::make_shared<HttpConnection>(this, loop, std::move(owned), config_, backend_);
    conns_.emplace(conn.get(), conn);
    // Start on the connection's own loop, outside mu_ (a failed start calls Forget).
    loop->Post([conn] {
      if (!conn->Start().ok()) conn->Close();
    });
  }
}

void HttpServer::ShedOne() {
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true)) {
    NJ_LOG(kWarning) << "out of file descriptors: refusing connections (raise the limit with "
                        "ulimit -n, or lower gateway.max_connections)";
  }
  spare_fd_.Reset();
  const int fd = ::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd >= 0) {
    Refuse(fd, "out of file descriptors\n");
    ::close(fd);
  }
  spare_fd_ = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

void HttpServer::Forget(HttpConnection* c) {
  std::lock_guard<std::mutex> lock(mu_);
  conns_.erase(c);
}

void HttpServer::Sweep(io::EventLoop* loop) {
  // Applies every deadline of this loop's connections (idle, head, body, stalled reader);
  // the period is a quarter of the shortest, between 10 ms and 1 s.
  std::vector<std::shared_ptr<HttpConnection>> mine;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    for (auto& [raw, c] : conns_) {
      if (raw->loop() == loop) mine.push_back(c);
    }
  }
  const int64_t now = MonotonicNowNs();
  for (auto& c : mine) c->CheckDeadlines(now);
  const int64_t shortest =
      std::min({config_.idle_timeout_ms, config_.header_timeout_ms, config_.body_timeout_ms});
  const int64_t period = std::clamp<int64_t>(shortest / 4, 10, 1000);
  loop->RunAfterMs(period, [this, loop] { Sweep(loop); });
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
    for (auto& [raw, c] : conns_) conns.push_back(c);
  }
  for (auto& c : conns) c->loop()->RunAndWait([&c] { c->Shutdown(); });
}

}  // namespace nightjar::gateway
