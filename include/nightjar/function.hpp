// Nightjar C++ SDK: a header-only layer over the C function ABI (function.h).
//
// A function is a handler plus one registration line:
//
//   #include <nightjar/function.hpp>
//
//   nj_status Hello(nightjar::Context& ctx, std::string_view input) {
//     ctx.Append("Hello, ");
//     ctx.Append(input);
//     return NJ_OK;
//   }
//   NIGHTJAR_FUNCTION(Hello)
//
// The macro defines the five extern "C" entry points the worker host looks up, so it must
// appear exactly once per shared library. Everything else here is inline and may be
// included from any number of translation units.
//
// Errors: a handler reports failure by returning a non-NJ_OK status, normally
// NJ_ERR_FUNCTION after Context::SetError(message). An exception escaping the handler is
// caught at the ABI boundary and becomes NJ_ERR_FUNCTION with what() as the message;
// no exception ever crosses the C ABI.
//
// Thread rules (inherited from the C ABI): a Context, and every view it hands out, may be
// used only on the thread running the call it belongs to, and only until the handler
// returns. The SDK itself starts no threads and holds no locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "nightjar/function.h"

#if defined(__GNUC__) || defined(__clang__)
#define NIGHTJAR_EXPORT __attribute__((visibility("default")))
#else
#define NIGHTJAR_EXPORT
#endif

namespace nightjar {

// Name of a status for messages and logs, e.g. "NJ_ERR_TIMEOUT". Never fails; unknown
// values map to "NJ_ERR_UNKNOWN". The returned view points at a string literal.
constexpr std::string_view StatusName(nj_status status) noexcept {
  switch (status) {
    case NJ_OK:
      return "NJ_OK";
    case NJ_ERR_FUNCTION:
      return "NJ_ERR_FUNCTION";
    case NJ_ERR_WORKER_DIED:
      return "NJ_ERR_WORKER_DIED";
    case NJ_ERR_TIMEOUT:
      return "NJ_ERR_TIMEOUT";
    case NJ_ERR_UNAVAILABLE:
      return "NJ_ERR_UNAVAILABLE";
    case NJ_ERR_NOT_FOUND:
      return "NJ_ERR_NOT_FOUND";
    case NJ_ERR_TOO_LARGE:
      return "NJ_ERR_TOO_LARGE";
    case NJ_ERR_INVALID:
      return "NJ_ERR_INVALID";
    case NJ_ERR_INTERNAL:
      return "NJ_ERR_INTERNAL";
  }
  return "NJ_ERR_UNKNOWN";
}

// Outcome of Context::Invoke / Context::Wait.
// `output` is a view into host-owned memory: valid only until the current handler returns
// (copy it to keep it longer). On NJ_OK it is the callee's output; on NJ_ERR_FUNCTION it is
// the callee's error message; for any other status it is empty.
struct InvokeResult {
  nj_status status = NJ_ERR_INTERNAL;
  std::string_view output;

  bool ok() const noexcept { return status == NJ_OK; }
};

// A started asynchronous call (Context::InvokeAsync). A plain value; it refers to host
// state of the current call only and must be passed to Context::Wait at most once, during
// the same handler invocation. If `status` is not NJ_OK the call never started, `handle`
// is meaningless and Wait returns that status without asking the host.
struct InvokeHandle {
  nj_status status = NJ_ERR_INTERNAL;
  nj_invoke_handle handle = 0;

  bool ok() const noexcept { return status == NJ_OK; }
};

// The running call, as seen by a handler. Wraps the host's nj_call and callback table.
// Ownership: borrows both pointers; the host owns them. Built by the registration macro
// (or by a test with a fake host table) and passed to the handler by reference; it must not
// outlive the handler. Thread rule: use only on the thread that runs the handler.
// Not copyable, so it cannot be stashed by accident.
class Context {
 public:
  Context(const nj_host_api* host, nj_call* call) noexcept : host_(host), call_(call) {}
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Appends bytes to the call's output; the host copies them. Fails with NJ_ERR_TOO_LARGE
  // when the output would exceed the function's payload limit (the output written so far
  // is kept). Appending nothing always succeeds.
  nj_status Append(std::span<const std::byte> bytes) const noexcept {
    if (bytes.empty()) return NJ_OK;
    return host_->append_output(call_, bytes.data(), bytes.size());
  }
  nj_status Append(std::string_view text) const noexcept {
    return Append(std::as_bytes(std::span<const char>(text.data(), text.size())));
  }

