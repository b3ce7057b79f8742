// HTTP/1.1 request parser on top of llhttp; see http_codec.h.
//
// How the limits hold across arbitrary splits of the stream: llhttp is paused in
// on_headers_complete and on_message_complete, so each llhttp_execute() call covers bytes of
// one phase only (head or body of one request). While in the head, the parser is handed at
// most one byte more than the remaining header budget; if it consumes that byte without
// completing the head, the limit is exceeded. The pause at headers-complete is also where
// the head is validated (FinishHead) before any body byte is consumed. Errors found inside
// a callback are recorded in error_ first and then returned as -1, so llhttp's own error
// code never has to carry our meaning.
#include "gateway/http_codec.h"

#include <llhttp.h>

#include <algorithm>
#include <cctype>
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
// llhttp's longest method name ("UNSUBSCRIBE", "PROPPATCH", ...) plus leading empty lines
// fits; an unknown method is told from garbage within these bytes.
constexpr size_t kHeadPrefixBytes = 32;

constexpr char kChunkCrlf[] = "\r\n";

llhttp_t* Llhttp(const std::unique_ptr<llhttp__internal_s>& p) { return p.get(); }

HttpRequestParser* Self(llhttp_t* p) { return static_cast<HttpRequestParser*>(p->data); }

void AppendLower(std::string* dst, const char* at, size_t len) {
  // Field names are checked to be tokens first, so ASCII folding suffices.
  const size_t old = dst->size();
  dst->resize(old + len);
  char* out = dst->data() + old;
  for (size_t i = 0; i < len; ++i) {
    const char c = at[i];
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
  }
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] | 0x20) : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

// A 256-entry membership table for a character class, built at compile time: the checks
// below run on every request, and a table lookup is a few instructions per byte.
struct CharClass {
  bool member[256] = {};
  constexpr CharClass(const char* extra, bool alnum) {
    for (int c = 0; c < 256; ++c) {
      member[c] =
          alnum && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
    }
    for (const char* e = extra; *e != '\0'; ++e) member[static_cast<unsigned char>(*e)] = true;
  }
  bool operator()(char c) const { return member[static_cast<unsigned char>(c)]; }
  // Every character of s is a member (a loop, not std::all_of: that copies the table).
  bool All(std::string_view s) const {
    for (char c : s) {
      if (!member[static_cast<unsigned char>(c)]) return false;
    }
    return true;
  }
};

// tchar of RFC 9110 §5.6.2.
constexpr CharClass kTokenChar("!#$%&'*+-.^_`|~", true);
// reg-name of RFC 3986 §3.2.2: unreserved / pct-encoded / sub-delims.
constexpr CharClass kRegNameChar("-._~%!$&'()*+,;=", true);
constexpr CharClass kIpLiteralChar("0123456789abcdefABCDEF:.", false);
constexpr CharClass kDigit("0123456789", false);

// Host = uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2): reg-name characters, or
// an IP-literal in brackets, then optional digits. Empty is allowed (RFC 9112 §3.2).
bool IsValidHost(std::string_view host) {
  if (host.empty()) return true;
  std::string_view port;
  if (host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view literal = host.substr(1, close - 1);
    if (!kIpLiteralChar.All(literal)) return false;
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    port = rest.empty() ? rest : rest.substr(1);
  } else {
    const size_t colon = host.rfind(':');
    const std::string_view name = host.substr(0, colon);
    if (colon != std::string_view::npos) port = host.substr(colon + 1);
    if (!kRegNameChar.All(name)) return false;
  }
  return kDigit.All(port);
}

// Path of an absolute-form target "scheme://authority/path?query" (RFC 9112 §3.2.2);
// false if the target is not one.
bool AbsoluteFormPath(std::string_view target, std::string* path) {
  const size_t sep = target.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  const std::string_view scheme = target.substr(0, sep);
  if (!EqualsIgnoreCase(scheme, "http") && !EqualsIgnoreCase(scheme, "https")) return false;
  const std::string_view rest = target.substr(sep + 3);
  const size_t path_start = rest.find_first_of("/?#");
  if (!IsValidHost(rest.substr(0, path_start)) || rest.substr(0, path_start).empty()) {
    return false;
  }
  if (path_start == std::string_view::npos || rest[path_start] != '/') {
    *path = "/";
    return true;
  }
  const std::string_view p = rest.substr(path_start);
  path->assign(p.substr(0, p.find_first_of("?#")));
  return true;
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return &value;
  }
  return nullptr;
}

