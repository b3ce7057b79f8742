// HTTP/1.1 request codec on top of http-parser; see http_codec.h.
//
// How the limits hold across arbitrary splits of the stream: http-parser is paused in
// on_headers_complete and on_message_complete, so each http_parser_execute() call covers
// bytes of one phase only (head or body of one request). While in the head, the parser is
// handed at most one byte more than the remaining header budget; if it consumes that byte
// without completing the head, the limit is exceeded. The pause at headers-complete is also
// where the head is validated (Upgrade, CONNECT, announced Content-Length) before any body
// byte is consumed, so no callback has to signal an error through a return value whose
// meaning http-parser overloads (1 and 2 from on_headers_complete mean "skip the body").
#include "gateway/http_codec.h"

#include <http_parser.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstring>

namespace nightjar::gateway {
namespace {

// Upper bound on what an announced Content-Length may make us allocate up front: a client
// could otherwise pin max_body_bytes per connection by sending headers and then stalling.
// Larger bodies grow the buffer geometrically as bytes actually arrive.
constexpr size_t kMaxBodyReserve = 256 * 1024;
// Most requests carry fewer headers than this; reserving avoids regrowing the vector.
constexpr size_t kHeaderReserve = 16;

void AppendLower(std::string* dst, const char* at, size_t len) {
  // http-parser admits only token characters in field names, so ASCII folding suffices.
  const size_t old = dst->size();
  dst->resize(old + len);
  char* out = dst->data() + old;
  for (size_t i = 0; i < len; ++i) {
    const char c = at[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
  }
}

void TrimTrailingWhitespace(std::string* s) {
  size_t end = s->size();
  while (end > 0 && ((*s)[end - 1] == ' ' || (*s)[end - 1] == '\t')) --end;
  s->resize(end);
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

HttpRequestParser::HttpRequestParser(HttpLimits limits)
    : limits_(limits), parser_(std::make_unique<http_parser>()) {
  http_parser_init(parser_.get(), HTTP_REQUEST);
  parser_->data = this;
  current_.headers.reserve(kHeaderReserve);
}

HttpRequestParser::~HttpRequestParser() = default;

int HttpRequestParser::error_status() const {
  switch (error_) {
    case Error::kNone:
      return 0;
    case Error::kMalformed:
      return 400;
    case Error::kHeaderTooLarge:
      return 431;
    case Error::kBodyTooLarge:
      return 413;
  }
  return 400;
}

int HttpRequestParser::OnUrl(http_parser* p, const char* at, size_t len) {
  static_cast<HttpRequestParser*>(p->data)->current_.target.append(at, len);
  return 0;
}

int HttpRequestParser::OnHeaderField(http_parser* p, const char* at, size_t len) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  // Trailers of a chunked body arrive here too; they are not part of the request we expose.
  if (!self->in_head_) return 0;
  auto& headers = self->current_.headers;
  // A field may arrive in several pieces (split reads); only a field after a value, or the
  // first one, starts a new header.
  if (self->in_value_ || headers.empty()) {
    headers.emplace_back();
    self->in_value_ = false;
  }
  AppendLower(&headers.back().first, at, len);
  return 0;
}

int HttpRequestParser::OnHeaderValue(http_parser* p, const char* at, size_t len) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  if (!self->in_head_) return 0;
  self->in_value_ = true;
  self->current_.headers.back().second.append(at, len);
  return 0;
}

int HttpRequestParser::OnHeadersComplete(http_parser* p) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  self->pause_ = Pause::kHeadersComplete;
  // Valid only here or in on_message_complete, per http-parser's contract.
  self->current_.keep_alive = http_should_keep_alive(p) != 0;
  http_parser_pause(p, 1);
  return 0;
}

int HttpRequestParser::OnBody(http_parser* p, const char* at, size_t len) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  std::string& body = self->current_.body;
  // Checked on the decoded bytes, so it also bounds chunked bodies whose size is not
  // announced up front.
  if (len > self->limits_.max_body_bytes - body.size()) {
    self->error_ = Error::kBodyTooLarge;
    return -1;
  }
  body.append(at, len);
  return 0;
}

