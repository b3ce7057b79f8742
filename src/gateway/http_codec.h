// HTTP/1.1 request codec for the gateway: turns the bytes of one client connection into
// complete requests, and formats responses. It knows nothing about sockets or event loops,
// so the same code serves the epoll front end, tests and benchmarks.
//
// Parsing is delegated to nodejs http-parser (2.9.x); this file adds what a server needs on
// top of it: per-request header and body limits that hold no matter how the stream is split
// into reads, pipelining, and refusal of protocol switches (Upgrade, CONNECT).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// http-parser's C type; its header stays out of ours so that users of the codec do not
// need its include path.
struct http_parser;

namespace nightjar::gateway {

// One complete request. A plain value: owns its strings, movable to any thread.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // request-target as sent, e.g. "/function/echo?x=1"
  std::string path;    // target without query (and fragment); for absolute-form, its path
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;                                          // decoded when chunked
  bool keep_alive = false;  // false: answer with "Connection: close" and close

  // First header named `lower_name` (which must be lower case); nullptr if absent.
  const std::string* Header(std::string_view lower_name) const;
};

struct HttpLimits {
  // Request line plus headers of one request, including line ends.
  size_t max_header_bytes = 16 * 1024;
  // Body after chunked decoding.
  size_t max_body_bytes = 16 << 20;
};

// Incremental request parser: one per connection. Owned and called by a single thread (the
// connection's I/O thread); not thread-safe.
class HttpRequestParser {
 public:
  enum class Error {
    kNone,
    kMalformed,       // 400: syntax error, Upgrade/CONNECT, bad Transfer-Encoding
    kHeaderTooLarge,  // 431
    kBodyTooLarge,    // 413
  };

  explicit HttpRequestParser(HttpLimits limits = {});
  ~HttpRequestParser();
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Feeds bytes read from the socket, split anywhere. Each request completed by them is
  // appended to *out, in order (pipelining: one call may complete several). A partial
  // request is kept until later calls complete it.
  //
  // Fails when the stream is unusable: the connection must then answer error_status() and
  // close. Requests completed earlier in the same call are still appended and are valid.
  // kBodyTooLarge is reported as soon as the headers announce a Content-Length over the
  // limit, so the caller can answer 413 without reading the body. Errors are sticky: later
  // calls return the same error and append nothing.
  //
  // After a request with keep_alive == false, the rest of the stream is ignored: the
  // server answers that request and closes (RFC 9112 §9.6).
  Error Feed(std::string_view data, std::vector<HttpRequest>* out);

  Error error() const { return error_; }
  // The status to answer error() with: 400, 431 or 413; 0 while error() == kNone.
  int error_status() const;

 private:
  // Why http-parser last paused; we pause it at the two points where bookkeeping happens.
  enum class Pause { kNone, kHeadersComplete, kMessageComplete };

  static int OnUrl(http_parser* p, const char* at, size_t len);
  static int OnHeaderField(http_parser* p, const char* at, size_t len);
  static int OnHeaderValue(http_parser* p, const char* at, size_t len);
  static int OnHeadersComplete(http_parser* p);
  static int OnBody(http_parser* p, const char* at, size_t len);
  static int OnMessageComplete(http_parser* p);

  // Validates the head of current_ once its headers are complete and fills the derived
  // fields; returns the error that ends the stream, or kNone.
  Error FinishHead();
  Error Fail(Error e) { return error_ = e; }

  HttpLimits limits_;
  std::unique_ptr<http_parser> parser_;
  HttpRequest current_;
  size_t header_bytes_ = 0;  // header bytes seen for current_ so far
  bool in_head_ = true;      // current_ has not completed its headers yet
  bool in_value_ = false;    // last header callback was a value (next field starts a header)
  bool closed_ = false;      // a non-keep-alive request completed; ignore the rest
  Pause pause_ = Pause::kNone;
  Error error_ = Error::kNone;
};

// Reason phrase for the statuses the gateway sends; "" for others (the status line then
// ends after the code, which RFC 9112 allows). The pointer is to static storage.
const char* ReasonPhrase(int status);

// Appends a complete response to *out: status line (reason_or_empty, or ReasonPhrase()
// when empty; a status outside 100..999 is sent as 500 rather than as a broken line), Content-Type
// unless content_type is empty, Content-Length, each of extra_headers verbatim ("Name: value", no
// line end), "Connection: close" when !keep_alive, then body. 1xx and 204 responses get neither
// Content-Length nor body. An extra header, content type or reason containing CR or LF is dropped
// (the reason falls back to ReasonPhrase()): it would let its source split the response. Appending
// to a reused buffer avoids a copy per response on the hot path.
void AppendResponse(std::string* out, int status, std::string_view reason_or_empty,
                    std::string_view content_type, std::string_view body, bool keep_alive,
                    std::span<const std::string> extra_headers = {});

// The same, as a new string.
std::string FormatResponse(int status, std::string_view reason_or_empty,
                           std::string_view content_type, std::string_view body, bool keep_alive,
                           std::span<const std::string> extra_headers = {});

}  // namespace nightjar::gateway
