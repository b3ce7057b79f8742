// H2Session: the server side of one cleartext HTTP/2 connection (RFC 9113), over Debian's
// nghttp2. Bytes in, complete requests out; responses in, bytes out. It knows nothing about
// sockets, routes or calls, so the same code serves the gateway connection
// (http2_handler.h), tests and the fuzz target (h2_session_fuzz.cc).
//
// nghttp2 does the frame layer: HPACK, flow control (automatic WINDOW_UPDATEs), stream
// states, RFC 9113 §8 message checks (pseudo-headers, content-length), and the flood
// protections it has options for (SETTINGS, outbound ACKs, CONTINUATION, a rate limit on
// streams reset by the client). This class adds a server's limits on top: the concurrent
// streams it advertises, a header list size (431), a body size per stream (413), and it
// guarantees that each request it delivers is answered at most once (Respond on a stream
// already answered or closed does nothing).
//
// Thread rule: one thread (the connection's loop); not thread-safe. Not copyable.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct nghttp2_session;

namespace nightjar::gateway {

// RFC 9113 §3.4: what every prior-knowledge client sends first.
inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct H2Limits {
  uint32_t max_concurrent_streams = 128;     // SETTINGS_MAX_CONCURRENT_STREAMS
  uint32_t max_header_list_bytes = 16 * 1024;  // SETTINGS_MAX_HEADER_LIST_SIZE; 431 above
  uint64_t max_body_bytes = 16 << 20;        // per request; 413 above
};

// One complete request (END_STREAM seen). Header names are lower case (HTTP/2 requires it),
// pseudo-headers are taken out into their fields.
struct H2Request {
  int32_t stream_id = 0;
  std::string method, scheme, authority, path;  // path: :path as sent (with query)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // 413 (body over max_body_bytes) or 431 (headers over max_header_list_bytes): the request
  // is delivered as soon as the limit passes, with what was read, and must be refused.
  int limit_status = 0;
  const std::string* Header(std::string_view lower_name) const;
};

using H2Header = std::pair<std::string, std::string>;

class H2Session {
 public:
  using RequestFn = std::function<void(H2Request&&)>;
  // A stream that was delivered and is not answered yet was closed (client RST_STREAM, or
  // the connection's end): its answer, when it comes, is dropped.
  using AbandonFn = std::function<void(int32_t stream_id)>;

  H2Session(H2Limits limits, RequestFn on_request, AbandonFn on_abandon);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Starts the session and queues the server's SETTINGS. For an `Upgrade: h2c` request
  // (RFC 7540 §3.2), `upgrade_settings` is its decoded HTTP2-Settings payload: stream 1
  // then stands for that request (answer it with Respond(1, ...)). False when nghttp2
  // refuses (bad settings payload): answer in HTTP/1.1 instead.
  bool Start(const std::string* upgrade_settings = nullptr, bool head_request = false);

  // Feeds bytes from the peer. Complete requests go to on_request (possibly several, and
  // possibly answered from inside the callback). False on a connection error: the output
  // holds a GOAWAY; send it, then close.
  bool Feed(std::string_view data);

  // Answers a stream: `status`, headers (lower-case names), body, and trailers when not
  // empty (gRPC). Without body and trailers the answer is one HEADERS frame with
  // END_STREAM (a gRPC trailers-only answer). Does nothing for a stream that is unknown,
  // closed or answered already.
  void Respond(int32_t stream_id, int status, std::vector<H2Header> headers, std::string body,
               std::vector<H2Header> trailers = {});
  // RST_STREAM with `error_code` (RFC 9113 §7); does nothing for an unknown stream.
  void Reset(int32_t stream_id, uint32_t error_code);
  // GOAWAY (NO_ERROR): no new streams; the ones already started may still be answered.
  void Shutdown();

  // Moves frames ready to go into *out while it holds less than `max_bytes`.
  void TakeOutput(std::string* out, size_t max_bytes = 1 << 20);
  // Neither side wants more: close once the output is sent.
  bool Finished() const;
  // Streams delivered and not answered yet.
  size_t awaiting_answer() const { return awaiting_; }
  // Whether stream `id` waits for its answer (delivered, open, not answered).
  bool Awaiting(int32_t id) const;
  // Streams whose request is not complete yet, with the time (ns) each began.
  std::vector<std::pair<int32_t, int64_t>> IncompleteStreams() const;

 private:
  struct Stream {
    H2Request request;
    int64_t start_ns = 0;
    size_t header_bytes = 0;
      bool delivered = false;  // on_request has it
    bool answered = false;
    std::string out;  // response body
    size_t out_off = 0;
    std::vector<H2Header> trailers;
  };

  Stream* Find(int32_t id);
  void Deliver(int32_t id, Stream& s);

  friend struct H2Callbacks;  // nghttp2 callbacks (h2_session.cc)

  H2Limits limits_;
  RequestFn on_request_;
  AbandonFn on_abandon_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Stream> streams_;
  size_t awaiting_ = 0;
  bool failed_ = false;
};

}  // namespace nightjar::gateway