HttpRequestParser::HttpRequestParser(HttpLimits limits)
    : limits_(limits), parser_(std::make_unique<llhttp_t>()) {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_url = &OnUrl;
    s.on_header_field = &OnHeaderField;
    s.on_header_value = &OnHeaderValue;
    s.on_headers_complete = &OnHeadersComplete;
    s.on_body = &OnBody;
    s.on_chunk_complete = &OnChunkComplete;
    s.on_chunk_extension_name = &OnChunkMetadata;
    s.on_chunk_extension_value = &OnChunkMetadata;
    s.on_message_complete = &OnMessageComplete;
    return s;
  }();
  llhttp_init(Llhttp(parser_), HTTP_REQUEST, &kSettings);
  parser_->data = this;
  current_.headers.reserve(kHeaderReserve);
  head_prefix_.reserve(kHeadPrefixBytes);
}

HttpRequestParser::~HttpRequestParser() = default;

int HttpRequestParser::error_status() const {
  switch (error_) {
    case Error::kNone:
    case Error::kRejected:
      return 0;
    case Error::kMalformed:
      return 400;
    case Error::kHeaderTooLarge:
      return 431;
    case Error::kBodyTooLarge:
      return 413;
    case Error::kTargetTooLong:
      return 414;
    case Error::kNotImplemented:
      return 501;
    case Error::kVersionNotSupported:
      return 505;
    case Error::kExpectationFailed:
      return 417;
  }
  return 400;
}

HttpRequestParser::Phase HttpRequestParser::phase() const {
  if (!in_head_) return Phase::kBody;
  return header_bytes_ > 0 ? Phase::kHead : Phase::kIdle;
}

HttpRequestParser::Error HttpRequestParser::Fail(Error e, std::string message) {
  if (error_ == Error::kNone) {
    error_ = e;
    error_message_ = std::move(message);
  }
  return error_;
}

int HttpRequestParser::OnUrl(llhttp_t* p, const char* at, size_t len) {
  HttpRequestParser* self = Self(p);
  std::string& target = self->current_.target;
  if (len > self->limits_.max_target_bytes - target.size()) {
    self->Fail(
        Error::kTargetTooLong,
        "request-target longer than " + std::to_string(self->limits_.max_target_bytes) + " bytes");
    return -1;
  }
  target.append(at, len);
  return 0;
}

int HttpRequestParser::OnChunkMetadata(llhttp_t* p, const char*, size_t len) {
  HttpRequestParser* self = Self(p);
  return self->CountChunkMetadata(len) ? 0 : -1;
}

bool HttpRequestParser::CountChunkMetadata(size_t len) {
  // Chunk extensions and trailer fields are discarded, but not for free: they count
  // against the head limit, so one request cannot stream them without end.
  chunk_metadata_bytes_ += len;
  if (chunk_metadata_bytes_ <= limits_.max_header_bytes) return true;
  Fail(Error::kHeaderTooLarge,
       "chunk extensions and trailers over " + std::to_string(limits_.max_header_bytes) + " bytes");
  return false;
}

int HttpRequestParser::OnHeaderField(llhttp_t* p, const char* at, size_t len) {
  HttpRequestParser* self = Self(p);
  // Trailers of a chunked body arrive here too; they are not part of the request we expose.
  if (!self->in_head_) return self->CountChunkMetadata(len) ? 0 : -1;
  auto& headers = self->current_.headers;
  // A field may arrive in several pieces (split reads); only a field after a value, or the
  // first one, starts a new header.
  if (self->in_value_ || headers.empty()) {
    headers.emplace_back();
    self->in_value_ = false;
  }
  // field-name = token (RFC 9110 §5.1); llhttp 8.1 lets a space inside one through
  // ("Content Length"), which intermediaries may read differently.
  if (!kTokenChar.All(std::string_view(at, len))) {
    self->Fail(Error::kMalformed, "invalid character in a header field name");
    return -1;
  }
  AppendLower(&headers.back().first, at, len);
  return 0;
}