int HttpRequestParser::OnMessageComplete(http_parser* p) {
  auto* self = static_cast<HttpRequestParser*>(p->data);
  self->pause_ = Pause::kMessageComplete;
  http_parser_pause(p, 1);
  return 0;
}

HttpRequestParser::Error HttpRequestParser::FinishHead() {
  const http_parser& p = *parser_;
  // Both hand the connection over to another protocol, which the gateway does not speak.
  if (p.upgrade || p.method == HTTP_CONNECT) return Error::kMalformed;

  const bool chunked = (p.flags & F_CHUNKED) != 0;
  // content_length is ULLONG_MAX when no Content-Length header was sent.
  if (!chunked && p.content_length != ULLONG_MAX) {
    if (p.content_length > limits_.max_body_bytes) return Error::kBodyTooLarge;
    current_.body.reserve(std::min<uint64_t>(p.content_length, kMaxBodyReserve));
  }

  current_.method = http_method_str(static_cast<http_method>(p.method));
  // http-parser strips leading whitespace of values but keeps trailing whitespace, which is
  // not part of the field value (RFC 9110 §5.5).
  for (auto& header : current_.headers) TrimTrailingWhitespace(&header.second);

  const std::string& target = current_.target;
  if (!target.empty() && target[0] == '/') {
    current_.path.assign(target, 0, target.find_first_of("?#"));
  } else if (target == "*") {
    current_.path = target;
  } else {
    // absolute-form ("http://host/path?q"), which servers must accept (RFC 9112 §3.2.2).
    // http_parser_url stores 16-bit offsets, hence the length guard.
    http_parser_url url;
    http_parser_url_init(&url);
    if (target.size() > UINT16_MAX ||
        http_parser_parse_url(target.data(), target.size(), 0, &url) != 0) {
      return Error::kMalformed;
    }
    if (url.field_set & (1u << UF_PATH)) {
      current_.path.assign(target, url.field_data[UF_PATH].off, url.field_data[UF_PATH].len);
    } else {
      current_.path = "/";
    }
  }
  return Error::kNone;
}

