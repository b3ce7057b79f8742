// HttpPost: the tracer's HTTP/1.1 client (OTLP/HTTP span export, tracer.h). One POST per
// connection ("Connection: close"), blocking with a deadline, the response parsed by llhttp
// (the gateway's HTTP parser) for its status code; the body is read and ignored.
//
// Why not cpp-httplib's client: Debian builds cpp-httplib as a shared library linked with
// OpenSSL, zlib and brotli, and every nightjar process -- each worker and launcher, which run
// the same binary -- loaded them at exec: `nightjar --help` went from 2.2 to 4.5 ms per exec
// and the dynamic loader from 0.33 to 1.7 M cycles (docs/operations.md, "Span export"), a
// cost on every worker's cold start for a feature that is off by default.
//
// Thread rule: free functions, any thread (the tracer's export thread); they block.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace nightjar::engine {

struct HttpUrl {
  std::string host;  // as written, brackets of an IPv6 literal removed
  int port = 80;
  std::string path;         // starts with '/'
  std::string host_header;  // the Host header: host[:port] as written in the URL
};

// Parses "http://host[:port]/path" (RFC 9110 §4.2.1; no userinfo, no https). Fails with
// kInvalidArgument naming what is wrong.
Result<HttpUrl> ParseHttpUrl(std::string_view url);

// POSTs `body` to `url` and returns the response's status code (any code: the caller decides
// what counts as success). Fails with kUnavailable when the host cannot be resolved or
// reached, the connection breaks, `timeout_ms` passes (for the whole exchange), or the
// response is not HTTP/1.x.
Result<int> HttpPost(const HttpUrl& url, std::string_view content_type, std::string_view body,
                     int timeout_ms);

}  // namespace nightjar::engine