int HttpRequestParser::OnHeaderValue(llhttp_t* p, const char* at, size_t len) {
  HttpRequestParser* self = Self(p);
  if (!self->in_head_) return self->CountChunkMetadata(len) ? 0 : -1;
  self->in_value_ = true;
  self->current_.headers.back().second.append(at, len);
  return 0;
}

int HttpRequestParser::OnHeadersComplete(llhttp_t* p) {
  HttpRequestParser* self = Self(p);
  self->pause_ = Pause::kHeadersComplete;
  // Valid only here or in on_message_complete, per llhttp's contract. A "close" option
  // ends the connection whatever else Connection says (RFC 9112 §9.3); llhttp 8.1 lets an
  // HTTP/1.0 "keep-alive" win over it.
  self->current_.keep_alive =
      llhttp_should_keep_alive(p) != 0 && (p->flags & F_CONNECTION_CLOSE) == 0;
  return HPE_PAUSED;
}

int HttpRequestParser::OnBody(llhttp_t* p, const char* at, size_t len) {
  HttpRequestParser* self = Self(p);
  std::string& body = self->current_.body;
  // Checked on the decoded bytes, so it also bounds chunked bodies whose size is not
  // announced up front.
  if (len > self->limits_.max_body_bytes - body.size()) {
    self->Fail(Error::kBodyTooLarge,
               "request body over " + std::to_string(self->limits_.max_body_bytes) + " bytes");
    return -1;
  }
  body.append(at, len);
  // llhttp 8.1 skips the two bytes after a chunk's data without looking at them; RFC 9112
  // §7.1 requires CRLF there, and accepting anything is a request-smuggling primitive.
  if ((p->flags & F_CHUNKED) && p->content_length == 0) {
    self->chunk_crlf_owed_ = 2;
    self->chunk_crlf_at_ = at + len;
  }
  return 0;
}

int HttpRequestParser::OnChunkComplete(llhttp_t* p) {
  HttpRequestParser* self = Self(p);
  if (self->chunk_crlf_owed_ == 0) return 0;  // the last (empty) chunk: nothing to check
  // Every owed byte has been consumed by now, contiguously from chunk_crlf_at_.
  const char* from = self->chunk_crlf_at_;
  return self->CheckChunkCrlf(from, from + self->chunk_crlf_owed_) ? 0 : -1;
}

bool HttpRequestParser::CheckChunkCrlf(const char* from, const char* to) {
  for (const char* c = from; c < to && chunk_crlf_owed_ > 0; ++c) {
    if (*c != kChunkCrlf[2 - chunk_crlf_owed_]) {
      Fail(Error::kMalformed, "chunk data not followed by CRLF");
      return false;
    }
    --chunk_crlf_owed_;
  }
  chunk_crlf_at_ = to;
  return true;
}

int HttpRequestParser::OnMessageComplete(llhttp_t* p) {
  HttpRequestParser* self = Self(p);
  self->pause_ = Pause::kMessageComplete;
  return HPE_PAUSED;
}

bool HttpRequestParser::HasObsFold(std::string_view head_bytes) {
  // Only the byte after each LF matters; memchr finds the LFs.
  if (head_bytes.empty()) return false;
  if (head_prev_lf_ && (head_bytes[0] == ' ' || head_bytes[0] == '\t')) return true;
  const char* p = head_bytes.data();
  const char* end = p + head_bytes.size();
  while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p))))) {
    if (++p == end) break;
    if (*p == ' ' || *p == '\t') return true;
  }
  head_prev_lf_ = head_bytes.back() == '\n';
  return false;
}

