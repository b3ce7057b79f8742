// Status and Result<T>: how every expected failure in Nightjar is reported.
// A Status is an error code plus a message; syscall failures carry errno in the message.
// Thread rule: value types, safe to move between threads.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "base/check.h"

namespace nightjar {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input from a peer or the user
  kNotFound,
  kUnavailable,      // peer gone, resource temporarily missing
  kResourceExhausted,
  kDeadlineExceeded,
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  // Wraps the current errno: "<what>: <strerror(errno)>".
  static Status FromErrno(const std::string& what, int err = errno) {
    return Status(StatusCode::kInternal, what + ": " + std::strerror(err));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const { return ok() ? "OK" : message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Result<T>: a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    CHECK(!status_.ok(), "Result constructed from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & {
    CHECK(ok(), "Result::value() on error: " + status_.message());
    return *value_;
  }
  T&& value() && {
    CHECK(ok(), "Result::value() on error: " + status_.message());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

#define NJ_RETURN_IF_ERROR(expr)        \
  do {                                  \
    ::nightjar::Status _st = (expr);    \
    if (!_st.ok()) return _st;          \
  } while (0)

}  // namespace nightjar
