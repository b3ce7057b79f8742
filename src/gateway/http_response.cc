// Response formatting; see http_response.h.
#include "gateway/http_response.h"

#include <charconv>
#include <cstdio>

namespace nightjar::gateway {
namespace {

// A plain loop: find_first_of("\r\n") calls memchr once per character, on the hot path.
bool HasLineBreak(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n') return true;
  }
  return false;
}

}  // namespace

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
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
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

void AppendResponse(std::string* out, const ResponseHead& head, std::string_view body) {
  static constexpr std::string_view kVersion = "HTTP/1.1 ";
  static constexpr std::string_view kContentType = "Content-Type: ";
  static constexpr std::string_view kContentLength = "Content-Length: ";
  static constexpr std::string_view kDate = "Date: ";
  static constexpr std::string_view kClose = "Connection: close\r\n";
  static constexpr std::string_view kKeepAlive = "Connection: keep-alive\r\n";
  static constexpr std::string_view kCrlf = "\r\n";

  int status = head.status;
  if (status < 100 || status > 999) status = 500;
  // Line breaks in any of these would let their source split the response.
  const std::string_view reason =
      head.reason.empty() || HasLineBreak(head.reason) ? ReasonPhrase(status) : head.reason;
  const std::string_view content_type =
      HasLineBreak(head.content_type) ? std::string_view() : head.content_type;
  const std::string_view date = HasLineBreak(head.date) ? std::string_view() : head.date;
  const bool bodyless = status < 200 || status == 204;
  if (bodyless) body = {};

  char length[24];
  const auto [length_end, ec] = std::to_chars(length, length + sizeof(length), body.size());
  (void)ec;  // cannot fail: the buffer holds any size_t
  const std::string_view length_text(length, length_end - length);
  const std::string_view connection =
      !head.keep_alive ? kClose : (head.announce_keep_alive ? kKeepAlive : std::string_view());
  const std::string_view payload = head.head_only ? std::string_view() : body;

  size_t size =
      kVersion.size() + 4 + reason.size() + 2 * kCrlf.size() + connection.size() + payload.size();
  if (!content_type.empty()) size += kContentType.size() + content_type.size() + kCrlf.size();
  if (!bodyless) size += kContentLength.size() + length_text.size() + kCrlf.size();
  if (!date.empty()) size += kDate.size() + date.size() + kCrlf.size();
  for (const std::string& h : head.extra_headers) size += h.size() + kCrlf.size();
  out->reserve(out->size() + size);

  const char code[4] = {static_cast<char>('0' + status / 100),
                        static_cast<char>('0' + status / 10 % 10),
                        static_cast<char>('0' + status % 10), ' '};
  out->append(kVersion).append(code, sizeof(code)).append(reason).append(kCrlf);
  if (!content_type.empty()) out->append(kContentType).append(content_type).append(kCrlf);
  if (!bodyless) out->append(kContentLength).append(length_text).append(kCrlf);
  if (!date.empty()) out->append(kDate).append(date).append(kCrlf);
  for (const std::string& h : head.extra_headers) {
    if (h.empty() || HasLineBreak(h)) continue;  // an empty one would end the head early
    out->append(h).append(kCrlf);
  }
  out->append(connection).append(kCrlf).append(payload);
}

std::string FormatResponse(const ResponseHead& head, std::string_view body) {
  std::string out;
  AppendResponse(&out, head, body);
  return out;
}

std::string FormatHttpDate(std::time_t t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  const int n = std::snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                              kDays[tm.tm_wday % 7], tm.tm_mday, kMonths[tm.tm_mon % 12],
                              tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

std::string_view HttpDateNow() {
  thread_local std::time_t cached_second = -1;
  thread_local std::string cached;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    cached = FormatHttpDate(now);
  }
  return cached;
}

}  // namespace nightjar::gateway
