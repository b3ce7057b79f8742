// gRPC helpers; see grpc.h.
#include "gateway/grpc.h"

#include <algorithm>

#include "config/config.h"

namespace nightjar::gateway::grpc {

namespace {
constexpr std::string_view kCodeNames[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};
}  // namespace

std::string_view CodeName(int code) {
  return code >= 0 && code <= 16 ? kCodeNames[code] : std::string_view();
}

bool ParsePath(std::string_view path, std::string_view* service, std::string_view* method) {
  if (path.size() < 4 || path[0] != '/') return false;
  const size_t slash = path.find('/', 1);
  if (slash == std::string_view::npos) return false;
  *service = path.substr(1, slash - 1);
  *method = path.substr(slash + 1);
  return !service->empty() && !method->empty() && method->find('/') == std::string_view::npos;
}

bool ParseTimeout(std::string_view text, int64_t* ms) {
  if (text.size() < 2 || text.size() > 9) return false;
  int64_t value = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  // Nanoseconds per unit, then rounded up to whole milliseconds.
  int64_t result;
  switch (text.back()) {
    case 'H':
      result = value * 3'600'000;
      break;
    case 'M':
      result = value * 60'000;
      break;
    case 'S':
      result = value * 1'000;
      break;
    case 'm':
      result = value;
      break;
    case 'u':
      result = (value + 999) / 1'000;
      break;
    case 'n':
      result = (value + 999'999) / 1'000'000;
      break;
    default:
      return false;
  }
  *ms = std::clamp<int64_t>(result, 1, config::kMaxDurationMs);
  return true;
}

Code UnwrapMessage(std::string_view body, std::string_view* message, std::string* error) {
  if (body.size() < 5) {
    *error = body.empty() ? "a unary call needs one request message; none was sent"
                          : "truncated gRPC message header";
    return kInternal;
  }
  const auto* b = reinterpret_cast<const unsigned char*>(body.data());
  const uint64_t len = (uint64_t{b[1]} << 24) | (uint64_t{b[2]} << 16) | (uint64_t{b[3]} << 8) | b[4];
  if (b[0] > 1) {
    *error = "malformed gRPC message flags";
    return kInternal;
  }
  if (b[0] == 1) {
    *error = "compressed gRPC messages are not supported: send them uncompressed (identity)";
    return kUnimplemented;
  }
  if (body.size() - 5 < len) {
    *error = "truncated gRPC message: the header announces " + std::to_string(len) + " bytes";
    return kInternal;
  }
  if (body.size() - 5 > len) {
    *error = "only unary calls are supported: the request has more than one message";
    return kUnimplemented;
  }
  *message = body.substr(5);
  return kOk;
}

std::string WrapMessage(std::string_view message) {
  std::string out;
  out.reserve(5 + message.size());
  const uint32_t n = static_cast<uint32_t>(message.size());
  out.push_back('\0');
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(message);
  return out;
}

Code CodeFor(proto::CallStatus status, std::string_view text, std::string* message) {
  using proto::CallStatus;
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  *message = std::string(text);
  switch (status) {
    case CallStatus::kOk:
      return kOk;
    case CallStatus::kFunctionError:
      for (int c = 1; c <= 16; ++c) {
        const std::string_view name = kCodeNames[c];
        if (text.size() > name.size() + 1 && text.starts_with(name) &&
            text.substr(name.size(), 2) == ": ") {
          *message = std::string(text.substr(name.size() + 2));
          return static_cast<Code>(c);
        }
      }
      return kUnknown;
    case CallStatus::kWorkerDied:
    case CallStatus::kInternal:
    case CallStatus::kBadRequest:
      return kInternal;
    case CallStatus::kTimeout:
      return kDeadlineExceeded;
    case CallStatus::kUnavailable:
      return kUnavailable;
    case CallStatus::kNotFound:
      return kUnimplemented;
    case CallStatus::kTooLarge:
      return kResourceExhausted;
  }
  return kInternal;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace nightjar::gateway::grpc
