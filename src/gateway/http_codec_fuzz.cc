// libFuzzer target for the gateway's HTTP/1.1 request parser (http_codec.h): the first
// bytes a stranger's connection can send us. Built by the `fuzz` preset; see docs/fuzzing.md.
//
// Input: 4 configuration bytes, then the byte stream of one client connection.
//   byte 0  max_header_bytes, one of kHeaderLimits (index = byte % 8)
//   byte 1  max_body_bytes, one of kBodyLimits (index = byte % 8)
//   byte 2  how the stream is cut into Feed() calls (bits 0-1, see Splitter) and whether
//           to fuzz AppendResponse too (bit 4)
//   byte 3  seed of the piece sizes
// Seeds in tests/fuzz/http_codec/ start with 4 printable bytes for this reason.
//
// The stream is parsed twice, in one Feed() and cut into pieces, and the harness aborts
// (so libFuzzer keeps the input) when an invariant of HttpRequestParser's contract breaks:
//   (a) both parses yield the same requests (method, target, path, headers, body,
//       keep_alive) and the same error: the parser does not depend on how reads split;
//   (b) once Feed() fails, it keeps returning that error and appends nothing;
//   (c) no body exceeds max_body_bytes, no head exceeds max_header_bytes;
//   (d) error_status() is 0 exactly while error() is kNone, else a 4xx/5xx status;
//   and: Feed() returns error(); nothing follows a request without keep-alive; header
//   names are lower-case tokens and field values carry no CR, LF or NUL (RFC 9110).
// Only the parser's public API is used, so the target survives changes of its internals.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "gateway/http_codec.h"
#include "gateway/http_response.h"

namespace nightjar::gateway {
namespace {

using Error = HttpRequestParser::Error;

constexpr size_t kConfigBytes = 4;
constexpr size_t kHeaderLimits[8] = {1024, 1025, 1100, 1536, 2048, 4096, 16 * 1024, SIZE_MAX};
constexpr size_t kBodyLimits[8] = {0, 1, 7, 64, 1000, 4096, 16 << 20, SIZE_MAX};
constexpr uint8_t kFuzzResponseBit = 0x10;
// See CheckFieldSyntax().
#ifdef NIGHTJAR_FUZZ_SKIP_FIELD_SYNTAX
constexpr bool kCheckFieldSyntax = false;
#else
constexpr bool kCheckFieldSyntax = true;
#endif

// Sizes of the pieces a stream is fed in, drawn from a small deterministic generator so
// that an input always replays the same way.
class Splitter {
 public:
  Splitter(uint8_t mode, uint8_t seed)
      : mode_(mode & 3), random_(0x9e3779b97f4a7c15ull * (seed + 1u)) {}

  // Size of the next piece, <= remaining (0 only in mode 3: empty reads happen too).
  size_t Next(size_t remaining) {
    switch (mode_) {
      case 0:  // two pieces, cut at a random point
        if (first_) {
          first_ = false;
          return Random() % (remaining + 1);
        }
        return remaining;
      case 1:  // one byte at a time
        return std::min<size_t>(remaining, 1);
      case 2:  // 1..16 bytes
        return std::min<size_t>(remaining, 1 + Random() % 16);
      default:  // 0..200 bytes
        return std::min<size_t>(remaining, Random() % 201);
    }
  }

 private:
  uint64_t Random() { return random_.Next(); }