  // Sets the message the caller sees when the handler returns a non-NJ_OK status. The host
  // copies it; a later call replaces an earlier one. Never fails.
  void SetError(std::string_view message) const noexcept {
    host_->set_error(call_, message.data(), message.size());
  }

  // Calls function `name` and blocks until it finishes; the child inherits this call's
  // deadline. Fails with the child's status (NJ_ERR_NOT_FOUND, NJ_ERR_TIMEOUT, ...), see
  // InvokeResult. Throws std::bad_alloc only if copying `name` (to NUL-terminate it) fails;
  // the registration macro turns that into NJ_ERR_FUNCTION.
  InvokeResult Invoke(std::string_view name, std::span<const std::byte> input) const {
    const std::string c_name(name);
    nj_buffer out{nullptr, 0};
    const nj_status status = host_->invoke(call_, c_name.c_str(), input.data(), input.size(), &out);
    return InvokeResult{status, View(out)};
  }
  InvokeResult Invoke(std::string_view name, std::string_view input) const {
    return Invoke(name, std::as_bytes(std::span<const char>(input.data(), input.size())));
  }

  // Starts function `name` without waiting; pass the handle to Wait() before the handler
  // returns. `input` is copied by the host before this returns. Fails (handle.status !=
  // NJ_OK) as Invoke does when the call cannot be started. Throws only as Invoke does.
  InvokeHandle InvokeAsync(std::string_view name, std::span<const std::byte> input) const {
    const std::string c_name(name);
    InvokeHandle h;
    h.status = host_->invoke_async(call_, c_name.c_str(), input.data(), input.size(), &h.handle);
    return h;
  }
  InvokeHandle InvokeAsync(std::string_view name, std::string_view input) const {
    return InvokeAsync(name, std::as_bytes(std::span<const char>(input.data(), input.size())));
  }

  // Blocks until the call behind `h` finishes. Each handle may be waited for once; a second
  // wait (or a handle from another call) fails with NJ_ERR_INVALID. A handle whose start
  // failed yields its start status at once.
  InvokeResult Wait(const InvokeHandle& h) const noexcept {
    if (!h.ok()) return InvokeResult{h.status, {}};
    nj_buffer out{nullptr, 0};
    const nj_status status = host_->wait(call_, h.handle, &out);
    return InvokeResult{status, View(out)};
  }

  // gRPC: calls `method` of the function that declares `grpc: <service>` with the
  // request message's protobuf bytes, over the same fast path as Invoke (the callee sees
  // what a gateway gRPC call gives it, see GrpcCall). On NJ_OK the output is the response
  // message's bytes. Fails as Invoke, with NJ_ERR_NOT_FOUND for an unknown service.
  InvokeResult InvokeGrpc(std::string_view service, std::string_view method,
                          std::string_view message) const {
    std::string input;
    input.reserve(service.size() + method.size() + 3 + message.size());
    input.append("/").append(service).append("/").append(method).append("\n").append(message);
    std::string name("grpc:");
    name.append(service);
    return Invoke(name, input);
  }

  // Time left before this call's deadline; std::chrono::nanoseconds::max() if it has none.
  // May be zero or negative once the deadline has passed.
  std::chrono::nanoseconds Remaining() const noexcept {
    return std::chrono::nanoseconds(host_->remaining_ns(call_));
  }

