// HTTP/1.1 response formatting for the gateway: status line, the headers every response
// carries (Content-Type, Content-Length, Date, Connection), extra headers, body. Pure
// functions over strings, used on the hot path (one append per response, no allocation
// when the buffer has room).
//
// Thread rule: free functions, any thread (HttpDateNow caches per thread).
#pragma once

#include <ctime>
#include <span>
#include <string>
#include <string_view>

namespace nightjar::gateway {

// What goes into a response head besides the body.
struct ResponseHead {
  int status = 200;
  std::string_view reason;                       // empty: ReasonPhrase(status)
  std::string_view content_type = "text/plain";  // empty: no Content-Type
  bool keep_alive = true;                        // false: "Connection: close" (RFC 9112 §9.6)
  bool announce_keep_alive = false;  // "Connection: keep-alive", for HTTP/1.0 clients that asked
  bool head_only = false;  // answer to HEAD: Content-Length of the body, no body (RFC 9110 §9.3.2)
  std::string_view date;   // IMF-fixdate for the Date header (RFC 9110 §6.6.1); empty: none
  std::span<const std::string> extra_headers;  // "Name: value" each, without line end
};

// Reason phrase for the statuses the gateway sends; "" for others (the status line then
// ends after the code, which RFC 9112 §4 allows). The pointer is to static storage.
const char* ReasonPhrase(int status);

// Appends a complete response to *out: status line (a status outside 100..999 is sent as
// 500 rather than as a broken line), Content-Type, Content-Length, Date, each extra header
// verbatim, Connection, a blank line, then the body. 1xx and 204 responses get neither
// Content-Length nor body (RFC 9110 §8.6). A reason, content type, date or extra header
// containing CR or LF is dropped (the reason falls back to ReasonPhrase()), and so is an
// empty extra header: each would let its source split the response. Appending to a reused
// buffer avoids a copy per response.
void AppendResponse(std::string* out, const ResponseHead& head, std::string_view body);

// The same, as a new string.
std::string FormatResponse(const ResponseHead& head, std::string_view body);

// The interim response that lets a client send a body it announced with
// "Expect: 100-continue" (RFC 9110 §15.2.1).
inline constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

// `t` (seconds since the epoch) as an IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT"
// (RFC 9110 §5.6.7); always 29 characters, independent of the locale.
std::string FormatHttpDate(std::time_t t);

// The current time as FormatHttpDate() gives it, recomputed at most once a second per
// thread. The view stays valid on this thread until the next call.
std::string_view HttpDateNow();

}  // namespace nightjar::gateway