  uint8_t mode_;
  fuzz::SplitMix64 random_;
  bool first_ = true;
};

struct Outcome {
  std::vector<HttpRequest> requests;
  Error error = Error::kNone;
};

void CheckStatus(const HttpRequestParser& parser) {
  const int status = parser.error_status();
  if (parser.error() == Error::kNone) {
    FUZZ_CHECK(status == 0);
  } else {
    FUZZ_CHECK(status >= 400 && status <= 599);
  }
}

// RFC 9110 §5.6.2 tchar, after lower-casing.
bool IsLowerTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool HasCrLfNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// What RFC 9110 lets through as a field (§5.1, §5.5): the name a lower-cased token, the
// value free of CR, LF and NUL (a recipient must reject them or replace them with SP).
// Header names and values are where smuggling hides ("Transfer-Encoding : chunked").
// Defining NIGHTJAR_FUZZ_SKIP_FIELD_SYNTAX turns these checks off, to fuzz a parser that
// fails them for its other faults (docs/fuzzing.md, "Findings").
void CheckFieldSyntax(std::string_view name, std::string_view value) {
  if (!kCheckFieldSyntax) return;
  FUZZ_CHECK(!name.empty());
  for (char c : name) FUZZ_CHECK(IsLowerTokenChar(c));
  FUZZ_CHECK(!HasCrLfNul(value));
}

void CheckRequest(const HttpRequest& r, const HttpLimits& limits) {
  FUZZ_CHECK(r.body.size() <= limits.max_body_bytes);
  FUZZ_CHECK(!r.method.empty());
  // Every byte counted here came from the head, so the head was at least this long.
  size_t head = r.method.size() + r.target.size();
  for (const auto& [name, value] : r.headers) {
    head += name.size() + value.size();
    for (char c : name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));  // documented: lower case
    CheckFieldSyntax(name, value);
  }
  FUZZ_CHECK(head <= limits.max_header_bytes);
}

// Parses `data` with a fresh parser, in one Feed() when splitter is null, and checks the
// invariants that hold after every call.
Outcome Parse(const HttpLimits& limits, std::string_view data, Splitter* splitter) {
  HttpRequestParser parser(limits);
  Outcome o;
  size_t pos = 0;
  do {
    const size_t n = splitter ? splitter->Next(data.size() - pos) : data.size() - pos;
    const Error before = parser.error();
    const size_t count = o.requests.size();
    const Error e = parser.Feed(data.substr(pos, n), &o.requests);
    pos += n;
    FUZZ_CHECK(e == parser.error());
    CheckStatus(parser);
    if (before != Error::kNone) {  // (b)
      FUZZ_CHECK(e == before);
      FUZZ_CHECK(o.requests.size() == count);
    }
    for (size_t i = count; i < o.requests.size(); ++i) {
      // Nothing may follow a request that closes the connection.
      FUZZ_CHECK(i == 0 || o.requests[i - 1].keep_alive);
      CheckRequest(o.requests[i], limits);
    }
  } while (pos < data.size());

  // A failed or closed stream ignores whatever comes next, however well-formed.
  const bool closed = !o.requests.empty() && !o.requests.back().keep_alive;
  if (parser.error() != Error::kNone || closed) {
    const Error before = parser.error();
    std::vector<HttpRequest> more;
    const Error e = parser.Feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &more);
    FUZZ_CHECK(e == before);
    FUZZ_CHECK(parser.error() == before);
    FUZZ_CHECK(more.empty());
  }
  o.error = parser.error();
  return o;
}

bool SameRequest(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.target == b.target && a.path == b.path &&
         a.headers == b.headers && a.body == b.body && a.keep_alive == b.keep_alive;
}

// --- AppendResponse: no caller-supplied string may add a line to the response head. ---

// Takes up to `max` bytes from the front of *data.
std::string_view Take(std::string_view* data, size_t max) {
  const std::string_view s = data->substr(0, std::min(max, data->size()));
  data->remove_prefix(s.size());
  return s;
}

size_t Count(std::string_view s, std::string_view what) {
  size_t n = 0;
  for (size_t i = s.find(what); i != s.npos; i = s.find(what, i + what.size())) ++n;
  return n;
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != s.npos; }