namespace {
// Whether a comma-separated header list holds `token` (case-insensitive), RFC 9110 §5.6.1.
bool ListHasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsIgnoreCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// RFC 7540 §3.2: an HTTP/1.1 request with "Upgrade: h2c", exactly one HTTP2-Settings, and
// Connection naming both (a proxy must not forward them).
bool IsH2cOffer(const HttpRequest& r) {
  if (r.version_minor != 1) return false;
  bool upgrade = false, connection_upgrade = false, connection_settings = false;
  int settings = 0;
  for (const auto& [name, value] : r.headers) {
    if (name == "upgrade") upgrade = upgrade || ListHasToken(value, "h2c");
    if (name == "http2-settings") ++settings;
    if (name == "connection") {
      connection_upgrade = connection_upgrade || ListHasToken(value, "upgrade");
      connection_settings = connection_settings || ListHasToken(value, "http2-settings");
    }
  }
  return upgrade && settings == 1 && connection_upgrade && connection_settings;
}
}  // namespace

HttpRequestParser::Error HttpRequestParser::FinishHead() {
  llhttp_t* p = Llhttp(parser_);
  current_.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
  current_.version_minor = p->http_minor;
  if (p->http_major != 1) {
    return Fail(Error::kVersionNotSupported, "HTTP/" + std::to_string(p->http_major) + "." +
                                                 std::to_string(p->http_minor) +
                                                 " is not supported; use HTTP/1.1");
  }
  if (p->method == HTTP_CONNECT) {
    return Fail(Error::kNotImplemented, "CONNECT is not supported");
  }
  // An Upgrade offer (h2c, websocket) is optional for the server to honour (RFC 9110
  // §7.8): clearing llhttp's flag keeps the connection in HTTP/1.1 after this request.
  p->upgrade = 0;

  // llhttp keeps the trailing whitespace of values, which is not part of the field value
  // (RFC 9110 §5.5); it strips the leading whitespace itself.
  size_t hosts = 0;
  const std::string* host = nullptr;
  std::vector<std::string_view> codings;
  for (auto& [name, value] : current_.headers) {
    value.resize(TrimOws(value).size());
    if (name.empty()) return Fail(Error::kMalformed, "empty header field name");
    if (name == "host") {
      ++hosts;
      host = &value;
    } else if (name == "transfer-encoding") {
      if (value.empty()) return Fail(Error::kMalformed, "empty Transfer-Encoding");
      std::string_view list = value;
      while (!list.empty()) {
        const size_t comma = list.find(',');
        const std::string_view coding = TrimOws(list.substr(0, comma));
        if (!coding.empty()) codings.push_back(coding);
        list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
      }
    } else if (name == "expect") {
      if (current_.version_minor == 0) continue;  // RFC 9110 §10.1.1: ignore from HTTP/1.0
      if (!EqualsIgnoreCase(value, "100-continue")) {
        return Fail(Error::kExpectationFailed, "unsupported expectation \"" + value.substr(0, 64) +
                                                   "\"; only 100-continue is");
      }
      current_.expect_continue = true;
    }
  }

  // RFC 9112 §3.2: exactly one valid Host in HTTP/1.1, at most one in HTTP/1.0.
  if (hosts > 1) return Fail(Error::kMalformed, "more than one Host header");
  if (hosts == 0 && current_.version_minor >= 1) {
    return Fail(Error::kMalformed, "missing Host header (required in HTTP/1.1)");
  }
  if (host != nullptr && !IsValidHost(*host)) return Fail(Error::kMalformed, "invalid Host header");

  const bool chunked = (p->flags & F_CHUNKED) != 0;
  if (p->flags & F_TRANSFER_ENCODING) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
    if (current_.version_minor == 0) {
      return Fail(Error::kMalformed, "Transfer-Encoding is not allowed in HTTP/1.0");
    }
    // §6.3: chunked must be the final coding of a request, or its length is unknowable.
    if (!chunked || codings.empty() || !EqualsIgnoreCase(codings.back(), "chunked")) {
      return Fail(Error::kMalformed, "Transfer-Encoding must end with chunked");
    }
    // §6.1: a coding the server does not understand gets 501. Only chunked is supported.
    for (std::string_view coding : codings) {
      if (!EqualsIgnoreCase(coding, "chunked")) {
        return Fail(
            Error::kNotImplemented,
            "transfer coding \"" + std::string(coding.substr(0, 64)) + "\" is not supported");
      }
    }
  }
  const bool has_length = (p->flags & F_CONTENT_LENGTH) != 0;
  if (has_length && !chunked) {
    if (p->content_length > limits_.max_body_bytes) {
      return Fail(Error::kBodyTooLarge, "request body of " + std::to_string(p->content_length) +
                                            " bytes is over the limit of " +
                                            std::to_string(limits_.max_body_bytes));
    }
    current_.body.reserve(std::min<uint64_t>(p->content_length, kMaxBodyReserve));
  }
  // A 100 Continue is owed only when a body is actually coming.
  current_.expect_continue =
      current_.expect_continue && (chunked || (has_length && p->content_length > 0));

  // Request-target forms, RFC 9112 §3.2.
  const std::string& target = current_.target;
  if (!target.empty() && target[0] == '/') {
    current_.path.assign(target, 0, target.find_first_of("?#"));
  } else if (target == "*") {
    if (p->method != HTTP_OPTIONS) {
      return Fail(Error::kMalformed, "the asterisk-form target is only for OPTIONS");
    }
    current_.path = target;
  } else if (!AbsoluteFormPath(target, &current_.path)) {
    return Fail(Error::kMalformed, "invalid request-target");
  }
  current_.h2c_upgrade = IsH2cOffer(current_);
  return Error::kNone;
}

