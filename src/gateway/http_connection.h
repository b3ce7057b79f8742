// HttpConnection: one HTTP/1.1 client connection of the gateway (DESIGN.md §8). Parses
// requests (http_codec.h), routes them (http_routes.h), sends calls to the Backend, and
// writes responses in request order (pipelining) as completions arrive.
//
// What it guarantees a client, whatever the client does (docs/http.md has the table):
//   - every request it accepts gets exactly one answer, in order, and a malformed one a
//     clear error before the connection closes;
//   - after an early error (400, 413, 417, ...) the connection closes lingeringly, so the
//     client reads the answer instead of a reset while it is still sending;
//   - a half-closed client (shutdown(SHUT_WR) after its requests) still gets its answers;
//   - bounded memory: at most max_pipelined_calls calls in flight, and no reading or
//     dispatching while max_unsent_output_bytes of responses wait for the client to read;
//   - deadlines for a request head (header_timeout_ms), a body (body_timeout_ms plus a
//     minimum rate), an idle keep-alive connection and a client that stops reading.
//
// Thread rule: created on any thread; everything else on its loop's thread. Ownership:
// shared_ptr held by HttpServer until OnClosed(); callbacks hold weak_ptrs.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/backend.h"
#include "gateway/http2_handler.h"
#include "gateway/http_codec.h"
#include "gateway/http_response.h"
#include "gateway/http_routes.h"
#include "io/stream_connection.h"

namespace nightjar::gateway {

class HttpServer;

class HttpConnection final : public io::StreamConnection {
 public:
  HttpConnection(HttpServer* server, io::EventLoop* loop, UniqueFd fd,
                 const config::GatewayConfig& config, Backend* backend);

  // Enforces the connection's deadlines at `now_ns`: answers 408 to a request head or
  // body that is late, closes an idle connection or one whose client stopped reading.
  // Called by the server's periodic sweep on this connection's loop.
  void CheckDeadlines(int64_t now_ns);
  // Server shutdown: HTTP/2 sends GOAWAY; then closes once the output is written.
  void Shutdown();

 protected:
  void OnData(std::string* in) override;
  void OnPeerClosed() override;
  void OnOutputDrained() override;
  void OnClosed() override;

 private:
  friend class Http2Handler;

  // Parses HTTP/1.1 bytes, serves what they complete, and switches to HTTP/2 on an
  // accepted `Upgrade: h2c`.
  void ParseAndServe(std::string_view data);
  // The upgrade offer in `req` can be taken: it is the only request owed an answer.
  bool MayUpgrade() const;
  // Switches to HTTP/2 for `req` (101, then its answer on stream 1); false if its
  // HTTP2-Settings are malformed (it is then served in HTTP/1.1).
  bool Upgrade(HttpRequest& req);

  // A response position, in request order.
  struct Slot {
    uint64_t seq = 0;
    bool ready = false;
    bool keep_alive = true;
    bool announce_keep_alive = false;  // HTTP/1.0 client that asked for keep-alive
    bool head_only = false;            // HEAD request: no body bytes
    bool continue_owed = false;        // "100 Continue" to send once it is at the front
    std::string response;
  };
  struct Waiting {
    uint64_t seq;
    HttpRequest request;
  };

  Slot& NewSlot(const HttpRequest& req);
  Slot* FindSlot(uint64_t seq);
  // Gives the requests the parser completed their slots; dispatches them now if nothing is
  // waiting and the limits allow, else queues them.
  void EnqueueParsed();
  // The parser's look at a head that expects 100-continue; false after answering it.
  bool OnExpectContinue(const HttpRequest& head);
  // Dispatches waiting requests while the limits allow, and reads only while it may.
  void Pump();
  // Whether one more request may be dispatched now (max_pipelined_calls, and the answers
  // owed against max_unsent_output_bytes).
  bool MayDispatch() const;
  // ResolveRoute(), plus 404 for a 405/OPTIONS answer about a function that does not exist.
  Route Resolve(const HttpRequest& req);
  void Handle(uint64_t seq, HttpRequest& req);
  void StartCall(uint64_t seq, const Route& route, HttpRequest& req);
  void CollectStatus(uint64_t seq, bool text);
  // GET /metrics: the backend's engines' metrics merged with the gateway's; 404 when the
  // server has no GatewayMetrics (engine.metrics: false).
  void CollectMetrics(uint64_t seq);
  void CollectLogs(uint64_t seq, const Route& route);
  void Complete(uint64_t seq, const proto::CallResult& result, std::string out);
  void Respond(uint64_t seq, int status, std::string_view body, std::string_view content_type,
               std::span<const std::string> extra = {});
  // Ends the connection after the error answer in `seq`'s slot (or a new one).
  void AnswerErrorAndClose(int status, std::string_view message,
                           std::span<const std::string> extra = {});
  void FlushReady();
  // Bytes of responses held here or in the output buffer, not yet taken by the client.
  size_t BufferedBytes() const { return pending_output() + slot_bytes_; }

  HttpServer* server_;
  const config::GatewayConfig& config_;
  Backend* backend_;
  HttpRequestParser parser_;
  std::vector<HttpRequest> parsed_;
  std::deque<Waiting> waiting_;  // parsed, not yet dispatched (backpressure)
  std::deque<Slot> slots_;
  size_t slot_bytes_ = 0;               // sum of slots_[i].response sizes
  uint64_t recent_response_bytes_ = 0;  // moving average of this connection's answers
  uint32_t in_flight_ = 0;              // calls dispatched and not yet answered
  uint64_t next_seq_ = 1;
  uint64_t continue_seq_ = 0;  // slot made for a head that expected 100-continue
  bool broken_ = false;        // the connection ends after the answers queued so far
  bool linger_ = true;         // end it with a lingering close (false: after a timeout)
  bool paused_ = false;        // reading stopped by backpressure
  bool pumping_ = false;       // inside Pump()
  HttpRequestParser::Phase phase_ = HttpRequestParser::Phase::kIdle;
  int64_t phase_start_ns_ = 0;  // when the current head or body began
  bool first_bytes_ = true;     // nothing read yet: the HTTP/2 preface may come
  std::unique_ptr<Http2Handler> h2_;  // set once the connection speaks HTTP/2
};

}  // namespace nightjar::gateway