  // The call's W3C traceparent, "00-<trace-id>-<span-id>-<flags>" (55 characters; W3C
  // Trace Context §3.2) with this call's own span as parent-id: send it to an outside
  // service so its spans join this call's trace. Internal calls (Invoke...) carry the
  // trace without it. Empty if the host predates ABI 2. Throws only std::bad_alloc.
  std::string TraceParent() const {
    if (host_->abi_version < 2 || host_->traceparent == nullptr) return {};
    char buf[NJ_TRACEPARENT_SIZE];
    if (host_->traceparent(call_, buf, sizeof(buf)) != NJ_OK) return {};
    return std::string(buf, NJ_TRACEPARENT_SIZE - 1);
  }

  // Escape hatches for code that talks to the C ABI directly (borrowed, same rules).
  nj_call* raw_call() const noexcept { return call_; }
  const nj_host_api* host_api() const noexcept { return host_; }

 private:
  static std::string_view View(const nj_buffer& b) noexcept {
    if (b.data == nullptr || b.size == 0) return {};
    return std::string_view(static_cast<const char*>(b.data), b.size);
  }

  const nj_host_api* host_;
  nj_call* call_;
};

// A gRPC call as a function that declares `grpc: <service>` receives it (from the
// gateway, or from InvokeGrpc): the input is "/<service>/<Method>\n" followed by the
// request message's protobuf bytes, untouched; the function's output is the response
// message's bytes. An error message that starts with a gRPC code name and ": "
// ("NOT_FOUND: no such user") reaches a gRPC client as that code, any other as UNKNOWN.
struct GrpcCall {
  std::string_view service;  // "helloworld.Greeter"
  std::string_view method;   // "SayHello"
  std::string_view message;  // the request message (protobuf bytes)

  // Splits a gRPC-service function's input; false if it is not one (say, a plain
  // POST /function/<name> call).
  static bool Parse(std::string_view input, GrpcCall* call) noexcept {
    const size_t nl = input.find('\n');
    if (nl == std::string_view::npos || input.empty() || input[0] != '/') return false;
    const std::string_view path = input.substr(1, nl - 1);
    const size_t slash = path.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == path.size()) return false;
    call->service = path.substr(0, slash);
    call->method = path.substr(slash + 1);
    call->message = input.substr(nl + 1);
    return true;
  }
};

// Implementation of the registration macros. Not part of the API.
namespace internal {

// Accepts the host table in nj_function_init. Hosts only append callbacks in later ABI
// versions, so an older host (or none) is rejected and a newer one accepted.
inline int AcceptHost(const nj_host_api* host, const nj_host_api** slot) noexcept {
  if (host == nullptr || host->abi_version < NJ_ABI_VERSION) return 1;
  *slot = host;
  return 0;
}

inline nj_status ReportException(const nj_host_api* host, nj_call* call,
                                 const char* what) noexcept {
  const std::string_view message(what != nullptr ? what : "unknown exception");
  host->set_error(call, message.data(), message.size());
  return NJ_ERR_FUNCTION;
}

// Runs one call through `body(Context&, std::string_view)`, converting every exception to
// NJ_ERR_FUNCTION. Fails with NJ_ERR_INTERNAL if nj_function_init has not succeeded.
template <class Body>
nj_status RunCall(const nj_host_api* host, nj_call* call, const void* input, size_t size,
                  Body&& body) noexcept {
  if (host == nullptr) return NJ_ERR_INTERNAL;
  try {
    Context ctx(host, call);
    const std::string_view in =
        size == 0 ? std::string_view() : std::string_view(static_cast<const char*>(input), size);
    return body(ctx, in);
  } catch (const std::exception& e) {
    return ReportException(host, call, e.what());
  } catch (...) {
    return ReportException(host, call, "unknown exception");
  }
}

// Per-worker state for NIGHTJAR_FUNCTION_WITH_STATE: built with the function's name if
// State has such a constructor, else default-constructed. Returns nonzero if construction
// throws (the host then fails the worker).
template <class State>
int CreateState(const char* function_name, void** worker_state) noexcept {
  if (worker_state == nullptr) return 1;
  *worker_state = nullptr;
  try {
    if constexpr (std::is_constructible_v<State, std::string_view>) {
      *worker_state = new State(std::string_view(function_name != nullptr ? function_name : ""));
    } else {
      *worker_state = new State();
    }
    return 0;
  } catch (...) {
    return 1;
  }
}

template <class State>
int DestroyState(void* worker_state) noexcept {
  try {
    delete static_cast<State*>(worker_state);
    return 0;
  } catch (...) {
    return 1;
  }
}

}  // namespace internal
}  // namespace nightjar

