// HttpConnection implementation; see http_connection.h.
#include "gateway/http_connection.h"

#include <charconv>

#include "base/clock.h"
#include "gateway/gateway_metrics.h"
#include "gateway/http_routes.h"
#include "gateway/http_server.h"
#include "metrics/exposition.h"

namespace nightjar::gateway {

using proto::CallStatus;

namespace {
const std::string kRetryAfter = "Retry-After: 1";

std::span<const std::string> One(const std::string& header) {
  return header.empty() ? std::span<const std::string>() : std::span<const std::string>(&header, 1);
}

// The announced Content-Length of a head, 0 when absent (chunked: unknown yet).
uint64_t AnnouncedLength(const HttpRequest& head) {
  const std::string* cl = head.Header("content-length");
  uint64_t n = 0;
  if (cl != nullptr) std::from_chars(cl->data(), cl->data() + cl->size(), n);
  return n;
}
}  // namespace

HttpConnection::HttpConnection(HttpServer* server, io::EventLoop* loop, UniqueFd fd,
                               const config::GatewayConfig& config, Backend* backend)
    : StreamConnection(loop, std::move(fd)),
      server_(server),
      config_(config),
      backend_(backend),
      parser_(HttpLimits{config.max_header_bytes, config.max_body_bytes, config.max_target_bytes}),
      phase_start_ns_(MonotonicNowNs()) {
  parser_.set_head_check([this](const HttpRequest& head) { return OnExpectContinue(head); });
}

HttpConnection::Slot& HttpConnection::NewSlot(const HttpRequest& req) {
  Slot& s = slots_.emplace_back();
  s.seq = next_seq_++;
  s.keep_alive = req.keep_alive;
  s.announce_keep_alive = req.keep_alive && req.version_minor == 0;
  s.head_only = req.is_head();
  return s;
}

HttpConnection::Slot* HttpConnection::FindSlot(uint64_t seq) {
  // Slots hold consecutive sequence numbers and leave from the front only.
  if (slots_.empty() || seq < slots_.front().seq) return nullptr;
  const uint64_t index = seq - slots_.front().seq;
  return index < slots_.size() ? &slots_[index] : nullptr;
}

void HttpConnection::OnData(std::string* in) {
  if (h2_) {
    h2_->OnData(*in);
    in->clear();
    return;
  }
  if (first_bytes_) {
    // HTTP/2 with prior knowledge (RFC 9113 §3.3): the connection starts with the preface.
    const size_t n = std::min(in->size(), kH2Preface.size());
    if (std::string_view(*in).substr(0, n) == kH2Preface.substr(0, n)) {
      if (n < kH2Preface.size()) return;  // wait for the rest of it
      h2_ = std::make_unique<Http2Handler>(this, config_, backend_);
      if (!h2_->Start()) return Close();
      h2_->OnData(*in);
      in->clear();
      return;
    }
    first_bytes_ = false;
  }
  std::string data = std::move(*in);
  in->clear();
  ParseAndServe(data);
}

bool HttpConnection::MayUpgrade() const {
  return !broken_ && slots_.empty() && waiting_.empty() && in_flight_ == 0 &&
         continue_seq_ == 0 && !closed() && !closing();
}

bool HttpConnection::Upgrade(HttpRequest& req) {
  const std::string* settings = req.Header("http2-settings");
  auto h2 = std::make_unique<Http2Handler>(this, config_, backend_);
  if (settings == nullptr || !h2->StartUpgrade(*settings, req.is_head())) return false;
  h2_ = std::move(h2);
  SetReading(true);
  Send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
  h2_->ServeUpgradeRequest(std::move(req));
  return true;
}

void HttpConnection::ParseAndServe(std::string_view data) {
  const uint64_t seq_before = next_seq_;
  const HttpRequestParser::Error err = parser_.Feed(data, &parsed_);
  if (closed()) return;  // an early answer from the head check failed to send
  EnqueueParsed();
  if (h2_) {  // upgraded: what followed the request is HTTP/2
    const std::string rest = parser_.TakeRemainder();
    if (!rest.empty() && !closed()) h2_->OnData(rest);
    return;
  }
  std::string rest;
  if (parser_.stopped_for_upgrade()) {  // declined: parse on in HTTP/1.1
    rest = parser_.TakeRemainder();
    parser_.ResumeAfterUpgrade();
  }
  if (err != HttpRequestParser::Error::kNone && err != HttpRequestParser::Error::kRejected) {
    AnswerErrorAndClose(parser_.error_status(), parser_.error_message());
    if (closed()) return;
  }
  // A new request began (or ended) in these bytes: its head or body clock starts now.
  const int64_t now = MonotonicNowNs();
  if (next_seq_ != seq_before || parser_.phase() != phase_) {
    phase_ = parser_.phase();
    phase_start_ns_ = now;
  }
  Pump();
  if (!rest.empty() && !closed()) ParseAndServe(rest);
}

void HttpConnection::EnqueueParsed() {
  for (HttpRequest& req : parsed_) {
    if (closed()) break;
    if (req.h2c_upgrade && MayUpgrade() && Upgrade(req)) {
      parsed_.clear();  // the parser stopped after this request
      return;
    }
    uint64_t seq = continue_seq_;
    continue_seq_ = 0;
    if (seq == 0) seq = NewSlot(req).seq;
    // The common case, nothing waiting and room to dispatch, skips the queue (and two
    // moves of the request).
    if (waiting_.empty() && !pumping_ && MayDispatch()) {
      Handle(seq, req);
    } else {
      waiting_.push_back(Waiting{seq, std::move(req)});
    }
  }
  parsed_.clear();
}

bool HttpConnection::OnExpectContinue(const HttpRequest& head) {
  EnqueueParsed();  // requests completed before this head keep their places
  Slot& slot = NewSlot(head);
  const Route route = Resolve(head);
  int status = 0;
  std::string message;
  std::string extra;
  if (route.kind == Route::Kind::kRespond && route.status >= 300) {
    status = route.status;
    message = route.body;
    extra = route.allow;
  } else if (route.kind == Route::Kind::kCall) {
    const CallStatus st = backend_->Precheck(route.function, AnnouncedLength(head), &message);
    if (st != CallStatus::kOk) {
      status = HttpStatusFor(st);
      message += '\n';
      if (status == 503) extra = kRetryAfter;
    }
  }
  if (status == 0) {
    slot.continue_owed = true;
    continue_seq_ = slot.seq;
    FlushReady();
    return true;
  }
  // RFC 9110 §10.1.1: a final status instead of 100 Continue. The body the client may
  // still send stays unread, so the connection ends (lingering) after this answer.
  slot.keep_alive = false;
  slot.announce_keep_alive = false;
  broken_ = true;
  Respond(slot.seq, status, message, "text/plain", One(extra));
  return false;
}

void HttpConnection::Pump() {
  // A call may complete inside Handle() (an in-process answer), which pumps again: the
  // outer loop re-checks the limits, so the inner call has nothing to do.
  if (pumping_) return;
  pumping_ = true;
  while (!waiting_.empty() && !closed() && MayDispatch()) {
    Waiting w = std::move(waiting_.front());
    waiting_.pop_front();
    Handle(w.seq, w.request);
  }
  pumping_ = false;
  if (closed() || closing()) return;
  const bool read =
      !broken_ && waiting_.empty() && BufferedBytes() <= config_.max_unsent_output_bytes;
  if (read && paused_) phase_start_ns_ = MonotonicNowNs();  // our pause is not the client's delay
  paused_ = !read;
  SetReading(read);
}

bool HttpConnection::MayDispatch() const {
  if (in_flight_ >= config_.max_pipelined_calls) return false;
  // The answers already owed count at their recent size: once a client falls behind on
  // large answers, at most about max_unsent_output_bytes of them are produced ahead.
  const uint64_t expected = BufferedBytes() + uint64_t{in_flight_} * recent_response_bytes_;
  return in_flight_ == 0 ? BufferedBytes() <= config_.max_unsent_output_bytes
                         : expected <= config_.max_unsent_output_bytes;
}

Route HttpConnection::Resolve(const HttpRequest& req) {
  Route route = ResolveRoute(req);
  std::string message;
  if (route.kind == Route::Kind::kRespond && !route.function.empty() &&
      backend_->Precheck(route.function, 0, &message) == CallStatus::kNotFound) {
    route.status = 404;  // no such resource comes before what it would allow
    route.body = message + "\n";
    route.allow.clear();
  }
  return route;
}

void HttpConnection::Handle(uint64_t seq, HttpRequest& req) {
  Route route = Resolve(req);
  switch (route.kind) {
    case Route::Kind::kRespond:
      return Respond(seq, route.status, route.body, route.status == 204 ? "" : "text/plain",
                     One(route.allow));
    case Route::Kind::kStatus:
      return CollectStatus(seq, route.text);
    case Route::Kind::kMetrics:
      return CollectMetrics(seq);
    case Route::Kind::kLogs:
      return CollectLogs(seq, route);
    case Route::Kind::kCall:
      return StartCall(seq, route, req);
  }
}

void HttpConnection::StartCall(uint64_t seq, const Route& route, HttpRequest& req) {
  ++in_flight_;
  auto weak =
      std::weak_ptr<HttpConnection>(std::static_pointer_cast<HttpConnection>(shared_from_this()));
  io::EventLoop* home = loop();
  const CallTimer timer = CallTimer::Start(server_->metrics(), route.function);
  backend_->Call(route.function, req.body, route.timeout_ms, route.trace,
                 [weak, home, seq, timer](const proto::CallResult& result, std::string out) {
                   timer.Done(HttpStatusFor(result.status));
                   home->Dispatch([weak, seq, result, out = std::move(out)]() mutable {
                     auto self = weak.lock();
                     if (!self || self->closed()) return;  // client left: drop the answer
                     self->Complete(seq, result, std::move(out));
                   });
                 });
}

void HttpConnection::CollectStatus(uint64_t seq, bool text) {
  auto weak =
      std::weak_ptr<HttpConnection>(std::static_pointer_cast<HttpConnection>(shared_from_this()));
  io::EventLoop* home = loop();
  ++in_flight_;
  backend_->CollectStatus(text ? Backend::StatusFormat::kText : Backend::StatusFormat::kJson,
                          [weak, home, seq, text](std::string body) {
                            home->Dispatch([weak, seq, text, body = std::move(body)] {
                              auto self = weak.lock();
                              if (!self || self->closed()) return;
                              --self->in_flight_;
                              self->Respond(seq, 200, body,
                                            text ? "text/plain" : "application/json");
                              self->Pump();
                            });
                          });
}

void HttpConnection::CollectMetrics(uint64_t seq) {
  GatewayMetrics* metrics = server_->metrics();
  if (metrics == nullptr) {
    return Respond(seq, 404, kMetricsOffMessage, "text/plain");
  }
  auto weak =
      std::weak_ptr<HttpConnection>(std::static_pointer_cast<HttpConnection>(shared_from_this()));
  io::EventLoop* home = loop();
  ++in_flight_;
  backend_->CollectMetrics([weak, home, seq, metrics](std::string engines) {
    home->Dispatch([weak, seq, metrics, engines = std::move(engines)] {
      auto self = weak.lock();
      if (!self || self->closed()) return;
      --self->in_flight_;
      self->Respond(seq, 200, metrics->Page(engines), metrics::kContentType);
      self->Pump();
    });
  });
}

void HttpConnection::CollectLogs(uint64_t seq, const Route& route) {
  auto weak =
      std::weak_ptr<HttpConnection>(std::static_pointer_cast<HttpConnection>(shared_from_this()));
  io::EventLoop* home = loop();
  ++in_flight_;
  backend_->CollectLogs(route.function, route.log_after, route.log_lines,
                        [weak, home, seq](CallStatus status, std::string body, std::string cursor) {
                          home->Dispatch([weak, seq, status, body = std::move(body),
                                          cursor = std::move(cursor)]() mutable {
                            auto self = weak.lock();
                            if (!self || self->closed()) return;
                            --self->in_flight_;
                            const CallAnswer a = AnswerForLogs(status, std::move(body), cursor);
                            self->Respond(seq, a.status, a.body, "text/plain", a.extra());
                            self->Pump();
                          });
                        });
}

void HttpConnection::Complete(uint64_t seq, const proto::CallResult& result, std::string out) {
  --in_flight_;
  const CallAnswer a = AnswerForCall(result, std::move(out), config_.server_timing);
  Respond(seq, a.status, a.body, "text/plain", a.extra());
  Pump();
}

void HttpConnection::Respond(uint64_t seq, int status, std::string_view body,
                             std::string_view content_type, std::span<const std::string> extra) {
  Slot* s = FindSlot(seq);
  if (s == nullptr || s->ready) return;
  ResponseHead head;
  head.status = status;
  head.content_type = content_type;
  head.keep_alive = s->keep_alive;
  head.announce_keep_alive = s->announce_keep_alive;
  head.head_only = s->head_only;
  head.date = HttpDateNow();
  head.extra_headers = extra;
  AppendResponse(&s->response, head, body);
  recent_response_bytes_ = (3 * recent_response_bytes_ + s->response.size()) / 4;
  s->ready = true;
  slot_bytes_ += s->response.size();
  FlushReady();
}

void HttpConnection::AnswerErrorAndClose(int status, std::string_view message,
                                         std::span<const std::string> extra) {
  if (broken_) return;
  broken_ = true;
  Slot* slot = FindSlot(continue_seq_);  // a request whose body failed already has one
  continue_seq_ = 0;
  if (slot == nullptr) {
    slot = &slots_.emplace_back();
    slot->seq = next_seq_++;
  }
  slot->continue_owed = false;
  slot->keep_alive = false;
  slot->announce_keep_alive = false;
  slot->head_only = false;
  Respond(slot->seq, status, std::string(message) + "\n", "text/plain", extra);
}

void HttpConnection::FlushReady() {
  while (!slots_.empty() && !closed()) {
    Slot& front = slots_.front();
    if (front.continue_owed) {
      front.continue_owed = false;
      Send(kContinueResponse);
      continue;
    }
    if (!front.ready) break;
    const bool keep_alive = front.keep_alive;
    slot_bytes_ -= front.response.size();
    Send(front.response);
    slots_.pop_front();
    if (!keep_alive) {  // nothing after it is answered (RFC 9112 §9.6)
      broken_ = true;
      slots_.clear();
      waiting_.clear();
      slot_bytes_ = 0;
      break;
    }
  }
  if (closed() || !slots_.empty()) return;
  // Nothing more is owed. Close if the stream cannot carry another request.
  if (peer_closed()) {
    CloseAfterFlush();
  } else if (broken_) {
    if (linger_) {
      LingeringClose(config_.lingering_close_ms, config_.lingering_close_bytes);
    } else {
      CloseAfterFlush();
    }
  }
}

void HttpConnection::OnPeerClosed() {
  if (h2_) return h2_->OnPeerClosed();
  // The client sends nothing more: a request whose body was still awaited never completes,
  // but everything it did send is answered before the connection closes.
  if (continue_seq_ != 0 && !slots_.empty() && slots_.back().seq == continue_seq_) {
    slot_bytes_ -= slots_.back().response.size();
    slots_.pop_back();
    continue_seq_ = 0;
  }
  if (slots_.empty()) return Close();
  FlushReady();
}

void HttpConnection::OnOutputDrained() {
  if (h2_) return h2_->OnOutputDrained();
  Pump();
}

void HttpConnection::Shutdown() {
  if (h2_) return h2_->Stop();
  CloseAfterFlush();
}

void HttpConnection::OnClosed() { server_->Forget(this); }

void HttpConnection::CheckDeadlines(int64_t now_ns) {
  if (closed()) return;
  if (h2_) return h2_->CheckDeadlines(now_ns);
  const int64_t ms = 1'000'000;
  // A client that stopped reading: its answers would sit here for ever (also while the
  // connection waits to close after them).
  if (pending_output() > 0 && now_ns - last_write_progress_ns() > config_.idle_timeout_ms * ms) {
    return Close();
  }
  if (closing()) return;
  if (!paused_ && !broken_) {
    // A new connection owes its first request head from the moment it was accepted, or
    // silent connections could hold every slot for idle_timeout_ms.
    const bool silent_since_accept = next_seq_ == 1 && phase_ == HttpRequestParser::Phase::kIdle;
    if (silent_since_accept && now_ns - phase_start_ns_ > config_.header_timeout_ms * ms) {
      return Close();
    }
    if (phase_ == HttpRequestParser::Phase::kHead &&
        now_ns - phase_start_ns_ > config_.header_timeout_ms * ms) {
      linger_ = false;  // a slow client gets its answer, not more time
      return AnswerErrorAndClose(408, "request head not complete within " +
                                          std::to_string(config_.header_timeout_ms) + " ms");
    }
    if (phase_ == HttpRequestParser::Phase::kBody) {
      // Apache mod_reqtimeout's rule: a base time, extended by the bytes that did arrive.
      const int64_t allowed =
          config_.body_timeout_ms * ms +
          static_cast<int64_t>(parser_.body_bytes() * 1'000'000'000ull / config_.min_body_rate);
      if (now_ns - phase_start_ns_ > allowed) {
        linger_ = false;
        return AnswerErrorAndClose(
            408, "request body too slow: less than " + std::to_string(config_.min_body_rate) +
                     " bytes/s after " + std::to_string(config_.body_timeout_ms) + " ms");
      }
    }
  }
  if (slots_.empty() && phase_ == HttpRequestParser::Phase::kIdle &&
      now_ns - last_activity_ns() > config_.idle_timeout_ms * ms) {
    Close();
  }
}

}  // namespace nightjar::gateway
