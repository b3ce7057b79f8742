// HTTP/1.1 request parser for the gateway: turns the bytes of one client connection into
// complete requests. It knows nothing about sockets or event loops, so the same code serves
// the epoll front end, tests, fuzzing (http_codec_fuzz.cc) and benchmarks. Responses are
// formatted by http_response.h.
//
// Tokenizing is delegated to llhttp (Node.js's parser; Debian's node-llhttp ships its
// generated C sources) in its strict default mode. This file adds what a server needs on
// top of it and what llhttp 8.1 leaves lenient (docs/http.md has the full table):
//   - per-request limits on the head (431), request-target (414) and body (413) that hold
//     however the stream is split into reads;
//   - RFC 9112 framing llhttp accepts but a server must refuse: chunk data not followed by
//     CRLF (§7.1), obs-fold line folding (§5.2), Transfer-Encoding in HTTP/1.0 (§6.1);
//   - RFC 9110 semantics: Host (RFC 9112 §3.2), versions (505), unknown methods and
//     transfer codings (501), CONNECT (501), Expect (§10.1.1: 100-continue or 417),
//     request-target forms (RFC 9112 §3.2), Upgrade offers ignored (§7.8);
//   - pipelining, and an early look at each head (set_head_check) for Expect: 100-continue.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// llhttp's parser type; its header stays out of ours so that users of the codec do not
// need its include path.
struct llhttp__internal_s;

namespace nightjar::gateway {

// One complete request. A plain value: owns its strings, movable to any thread.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // request-target as sent, e.g. "/function/echo?x=1"
  std::string path;    // target without query (and fragment); for absolute-form, its path
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;                                          // decoded when chunked
  int version_minor = 1;                                     // HTTP/1.<version_minor>: 0 or 1
  bool keep_alive = false;       // false: answer with "Connection: close" and close
  bool expect_continue = false;  // HTTP/1.1 "Expect: 100-continue" with a body to come
  // An HTTP/1.1 offer to switch to cleartext HTTP/2 that RFC 7540 §3.2 lets a server take:
  // "Upgrade: h2c", one HTTP2-Settings header, both named in Connection. The parser stops
  // after such a request (see HttpRequestParser::stopped_for_upgrade).
  bool h2c_upgrade = false;

  // First header named `lower_name` (which must be lower case); nullptr if absent.
  const std::string* Header(std::string_view lower_name) const;
  bool is_head() const { return method == "HEAD"; }
};

struct HttpLimits {
  // Request line plus headers of one request, including line ends.
  size_t max_header_bytes = 16 * 1024;
  // Body after chunked decoding.
  size_t max_body_bytes = 16 << 20;
  // The request-target alone; longer gets 414 (RFC 9112 §3: servers must accept at least
  // 8000 octets of request line).
  size_t max_target_bytes = 8 * 1024;
};

// Incremental request parser: one per connection. Owned and called by a single thread (the
// connection's I/O thread); not thread-safe.
class HttpRequestParser {
 public:
  enum class Error {
    kNone,
    kMalformed,            // 400: syntax, framing or a semantic rule of RFC 9110/9112
    kHeaderTooLarge,       // 431
    kBodyTooLarge,         // 413
    kTargetTooLong,        // 414
    kNotImplemented,       // 501: unknown method or transfer coding, CONNECT
    kVersionNotSupported,  // 505: a major version other than 1 (HTTP/2 preface included)
    kExpectationFailed,    // 417: an Expect other than 100-continue
    kRejected,             // the head check refused the request (and answered it)
  };

  // Where in a request the stream stands; the connection times each phase.
  enum class Phase {
    kIdle,  // between requests: no byte of the next one seen yet
    kHead,  // some bytes of a request line or header section
    kBody,  // the head is complete, the body is being read
  };

  // Called once per request whose head is complete and that has expect_continue set,
  // before any body byte is consumed. Returns true to read the body (the caller owes the
  // client "100 Continue"), false when the caller has answered the request with a final
  // status instead: Feed then fails with kRejected and reads nothing more.
  using HeadCheck = std::function<bool(const HttpRequest& head)>;

  explicit HttpRequestParser(HttpLimits limits = {});
  ~HttpRequestParser();
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  void set_head_check(HeadCheck check) { head_check_ = std::move(check); }