// Shared part of both registration macros: the version and init entry points, plus the
// file-local slot that keeps the host table (owned by the host, lives as long as the process).
#define NIGHTJAR_DETAIL_COMMON_ENTRY_POINTS()                                                  \
  namespace {                                                                                  \
  const nj_host_api* nightjar_detail_host = nullptr;                                           \
  }                                                                                            \
  extern "C" NIGHTJAR_EXPORT uint32_t nj_function_abi_version(void) { return NJ_ABI_VERSION; } \
  extern "C" NIGHTJAR_EXPORT int nj_function_init(const nj_host_api* host) {                   \
    return ::nightjar::internal::AcceptHost(host, &nightjar_detail_host);                      \
  }

// Registers `HANDLER`, callable as
//   nj_status HANDLER(nightjar::Context& ctx, std::string_view input)
// as this library's function. `input` is borrowed until the handler returns. No per-worker
// state: create_worker stores nullptr, destroy_worker does nothing. Use once per library,
// at namespace scope.
#define NIGHTJAR_FUNCTION(HANDLER)                                                               \
  NIGHTJAR_DETAIL_COMMON_ENTRY_POINTS()                                                          \
  extern "C" NIGHTJAR_EXPORT int nj_function_create_worker(const char*, void** worker_state) {   \
    if (worker_state != nullptr) *worker_state = nullptr;                                        \
    return 0;                                                                                    \
  }                                                                                              \
  extern "C" NIGHTJAR_EXPORT int nj_function_destroy_worker(void*) { return 0; }                 \
  extern "C" NIGHTJAR_EXPORT nj_status nj_function_call(void*, nj_call* call, const void* input, \
                                                        size_t size) {                           \
    return ::nightjar::internal::RunCall(                                                        \
        nightjar_detail_host, call, input, size,                                                 \
        [](::nightjar::Context& ctx, std::string_view in) -> nj_status {                         \
          return HANDLER(ctx, in);                                                               \
        });                                                                                      \
  }

// Like NIGHTJAR_FUNCTION, with one `STATE` object per worker slot, callable as
//   nj_status HANDLER(STATE& state, nightjar::Context& ctx, std::string_view input)
// STATE is constructed in create_worker (from the function name as std::string_view if it
// has such a constructor, else by default) and deleted in destroy_worker; it is owned by
// the library and only ever touched by the thread running that slot's calls. A throwing
// constructor fails create_worker; it is not destroyed after a crash.
#define NIGHTJAR_FUNCTION_WITH_STATE(STATE, HANDLER)                                       \
  NIGHTJAR_DETAIL_COMMON_ENTRY_POINTS()                                                    \
  extern "C" NIGHTJAR_EXPORT int nj_function_create_worker(const char* function_name,      \
                                                           void** worker_state) {          \
    return ::nightjar::internal::CreateState<STATE>(function_name, worker_state);          \
  }                                                                                        \
  extern "C" NIGHTJAR_EXPORT int nj_function_destroy_worker(void* worker_state) {          \
    return ::nightjar::internal::DestroyState<STATE>(worker_state);                        \
  }                                                                                        \
  extern "C" NIGHTJAR_EXPORT nj_status nj_function_call(void* worker_state, nj_call* call, \
                                                        const void* input, size_t size) {  \
    if (worker_state == nullptr) return NJ_ERR_INTERNAL;                                   \
    return ::nightjar::internal::RunCall(                                                  \
        nightjar_detail_host, call, input, size,                                           \
        [worker_state](::nightjar::Context& ctx, std::string_view in) -> nj_status {       \
          return HANDLER(*static_cast<STATE*>(worker_state), ctx, in);                     \
        });                                                                                \
  }
