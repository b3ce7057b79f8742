// gRPC over HTTP/2, the parts the gateway needs (the PROTOCOL-HTTP2 document of gRPC):
// which function a call goes to, how the function receives it, the message framing, the
// grpc-timeout header, and the mapping from Nightjar's call statuses to gRPC's codes.
//
// How a function receives a gRPC call (README "Calling functions over gRPC"): a function
// declares `grpc: pkg.Service` in the config; a call to `/pkg.Service/Method` becomes a call
// of the function named "grpc:pkg.Service" (config::Config::Find maps it), whose input is
//     "/pkg.Service/Method" '\n' <the request message's protobuf bytes, untouched>
// and whose output is the response message's bytes. The C ABI does not change, every
// runtime works as it is, and internal calls reach a service the same way
// (nightjar::InvokeGrpc in function.hpp). A function error whose message starts with a
// gRPC code name and ": " ("NOT_FOUND: no such user") is answered with that code.
//
// Thread rule: free functions, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/message.h"

namespace nightjar::gateway::grpc {

// Status codes (grpc/status.h).
enum Code : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// The function name a service is called by ("grpc:" + service).
inline constexpr std::string_view kServicePrefix = "grpc:";

// Splits "/pkg.Service/Method" into its parts. False unless both are non-empty and the
// method has no '/'.
bool ParsePath(std::string_view path, std::string_view* service, std::string_view* method);

// grpc-timeout ("<1-8 digits><H|M|S|m|u|n>") in milliseconds, rounded up, at least 1 and at
// most config::kMaxDurationMs. False when malformed.
bool ParseTimeout(std::string_view text, int64_t* ms);

// Unwraps a unary request body: exactly one length-prefixed message. kOk with *message set,
// or the code to answer with and *error saying why (compressed: UNIMPLEMENTED; none, several
// or truncated: INTERNAL / UNIMPLEMENTED).
Code UnwrapMessage(std::string_view body, std::string_view* message, std::string* error);

// Prefixes `message` with the 5-byte gRPC frame header (uncompressed).
std::string WrapMessage(std::string_view message);

// The code and message for a call that ended with `status` and `text` (the function's error
// text for kFunctionError: a leading "CODE_NAME: " picks the code, else UNKNOWN).
Code CodeFor(proto::CallStatus status, std::string_view text, std::string* message);

// "OK", "UNIMPLEMENTED", ...; "" for a number outside 0..16.
std::string_view CodeName(int code);

// grpc-message's percent-encoding: bytes outside 0x20..0x7E and '%' become %XX.
std::string PercentEncode(std::string_view text);

}  // namespace nightjar::gateway::grpc
