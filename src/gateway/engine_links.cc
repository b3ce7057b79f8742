// EngineLinks and EngineLink implementation.
#include "gateway/engine_links.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <set>
#include <unordered_map>

#include "base/logging.h"
#include "io/framed_connection.h"
#include "io/socket.h"
#include "metrics/exposition.h"
#include "proto/link_frame.h"

namespace nightjar::gateway {

using proto::CallStatus;
using proto::MessageType;

// One engine's TCP link. Calls in flight are answered kUnavailable if the link drops.
class EngineLink final : public io::FramedConnection {
 public:
  EngineLink(EngineLinks* owner, io::EventLoop* loop, UniqueFd fd, std::string peer)
      : FramedConnection(loop, std::move(fd)), owner_(owner), peer_(std::move(peer)) {}

  // The engine's end of the link, "host:port" ("[v6]:port"): its label in /metrics.
  const std::string& peer() const { return peer_; }

  bool Serves(std::string_view fn) const { return functions_.count(std::string(fn)) != 0; }
  size_t outstanding() const { return outstanding_.load(std::memory_order_relaxed); }

  // Loop thread only.
  void SendCall(std::string function, std::string input, int64_t timeout_ms,
                const proto::TraceContext& trace, CallDone done) {
    std::string payload;
    payload.reserve(sizeof(proto::LinkTrace) + function.size() + 1 + input.size());
    payload.append(proto::StructBytes(proto::EncodeLinkTrace(trace)));
    payload.append(function).push_back('\0');
    payload.append(input);
    SendRequest(MessageType::kLinkCall, timeout_ms > 0 ? timeout_ms * 1'000'000 : 0, payload,
                std::move(done));
  }
  // Loop thread only. The answer's payload is the function's log lines.
  void SendLogsRequest(std::string_view function, uint32_t max_lines, CallDone done) {
    std::string payload(function);
    payload.push_back('\0');
    payload += std::to_string(max_lines);
    SendRequest(MessageType::kLinkLogs, 0, payload, std::move(done));
  }
  // Loop thread only. The answer's payload is the engine's status in `format`.
  void SendStatusRequest(std::string_view format, CallDone done) {
    SendRequest(MessageType::kLinkStatus, 0, format, std::move(done));
  }

 protected:
  void OnClosed() override {
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [id, done] : pending) {
      done(FailedResult(CallStatus::kUnavailable, {}), "engine link lost");
    }
    owner_->OnLinkClosed(this);
  }

 private:
  void SendRequest(MessageType type, int64_t deadline_ns, std::string_view payload, CallDone done) {
    if (closed()) {
      done(FailedResult(CallStatus::kUnavailable, {}), "engine link lost");
      return;
    }
    uint64_t id = next_id_++;
    proto::MessageHeader h{};
    h.type = static_cast<uint16_t>(type);
    h.call_id = id;
    h.deadline_ns = deadline_ns;
    pending_.emplace(id, std::move(done));
    outstanding_.fetch_add(1, std::memory_order_relaxed);
    SendFrame(h, payload);
  }

  void OnFrame(proto::Frame& f) override {
    switch (static_cast<MessageType>(f.header.type)) {
      case MessageType::kEngineHello: {
        std::string_view names = f.payload;
        while (!names.empty()) {
          size_t nl = names.find('\n');
          if (nl != 0) functions_.emplace(names.substr(0, nl));
          if (nl == std::string_view::npos) break;
          names.remove_prefix(nl + 1);
        }
        owner_->OnLinkReady(std::static_pointer_cast<EngineLink>(shared_from_this()));
        return;
      }
      case MessageType::kLinkResult:
      case MessageType::kLinkLogs:
      case MessageType::kLinkStatus: {
        auto it = pending_.find(f.header.call_id);
        if (it == pending_.end()) return;
        CallDone done = std::move(it->second);
        pending_.erase(it);
        outstanding_.fetch_sub(1, std::memory_order_relaxed);
        proto::CallResult result;
        result.status = static_cast<CallStatus>(f.header.status);
        if (static_cast<MessageType>(f.header.type) == MessageType::kLinkResult) {
          if (!proto::DecodeLinkResult(f.payload, &result)) {
            done(FailedResult(CallStatus::kInternal, {}), "malformed result from the engine");
            Close();
            return;
          }
          f.payload.erase(0, sizeof(proto::LinkResult));
        }
        done(result, std::move(f.payload));
        return;
      }
      default:
        NJ_LOG(kWarning) << "unexpected frame type " << f.header.type << " from engine";
        Close();
    }
  }

  EngineLinks* owner_;
  const std::string peer_;
  std::set<std::string, std::less<>> functions_;
  std::unordered_map<uint64_t, CallDone> pending_;
  uint64_t next_id_ = 1;
  std::atomic<size_t> outstanding_{0};
};

