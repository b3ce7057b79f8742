// A small HTTP/1.1 client for the harness: an incremental response parser (for the
// open-loop load generator) and a blocking keep-alive client (for sequential latency and
// for driving the bench functions). Bodies are Content-Length framed, as the gateway sends.
// Thread rule: each object belongs to one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/status.h"

namespace nightjar::bench {

struct HttpResponse {
  int status = 0;
  std::string body;  // empty unless the parser keeps bodies
  size_t body_size = 0;
  bool close = false;  // the server sent "Connection: close"
};

// Incremental parser of a stream of responses.
class ResponseParser {
 public:
  explicit ResponseParser(bool keep_bodies) : keep_bodies_(keep_bodies) {}
  // Appends bytes and moves every complete response into *out. Fails (and stays failed)
  // on a malformed status line or header block, or chunked framing.
  Status Feed(std::string_view bytes, std::vector<HttpResponse>* out);

 private:
  bool keep_bodies_;
  std::string buf_;
  size_t pos_ = 0;  // start of the first unparsed byte in buf_
  bool failed_ = false;
};

// The request bytes of `POST path` with `body` (keep-alive).
std::string PostRequest(std::string_view host, std::string_view path, std::string_view body);

// A blocking keep-alive connection (TCP_NODELAY).
class HttpClient {
 public:
  // Fails with errno text when the connection cannot be made.
  static Result<HttpClient> Connect(const std::string& host, int port);

  // Sends one POST and waits for its response (body kept). Fails on a transport error or
  // a malformed response; an HTTP error status is a successful exchange (check .status).
  Result<HttpResponse> Post(std::string_view path, std::string_view body);
  // The same with pre-rendered request bytes (PostRequest), for tight loops.
  Result<HttpResponse> Send(std::string_view request);

 private:
  HttpClient(UniqueFd fd, std::string host) : fd_(std::move(fd)), host_(std::move(host)) {}
  UniqueFd fd_;
  std::string host_;
  ResponseParser parser_{true};
  std::vector<HttpResponse> ready_;
};

}  // namespace nightjar::bench