HttpRequestParser::Error HttpRequestParser::FailFromLlhttp(int llhttp_errno, std::string_view data,
                                                           const char* at) {
  const char* reason = llhttp_get_error_reason(Llhttp(parser_));
  const std::string why =
      reason != nullptr ? reason : llhttp_errno_name(static_cast<llhttp_errno_t>(llhttp_errno));
  switch (llhttp_errno) {
    case HPE_INVALID_METHOD: {
      // RFC 9110 §9.1: a well-formed but unknown method gets 501; garbage gets 400. llhttp
      // stops at the first byte that no method it knows continues with, so the token is
      // finished by hand (ScanUnknownMethod) until the SP that ends it, or a byte that
      // makes the line garbage.
      const size_t offset = at != nullptr && at >= data.data() && at < data.data() + data.size()
                                ? static_cast<size_t>(at - data.data())
                                : data.size();
      const size_t upto = header_bytes_ + offset;
      std::string_view seen = std::string_view(head_prefix_).substr(0, upto);
      seen.remove_prefix(std::min(seen.find_first_not_of("\r\n"), seen.size()));
      if (upto >= head_prefix_.size() || !kTokenChar.All(seen)) {
        return Fail(Error::kMalformed, "malformed request: " + why);
      }
      unknown_method_bytes_ = seen.size();
      return ScanUnknownMethod(data.substr(offset));
    }
    case HPE_INVALID_VERSION:
      // llhttp says "Invalid HTTP version" for a well-formed HTTP/d.d it does not know
      // (HTTP/1.2, HTTP/3.0); other texts mean a malformed version.
      if (why == "Invalid HTTP version") {
        return Fail(Error::kVersionNotSupported, "HTTP version not supported; use HTTP/1.1");
      }
      return Fail(Error::kMalformed, "malformed request: " + why);
    case HPE_PAUSED_H2_UPGRADE:
      return Fail(Error::kVersionNotSupported,
                  "HTTP/2 is not supported on this port; use HTTP/1.1");
    default:
      return Fail(Error::kMalformed, "malformed request: " + why);
  }
}

HttpRequestParser::Error HttpRequestParser::ScanUnknownMethod(std::string_view bytes) {
  for (char c : bytes) {
    if (c == ' ' && unknown_method_bytes_ > 0) {
      return Fail(Error::kNotImplemented,
                  "unknown method; the gateway serves GET, HEAD, POST and OPTIONS");
    }
    if (!kTokenChar(c) || ++unknown_method_bytes_ > kHeadPrefixBytes) {
      return Fail(Error::kMalformed, "malformed request line");
    }
  }
  return Error::kNone;
}