  // Feeds bytes read from the socket, split anywhere. Each request completed by them is
  // appended to *out, in order (pipelining: one call may complete several). A partial
  // request is kept until later calls complete it.
  //
  // Fails when the stream is unusable: the connection must then answer error_status() with
  // error_message() and close. Requests completed earlier in the same call are still
  // appended and are valid. kBodyTooLarge is reported as soon as the head announces a
  // Content-Length over the limit, so the caller can answer 413 without reading the body.
  // Errors are sticky: later calls return the same error and append nothing.
  //
  // After a request with keep_alive == false, the rest of the stream is ignored: the
  // server answers that request and closes (RFC 9112 §9.6).
  Error Feed(std::string_view data, std::vector<HttpRequest>* out);

  // After a request with h2c_upgrade the parser stops: the bytes after it are not parsed
  // (they may be HTTP/2). The connection either switches protocols and takes them with
  // TakeRemainder(), or declines and calls ResumeAfterUpgrade(), then feeds them again.
  bool stopped_for_upgrade() const { return upgrade_stop_; }
  std::string TakeRemainder() { return std::move(remainder_); }
  void ResumeAfterUpgrade() {
    upgrade_stop_ = false;
    remainder_.clear();
  }

  Error error() const { return error_; }
  // The status to answer error() with (400, 413, 414, 417, 431, 501, 505); 0 while
  // error() is kNone or kRejected.
  int error_status() const;
  // One line saying what was wrong, for the error response's body; "" without an error.
  const std::string& error_message() const { return error_message_; }

  Phase phase() const;
  // Body bytes of the current request received so far (after chunked decoding).
  size_t body_bytes() const { return current_.body.size(); }

 private:
  // Why llhttp last paused; we pause it at the points where bookkeeping happens.
  enum class Pause { kNone, kHeadersComplete, kMessageComplete };

  static int OnUrl(llhttp__internal_s* p, const char* at, size_t len);
  static int OnHeaderField(llhttp__internal_s* p, const char* at, size_t len);
  static int OnHeaderValue(llhttp__internal_s* p, const char* at, size_t len);
  static int OnHeadersComplete(llhttp__internal_s* p);
  static int OnBody(llhttp__internal_s* p, const char* at, size_t len);
  static int OnChunkComplete(llhttp__internal_s* p);
  static int OnChunkMetadata(llhttp__internal_s* p, const char* at, size_t len);
  static int OnMessageComplete(llhttp__internal_s* p);

  // Validates the head of current_ once its headers are complete and fills the derived
  // fields; returns the error that ends the stream, or kNone.
  Error FinishHead();
  Error Fail(Error e, std::string message);
  // Maps an llhttp error to ours. `data`: the bytes of this Feed() from where llhttp was
  // started; `at`: llhttp's error position inside them.
  Error FailFromLlhttp(int llhttp_errno, std::string_view data, const char* at);
  // Finishes an unknown method's token (see FailFromLlhttp): 501 at the SP that ends it,
  // 400 at anything but a token character; kNone while undecided.
  Error ScanUnknownMethod(std::string_view bytes);
  // Counts chunk-extension and trailer bytes against the head limit; false (and 431) above.
  bool CountChunkMetadata(size_t len);
  // Checks that the bytes in [from, to) continue the CRLF owed after chunk data.
  bool CheckChunkCrlf(const char* from, const char* to);
  // Scans head bytes for a line that starts with whitespace after another (obs-fold).
  bool HasObsFold(std::string_view head_bytes);
  void ResetForNextRequest();

  HttpLimits limits_;
  HeadCheck head_check_;
  std::unique_ptr<llhttp__internal_s> parser_;
  HttpRequest current_;
  std::string head_prefix_;  // first bytes of current_'s head: tells 501 from 400 on a method
  size_t header_bytes_ = 0;  // head bytes seen for current_ so far
  size_t unknown_method_bytes_ = 0;  // > 0: llhttp refused the method; finishing its token
  bool in_head_ = true;              // current_ has not completed its headers yet
  bool in_value_ = false;      // last header callback was a value (next field starts a header)
  bool head_prev_lf_ = false;  // the last head byte scanned was LF (obs-fold detection)
  bool closed_ = false;        // a non-keep-alive request completed; ignore the rest
  // Bytes of the CRLF still owed after the current chunk's data, and where they start in
  // the buffer llhttp is executing (nullptr: at its beginning).
  size_t chunk_metadata_bytes_ = 0;  // chunk extensions and trailers of current_
  int chunk_crlf_owed_ = 0;
  const char* chunk_crlf_at_ = nullptr;
  const char* exec_begin_ = nullptr;  // the buffer llhttp is executing
  Pause pause_ = Pause::kNone;
  bool upgrade_stop_ = false;
  std::string remainder_;  // bytes after an h2c upgrade request
  Error error_ = Error::kNone;
  std::string error_message_;
};

}  // namespace nightjar::gateway