void FuzzResponse(std::string_view data) {
  if (data.size() < 4) return;
  int status =
      static_cast<int16_t>(static_cast<uint8_t>(data[0]) | static_cast<uint8_t>(data[1]) << 8);
  const bool keep_alive = (data[2] & 1) != 0;
  const bool head_only = (data[2] & 2) != 0;
  const bool announce_keep_alive = (data[2] & 4) != 0;
  const size_t lengths = static_cast<uint8_t>(data[3]);
  data.remove_prefix(4);
  const std::string_view reason = Take(&data, lengths & 15);
  const std::string_view content_type = Take(&data, lengths >> 4);
  // Extra headers are "Name: value" per the contract; the value is the fuzzer's.
  std::vector<std::string> extra;
  for (int i = 0; i < 2 && !data.empty(); ++i) {
    extra.push_back("X-Fuzz: " + std::string(Take(&data, static_cast<uint8_t>(data[0]) % 24)));
  }
  const std::string_view body = data;

  ResponseHead fuzzed;
  fuzzed.status = status;
  fuzzed.reason = reason;
  fuzzed.content_type = content_type;
  fuzzed.keep_alive = keep_alive;
  fuzzed.announce_keep_alive = announce_keep_alive;
  fuzzed.head_only = head_only;
  fuzzed.date = "Sun, 06 Nov 1994 08:49:37 GMT";
  fuzzed.extra_headers = extra;
  std::string out = "junk";  // AppendResponse appends; what was there stays
  AppendResponse(&out, fuzzed, body);
  FUZZ_CHECK(out.compare(0, 4, "junk") == 0);
  std::string_view response(out);
  response.remove_prefix(4);

  // The same call with harmless strings of the same shape: the implementation's own header
  // lines (whatever they are) appear in both; the fuzzed strings may add none.
  std::vector<std::string> clean_extra(extra.size(), "X-Clean: c");
  size_t dropped = 0;
  for (const std::string& h : extra) dropped += HasLineBreak(h) ? 1 : 0;
  if (!content_type.empty() && HasLineBreak(content_type)) ++dropped;
  ResponseHead harmless = fuzzed;
  harmless.reason = "R";
  harmless.content_type = content_type.empty() ? "" : "t/t";
  harmless.extra_headers = clean_extra;
  const std::string clean = FormatResponse(harmless, body);

  if (status < 100 || status > 999) status = 500;
  const bool bodyless = status < 200 || status == 204;
  const std::string_view sent_body = bodyless || head_only ? std::string_view() : body;
  FUZZ_CHECK(response.size() >= sent_body.size());
  FUZZ_CHECK(response.substr(response.size() - sent_body.size()) == sent_body);
  const std::string_view head = response.substr(0, response.size() - sent_body.size());
  const std::string_view clean_head(clean.data(), clean.size() - sent_body.size());

  char status_line[16];
  std::snprintf(status_line, sizeof(status_line), "HTTP/1.1 %03d ", status);
  FUZZ_CHECK(head.substr(0, 13) == status_line);
  const size_t lines = Count(head, "\r\n");
  FUZZ_CHECK(lines == Count(clean_head, "\r\n") - dropped);
  FUZZ_CHECK(Count(head, "\r") == lines && Count(head, "\n") == lines);  // no bare CR or LF
  FUZZ_CHECK(head.find("\r\n\r\n") == head.size() - 4);  // the head ends once, at its end
}

}  // namespace
}  // namespace nightjar::gateway

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace nightjar::gateway;
  if (size < kConfigBytes) return 0;
  HttpLimits limits;
  limits.max_header_bytes = kHeaderLimits[bytes[0] % 8];
  limits.max_body_bytes = kBodyLimits[bytes[1] % 8];
  const uint8_t mode = bytes[2];
  const std::string_view data(reinterpret_cast<const char*>(bytes) + kConfigBytes,
                              size - kConfigBytes);

  const Outcome whole = Parse(limits, data, nullptr);
  Splitter splitter(mode, bytes[3]);
  const Outcome split = Parse(limits, data, &splitter);
  FUZZ_CHECK(whole.error == split.error);  // (a)
  FUZZ_CHECK(whole.requests.size() == split.requests.size());
  for (size_t i = 0; i < whole.requests.size(); ++i) {
    FUZZ_CHECK(SameRequest(whole.requests[i], split.requests[i]));
  }

  if (mode & kFuzzResponseBit) FuzzResponse(data);
  return 0;
}