HttpRequestParser::Error HttpRequestParser::Feed(std::string_view data,
                                                 std::vector<HttpRequest>* out) {
  static const http_parser_settings kSettings = [] {
    http_parser_settings s;
    http_parser_settings_init(&s);
    s.on_url = &OnUrl;
    s.on_header_field = &OnHeaderField;
    s.on_header_value = &OnHeaderValue;
    s.on_headers_complete = &OnHeadersComplete;
    s.on_body = &OnBody;
    s.on_message_complete = &OnMessageComplete;
    return s;
  }();

  if (error_ != Error::kNone) return error_;
  while (!data.empty() && !closed_) {
    const bool was_in_head = in_head_;
    size_t chunk = data.size();
    if (was_in_head) {
      // Written so that a max_header_bytes of SIZE_MAX cannot wrap the bound to 0.
      const size_t budget = limits_.max_header_bytes - header_bytes_;
      if (budget < chunk) chunk = budget + 1;
    }
    pause_ = Pause::kNone;
    const size_t n = http_parser_execute(parser_.get(), &kSettings, data.data(), chunk);
    if (error_ != Error::kNone) return error_;  // set by a callback
    switch (HTTP_PARSER_ERRNO(parser_.get())) {
      case HPE_OK:
        break;
      case HPE_PAUSED:
        http_parser_pause(parser_.get(), 0);
        break;
      case HPE_HEADER_OVERFLOW:  // http-parser's own, larger limit
        return Fail(Error::kHeaderTooLarge);
      default:
        return Fail(Error::kMalformed);
    }

    if (was_in_head) {
      // On the headers-complete pause, http-parser leaves the head's final LF unconsumed
      // (it is re-read in the body phase); it still belongs to the head.
      header_bytes_ += n + (pause_ == Pause::kHeadersComplete ? 1 : 0);
      if (header_bytes_ > limits_.max_header_bytes) return Fail(Error::kHeaderTooLarge);
    }

    switch (pause_) {
      case Pause::kHeadersComplete:
        in_head_ = false;
        if (Error e = FinishHead(); e != Error::kNone) return Fail(e);
        break;
      case Pause::kMessageComplete:
        closed_ = !current_.keep_alive;
        out->push_back(std::move(current_));
        current_ = HttpRequest();
        current_.headers.reserve(kHeaderReserve);
        header_bytes_ = 0;
        in_head_ = true;
        in_value_ = false;
        break;
      case Pause::kNone:
        // Without a pause or an error http-parser stops early only when it hands the stream
        // to another protocol, which FinishHead() has already refused; be strict anyway.
        if (n != chunk) return Fail(Error::kMalformed);
        break;
    }
    data.remove_prefix(n);
  }
  return Error::kNone;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

void AppendResponse(std::string* out, int status, std::string_view reason_or_empty,
                    std::string_view content_type, std::string_view body, bool keep_alive,
                    std::span<const std::string> extra_headers) {
  static constexpr std::string_view kVersion = "HTTP/1.1 ";
  static constexpr std::string_view kContentType = "Content-Type: ";
  static constexpr std::string_view kContentLength = "Content-Length: ";
  static constexpr std::string_view kClose = "Connection: close\r\n";
  static constexpr std::string_view kCrlf = "\r\n";

  if (status < 100 || status > 999) status = 500;
  // Line breaks in any of these would let their source split the response.
  const std::string_view reason = reason_or_empty.empty() || HasLineBreak(reason_or_empty)
                                      ? ReasonPhrase(status)
                                      : reason_or_empty;
  if (HasLineBreak(content_type)) content_type = {};
  // RFC 9110 §8.6: no Content-Length (and no content) in 1xx and 204 responses.
  const bool bodyless = status < 200 || status == 204;
  if (bodyless) body = {};

  char length[24];
  const auto [length_end, ec] = std::to_chars(length, length + sizeof(length), body.size());
  (void)ec;  // cannot fail: the buffer holds any size_t
  const std::string_view length_text(length, length_end - length);

  size_t size = kVersion.size() + 4 + reason.size() + kCrlf.size() + kCrlf.size() + body.size();
  if (!content_type.empty()) size += kContentType.size() + content_type.size() + kCrlf.size();
  if (!bodyless) size += kContentLength.size() + length_text.size() + kCrlf.size();
  for (const std::string& h : extra_headers) size += h.size() + kCrlf.size();
  if (!keep_alive) size += kClose.size();
  out->reserve(out->size() + size);

  char code[4] = {static_cast<char>('0' + status / 100), static_cast<char>('0' + status / 10 % 10),
                  static_cast<char>('0' + status % 10), ' '};
  out->append(kVersion).append(code, sizeof(code)).append(reason).append(kCrlf);
  if (!content_type.empty()) out->append(kContentType).append(content_type).append(kCrlf);
  if (!bodyless) out->append(kContentLength).append(length_text).append(kCrlf);
  for (const std::string& h : extra_headers) {
    if (HasLineBreak(h)) continue;
    out->append(h).append(kCrlf);
  }
  if (!keep_alive) out->append(kClose);
  out->append(kCrlf).append(body);
}

std::string FormatResponse(int status, std::string_view reason_or_empty,
                           std::string_view content_type, std::string_view body, bool keep_alive,
                           std::span<const std::string> extra_headers) {
  std::string out;
  AppendResponse(&out, status, reason_or_empty, content_type, body, keep_alive, extra_headers);
  return out;
}

}  // namespace nightjar::gateway