namespace {
// "host:port" of an accepted peer, IPv6 hosts in brackets.
std::string PeerName(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
  }
  return "[" + std::string(host) + "]:" + std::to_string(port);
}
// Sends one request per link (`send` issues it on the link's loop) and, once every link has
// answered or was lost, calls `merge` with each link's answer body in link order ("" for a
// link whose answer was not kOk). `merge` runs once, on whichever thread saw the last answer.
void GatherFromLinks(const std::vector<std::shared_ptr<EngineLink>>& links,
                     std::function<void(EngineLink&, CallDone)> send,
                     std::function<void(std::vector<std::string>)> merge) {
  struct Gather {
    std::mutex mu;
    std::vector<std::string> parts;
    size_t left;
    std::function<void(std::vector<std::string>)> merge;
  };
  auto g = std::make_shared<Gather>();
  g->parts.resize(links.size());
  g->left = links.size();
  g->merge = std::move(merge);
  for (size_t i = 0; i < links.size(); ++i) {
    CallDone finish = [g, i](const proto::CallResult& r, std::string body) {
      {
        std::lock_guard<std::mutex> lock(g->mu);
        if (r.status == CallStatus::kOk) g->parts[i] = std::move(body);
        if (--g->left != 0) return;
      }
      g->merge(std::move(g->parts));  // the last answer: nobody else touches g any more
    };
    auto link = links[i];
    link->loop()->Dispatch(
        [link, send, finish = std::move(finish)]() mutable { send(*link, std::move(finish)); });
  }
}

}  // namespace

EngineLinks::~EngineLinks() = default;

Status EngineLinks::Start(const std::string& host, int port) {
  auto fd = io::ListenTcp(host, port, &port_);
  if (!fd.ok()) return fd.status();
  listen_fd_ = std::move(*fd);
  return loops_->loop(0)->Watch(listen_fd_.get(), EPOLLIN, this);
}

void EngineLinks::OnEvents(uint32_t) {
  for (;;) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int fd = ::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    io::SetNoDelay(fd);
    io::EventLoop* loop = loops_->Next();
    auto link = std::make_shared<EngineLink>(this, loop, UniqueFd(fd), PeerName(addr));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) continue;
      accepted_.push_back(link);
    }
    loop->Post([link] {
      if (!link->Start().ok()) link->Close();
    });
  }
}

void EngineLinks::OnLinkReady(const std::shared_ptr<EngineLink>& link) {
  std::lock_guard<std::mutex> lock(mu_);
  accepted_.erase(std::remove(accepted_.begin(), accepted_.end(), link), accepted_.end());
  ready_.push_back(link);
  NJ_LOG(kInfo) << "engine connected (" << ready_.size() << " now)";
}

void EngineLinks::OnLinkClosed(EngineLink* link) {
  std::lock_guard<std::mutex> lock(mu_);
  auto same = [link](const std::shared_ptr<EngineLink>& p) { return p.get() == link; };
  accepted_.erase(std::remove_if(accepted_.begin(), accepted_.end(), same), accepted_.end());
  size_t before = ready_.size();
  ready_.erase(std::remove_if(ready_.begin(), ready_.end(), same), ready_.end());
  if (ready_.size() != before) NJ_LOG(kWarning) << "engine link closed";
}

size_t EngineLinks::connected() {
  std::lock_guard<std::mutex> lock(mu_);
  return ready_.size();
}

// Routing of Call() and Precheck(): the least-outstanding engine that serves `function`;
// null with the reason when there is none.
std::shared_ptr<EngineLink> EngineLinks::Pick(std::string_view function, CallStatus* why,
                                              std::string* message) {
  std::shared_ptr<EngineLink> best;
  bool any = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& l : ready_) {
      any = true;
      if (!l->Serves(function)) continue;
      if (!best || l->outstanding() < best->outstanding()) best = l;
    }
  }
  if (!best) {
    *why = any ? CallStatus::kNotFound : CallStatus::kUnavailable;
    *message = any ? "unknown function \"" + std::string(function) + "\""
                   : std::string("no engine is connected");
  }
  return best;
}

CallStatus EngineLinks::Precheck(std::string_view function, uint64_t, std::string* message) {
  CallStatus why = CallStatus::kOk;
  Pick(function, &why, message);
  return why;
}

void EngineLinks::Call(std::string_view function, std::string_view input, int64_t timeout_ms,
                       const proto::TraceContext& trace, CallDone done) {
  CallStatus why = CallStatus::kOk;
  std::string message;
  std::shared_ptr<EngineLink> best = Pick(function, &why, &message);
  if (!best) {
    done(FailedResult(why, trace), std::move(message));
    return;
  }
  best->loop()->Dispatch([best, fn = std::string(function), in = std::string(input), timeout_ms,
                          trace, done = std::move(done)]() mutable {
    best->SendCall(std::move(fn), std::move(in), timeout_ms, trace, std::move(done));
  });
}

