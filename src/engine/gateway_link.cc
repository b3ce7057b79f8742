// GatewayLink implementation.
#include "engine/gateway_link.h"

#include <charconv>

#include "base/logging.h"
#include "engine/engine.h"
#include "io/socket.h"
#include "io/framed_connection.h"
#include "metrics/exposition.h"
#include "proto/link_frame.h"

namespace nightjar::engine {

using proto::CallStatus;
using proto::MessageType;

class GatewayLinkConnection final : public io::FramedConnection {
 public:
  GatewayLinkConnection(GatewayLink* owner, Engine* engine, io::EventLoop* loop, UniqueFd fd)
      : FramedConnection(loop, std::move(fd)), owner_(owner), engine_(engine) {}

  void SendHello() {
    std::string names;
    for (const auto& f : engine_->config().functions) {
      names += f.name + "\n";
      // A gRPC service is served as "grpc:<service>" too (src/gateway/grpc.h).
      if (!f.grpc.empty()) names += "grpc:" + f.grpc + "\n";
    }
    proto::MessageHeader h{};
    h.type = static_cast<uint16_t>(MessageType::kEngineHello);
    SendFrame(h, names);
  }

 protected:
  void OnFrame(proto::Frame& f) override {
    switch (static_cast<MessageType>(f.header.type)) {
      case MessageType::kLinkCall:
        HandleCall(f);
        return;
      case MessageType::kLinkStatus:
        if (f.payload == "metrics") return SendMetrics(f.header);
        SendFrame(f.header, f.payload == "text" ? engine_->StatusText() : engine_->StatusJson());
        return;
      case MessageType::kLinkLogs:
        HandleLogs(f);
        return;
      default:
        NJ_LOG(kWarning) << "unexpected frame type " << f.header.type << " from gateway";
        Close();
    }
  }
  void OnClosed() override { owner_->OnDisconnected(); }

 private:
  // The engine's metrics and this process's (the gateway labels and merges them:
  // docs/operations.md); kNotFound when engine.metrics is false.
  void SendMetrics(proto::MessageHeader h) {
    if (!engine_->config().engine.metrics) {
      h.status = static_cast<uint16_t>(CallStatus::kNotFound);
      SendFrame(h, "metrics are off on this engine (engine.metrics: false)");
      return;
    }
    SendFrame(h, engine_->MetricsText() + metrics::Serialize(metrics::ProcessFamilies()));
  }

  void HandleCall(const proto::Frame& f) {
    uint64_t id = f.header.call_id;
    std::weak_ptr<GatewayLinkConnection> weak =
        std::static_pointer_cast<GatewayLinkConnection>(shared_from_this());
    io::EventLoop* home = loop();
    auto reply = [weak, home, id](const proto::CallResult& result, std::string out) {
      home->Dispatch([weak, id, result, out = std::move(out)] {
        auto self = weak.lock();
        if (!self || self->closed()) return;  // gateway gone: it answered the client already
        proto::MessageHeader h{};
        h.type = static_cast<uint16_t>(MessageType::kLinkResult);
        h.call_id = id;
        h.status = static_cast<uint16_t>(result.status);
        self->SendFrame(h, proto::StructBytes(proto::EncodeLinkResult(result)), out);
      });
    };
    proto::TraceContext trace;
    std::string_view payload(f.payload);
    if (!proto::DecodeLinkTrace(&payload, &trace)) {
      proto::CallResult r;
      r.status = CallStatus::kBadRequest;
      reply(r, "malformed link call");
      return;
    }
    size_t nul = payload.find('\0');
    if (nul == std::string::npos) {
      proto::CallResult r;
      r.status = CallStatus::kBadRequest;
      reply(r, "malformed link call");
      return;
    }
    engine_->SubmitExternal(payload.substr(0, nul), payload.substr(nul + 1),
                            f.header.deadline_ns / 1'000'000, trace, std::move(reply));
  }

  void HandleLogs(const proto::Frame& f) {
    proto::MessageHeader h = f.header;
    const size_t nul = f.payload.find('\0');
    std::string_view function = std::string_view(f.payload).substr(0, nul);
    uint32_t lines = 0;
    if (nul != std::string::npos) {
      std::string_view n = std::string_view(f.payload).substr(nul + 1);
      std::from_chars(n.data(), n.data() + n.size(), lines);
    }
    uint64_t cursor = 0;
    auto text = engine_->logs().Read(function, 0, lines, &cursor);
    h.status = static_cast<uint16_t>(text.ok() ? CallStatus::kOk : CallStatus::kNotFound);
    SendFrame(h, text.ok() ? *text : text.status().message() + "\n");
  }

  GatewayLink* owner_;
  Engine* engine_;
};

GatewayLink::GatewayLink(Engine* engine, io::EventLoop* loop, std::string host, int port)
    : engine_(engine), loop_(loop), host_(std::move(host)), port_(port) {}

GatewayLink::~GatewayLink() { Stop(); }

void GatewayLink::Start() { connector_ = std::thread([this] { ConnectLoop(); }); }

void GatewayLink::ConnectLoop() {
  bool warned = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (current_) {
      cv_.wait(lock, [&] { return stopping_ || !current_; });
      continue;
    }
    lock.unlock();
    auto fd = io::ConnectTcp(host_, port_);
    lock.lock();
    if (stopping_) break;
    if (!fd.ok()) {
      if (!warned) NJ_LOG(kWarning) << fd.status().message() << "; retrying every 500 ms";
      warned = true;
      cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_; });
      continue;
    }
    warned = false;
    auto conn = std::make_shared<GatewayLinkConnection>(this, engine_, loop_, std::move(*fd));
    current_ = conn;
    loop_->Post([conn] {
      if (!conn->Start().ok()) {
        conn->Close();
        return;
      }
      conn->SendHello();
    });
    NJ_LOG(kInfo) << "connected to gateway " << host_ << ":" << port_;
  }
}

void GatewayLink::OnDisconnected() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!stopping_) NJ_LOG(kWarning) << "gateway link lost; reconnecting";
  current_.reset();
  cv_.notify_all();
}

void GatewayLink::Stop() {
  std::shared_ptr<GatewayLinkConnection> conn;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    conn = current_;
    cv_.notify_all();
  }
  if (connector_.joinable()) connector_.join();
  if (conn) loop_->RunAndWait([&] { conn->Close(); });
}

}  // namespace nightjar::engine