void HttpRequestParser::ResetForNextRequest() {
  current_ = HttpRequest();
  current_.headers.reserve(kHeaderReserve);
  head_prefix_.clear();
  header_bytes_ = 0;
  in_head_ = true;
  in_value_ = false;
  head_prev_lf_ = false;
  chunk_crlf_owed_ = 0;
  chunk_metadata_bytes_ = 0;
}

HttpRequestParser::Error HttpRequestParser::Feed(std::string_view data,
                                                 std::vector<HttpRequest>* out) {
  if (error_ != Error::kNone) return error_;
  if (upgrade_stop_) {
    remainder_.append(data);
    return Error::kNone;
  }
  if (unknown_method_bytes_ > 0) return ScanUnknownMethod(data);
  llhttp_t* p = Llhttp(parser_);
  // After the headers-complete pause llhttp must run once more even on no new bytes: a
  // request without a body completes right there.
  bool resume_empty = false;
  while ((!data.empty() || resume_empty) && !closed_) {
    resume_empty = false;
    const bool was_in_head = in_head_;
    size_t chunk = data.size();
    if (was_in_head) {
      // Written so that a max_header_bytes of SIZE_MAX cannot wrap the bound to 0.
      const size_t budget = limits_.max_header_bytes - header_bytes_;
      if (budget < chunk) chunk = budget + 1;
      if (head_prefix_.size() < kHeadPrefixBytes) {
        head_prefix_.append(
            data.substr(0, std::min(chunk, kHeadPrefixBytes - head_prefix_.size())));
      }
    } else if ((p->flags & F_CHUNKED) != 0) {
      // llhttp reports a chunk extension or trailer only when its span ends or the buffer
      // does, and an error inside a span drops it. Executing at most one byte past the
      // metadata budget makes the first fault in byte order win (431 at the byte that
      // crosses the limit, else llhttp's error), however the stream was cut into reads.
      const size_t budget = limits_.max_header_bytes - chunk_metadata_bytes_;
      if (budget < chunk) chunk = budget + 1;
    }
    pause_ = Pause::kNone;
    exec_begin_ = data.data();
    if (chunk_crlf_owed_ > 0) chunk_crlf_at_ = exec_begin_;
    const llhttp_errno_t err = llhttp_execute(p, data.data(), chunk);
    if (error_ != Error::kNone) return error_;  // set by a callback
    size_t n = chunk;
    if (err == HPE_PAUSED) {
      n = static_cast<size_t>(llhttp_get_error_pos(p) - data.data());
      llhttp_resume(p);
    } else if (err != HPE_OK) {
      return FailFromLlhttp(err, data, llhttp_get_error_pos(p));
    }
    // The part of a chunk's CRLF consumed without reaching on_chunk_complete.
    if (chunk_crlf_owed_ > 0 && !CheckChunkCrlf(chunk_crlf_at_, data.data() + n)) return error_;

    if (was_in_head) {
      if (HasObsFold(data.substr(0, n))) {
        return Fail(Error::kMalformed, "obsolete line folding (obs-fold) in a header");
      }
      header_bytes_ += n;
      if (header_bytes_ > limits_.max_header_bytes) {
        return Fail(
            Error::kHeaderTooLarge,
            "request line and headers over " + std::to_string(limits_.max_header_bytes) + " bytes");
      }
    }

    switch (pause_) {
      case Pause::kHeadersComplete:
        in_head_ = false;
        if (Error e = FinishHead(); e != Error::kNone) return e;
        if (current_.expect_continue && head_check_ && !head_check_(current_)) {
          return Fail(Error::kRejected, "");
        }
        resume_empty = true;
        break;
      case Pause::kMessageComplete:
        closed_ = !current_.keep_alive;
        upgrade_stop_ = current_.h2c_upgrade && !closed_;
        out->push_back(std::move(current_));
        ResetForNextRequest();
        break;
      case Pause::kNone:
        break;
    }
    data.remove_prefix(n);
    if (upgrade_stop_) {
      remainder_.assign(data);
      break;
    }
  }
  return Error::kNone;
}

}  // namespace nightjar::gateway