void EngineLinks::CollectStatus(StatusFormat format, std::function<void(std::string)> done) {
  std::vector<std::shared_ptr<EngineLink>> links;
  {
    std::lock_guard<std::mutex> lock(mu_);
    links = ready_;
  }
  const bool json = format == StatusFormat::kJson;
  if (links.empty()) {
    done(json ? "{\"engines\":[]}" : "no engine is connected\n");
    return;
  }
  // One request per engine; the last answer (or lost link) assembles the reply.
  GatherFromLinks(
      links,
      [json](EngineLink& link, CallDone finish) {
        link.SendStatusRequest(json ? "json" : "text", std::move(finish));
      },
      [json, done = std::move(done)](std::vector<std::string> parts) {
        std::string out;
        for (size_t k = 0; k < parts.size(); ++k) {
          if (json) {
            if (parts[k].empty()) continue;
            if (!out.empty()) out += ",";
            out += parts[k];
          } else {
            out += "engine " + std::to_string(k + 1) + ":\n" + parts[k];
          }
        }
        done(json ? "{\"engines\":[" + out + "]}" : out);
      });
}

void EngineLinks::CollectMetrics(std::function<void(std::string)> done) {
  std::vector<std::shared_ptr<EngineLink>> links;
  {
    std::lock_guard<std::mutex> lock(mu_);
    links = ready_;
  }
  if (links.empty()) {
    done({});
    return;
  }
  std::vector<std::string> peers;
  for (const auto& link : links) peers.push_back(link->peer());
  GatherFromLinks(
      links,
      [](EngineLink& link, CallDone finish) {
        link.SendStatusRequest("metrics", std::move(finish));
      },
      [peers = std::move(peers), done = std::move(done)](std::vector<std::string> parts) {
        // An engine with metrics off, or gone, has no part.
        for (size_t k = 0; k < parts.size(); ++k) {
          if (!parts[k].empty()) parts[k] = metrics::AddLabel(parts[k], "engine", peers[k]);
        }
        done(metrics::MergeExpositions(parts));
      });
}

void EngineLinks::CollectLogs(std::string_view function, uint64_t /*after*/, uint32_t max_lines,
                              LogsDone done) {
  std::vector<std::shared_ptr<EngineLink>> links;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& l : ready_) {
      if (l->Serves(function)) links.push_back(l);
    }
  }
  if (links.empty()) {
    CallStatus why = CallStatus::kOk;
    std::string message;
    Pick(function, &why, &message);
    done(why == CallStatus::kOk ? CallStatus::kUnavailable : why, message + "\n", "");
    return;
  }
  GatherFromLinks(
      links,
      [fn = std::string(function), max_lines](EngineLink& link, CallDone finish) {
        link.SendLogsRequest(fn, max_lines, std::move(finish));
      },
      [max_lines, done = std::move(done)](std::vector<std::string> parts) {
        std::vector<std::string_view> lines;  // every engine's, then merged
        uint64_t missed = 0;
        for (const std::string& body : parts) {
          std::string_view rest = body;
          while (!rest.empty()) {
            const size_t nl = rest.find('\n');
            std::string_view line = rest.substr(0, nl);
            rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
            if (line.starts_with("# ")) {  // "# N lines dropped"
              uint64_t n = 0;
              std::from_chars(line.data() + 2, line.data() + line.size(), n);
              missed += n;
              continue;
            }
            lines.push_back(line);
          }
        }
        // Every line starts with its fixed-width UTC time: text order is time order.
        std::stable_sort(lines.begin(), lines.end(), [](std::string_view a, std::string_view b) {
          return a.substr(0, 27) < b.substr(0, 27);
        });
        const size_t begin =
            max_lines > 0 && lines.size() > max_lines ? lines.size() - max_lines : 0;
        std::string out;
        if (missed > 0) out += "# " + std::to_string(missed) + " lines dropped\n";
        for (size_t k = begin; k < lines.size(); ++k) {
          out.append(lines[k]);
          out += '\n';
        }
        done(CallStatus::kOk, std::move(out), "");
      });
}

void EngineLinks::Stop() {
  std::vector<std::shared_ptr<EngineLink>> links;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    links = ready_;
    links.insert(links.end(), accepted_.begin(), accepted_.end());
  }
  loops_->loop(0)->RunAndWait([this] {
    if (listen_fd_.valid()) loops_->loop(0)->Unwatch(listen_fd_.get());
  });
  for (auto& l : links) l->loop()->RunAndWait([&l] { l->Close(); });
}

}  // namespace nightjar::gateway
