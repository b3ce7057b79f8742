/* Nightjar function ABI, version 2. Pure C; no exceptions may cross it.
 *
 * Versioning: a new version only appends callbacks to nj_host_api, so a host runs
 * libraries built for its own version or any older one (version 1 libraries never read
 * past remaining_ns), and a library must not read a callback its host's abi_version
 * lacks. History: 1 = the first six callbacks; 2 = traceparent.
 *
 * A C/C++ function is a shared library that exports the four entry points declared at
 * the bottom of this file. The worker host (`nightjar worker`) dlopen()s the library,
 * checks nj_function_abi_version(), then calls:
 *
 *   nj_function_init(host)            once per process, before anything else
 *   nj_function_create_worker(...)    once per worker slot (one slot per process today)
 *   nj_function_call(...)             once per call, one call at a time per worker slot
 *   nj_function_destroy_worker(...)   when the slot shuts down cleanly (not on a crash)
 *
 * Thread rules: every host callback must be called on the thread that is running the
 * nj_function_call it belongs to, and only while that call is running.
 * Ownership: pointers passed *into* the function (input, names) are borrowed for the
 * duration of the call; nj_buffer contents returned by the host are owned by the host
 * and stay valid until the current nj_function_call returns.
 */
#ifndef NIGHTJAR_FUNCTION_H_
#define NIGHTJAR_FUNCTION_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NJ_ABI_VERSION 2

/* Bytes nj_host_api.traceparent needs: 55 characters and a NUL. */
#define NJ_TRACEPARENT_SIZE 56

/* Return codes of host callbacks and of nj_function_call. */
typedef enum nj_status {
  NJ_OK = 0,
  NJ_ERR_FUNCTION = 1,    /* the (callee) function reported failure */
  NJ_ERR_WORKER_DIED = 2, /* the callee's worker exited mid-call */
  NJ_ERR_TIMEOUT = 3,     /* the deadline passed */
  NJ_ERR_UNAVAILABLE = 4, /* no worker could take the call */
  NJ_ERR_NOT_FOUND = 5,   /* unknown function name */
  NJ_ERR_TOO_LARGE = 6,   /* payload over the limit */
  NJ_ERR_INVALID = 7,     /* bad argument (e.g. unknown handle) */
  NJ_ERR_INTERNAL = 8
} nj_status;

/* A read-only byte range owned by the host (see ownership rule above). */
typedef struct nj_buffer {
  const void* data;
  size_t size;
} nj_buffer;

/* Opaque per-call context owned by the host; valid only during nj_function_call. */
typedef struct nj_call nj_call;

/* Handle of an asynchronous invoke, unique within one nj_function_call. */
typedef uint64_t nj_invoke_handle;

/* Callbacks the host gives the function in nj_function_init. The table is owned by the
 * host and lives as long as the process. */
typedef struct nj_host_api {
  uint32_t abi_version; /* NJ_ABI_VERSION of the host */

  /* Appends bytes to the call's output. Copies `data`. Fails with NJ_ERR_TOO_LARGE when
   * the output would exceed the function's payload limit. */
  nj_status (*append_output)(nj_call* call, const void* data, size_t size);

  /* Sets the error message returned to the caller when nj_function_call returns a
   * non-NJ_OK status. Copies `message`. */
  void (*set_error)(nj_call* call, const char* message, size_t size);

  /* Calls function `name` with `input` and blocks until it finishes. On NJ_OK, *output
   * holds the callee's output; on NJ_ERR_FUNCTION it holds the callee's error message;
   * otherwise it is empty. The child call inherits the caller's deadline. */
  nj_status (*invoke)(nj_call* call, const char* name, const void* input, size_t size,
                      nj_buffer* output);

  /* Starts a call without waiting. On NJ_OK, *handle identifies it for wait(). */
  nj_status (*invoke_async)(nj_call* call, const char* name, const void* input, size_t size,
                            nj_invoke_handle* handle);

  /* Waits for an asynchronous call started by invoke_async in this same call. Each handle
   * may be waited for once. Same output rules as invoke(). */
  nj_status (*wait)(nj_call* call, nj_invoke_handle handle, nj_buffer* output);

  /* Nanoseconds left before the call's deadline (INT64_MAX if it has none). */
  int64_t (*remaining_ns)(nj_call* call);

  /* ABI 2 (present only when abi_version >= 2). Writes the call's W3C Trace Context
   * traceparent (https://www.w3.org/TR/trace-context/ §3.2), "00-<trace-id>-<span-id>-
   * <flags>", 55 characters and a NUL, into `out`: the trace the call belongs to and the
   * call's own span id as parent-id, i.e. the header to send to an outside service so its
   * spans are children of this call. Internal calls (invoke, invoke_async) carry the
   * trace by themselves. Fails with NJ_ERR_INVALID (nothing written) when `size` is
   * below NJ_TRACEPARENT_SIZE. */
  nj_status (*traceparent)(nj_call* call, char* out, size_t size);
} nj_host_api;

/* Entry points a function library exports. All return 0 on success. */
uint32_t nj_function_abi_version(void); /* the NJ_ABI_VERSION it was built with (1..host's) */
int nj_function_init(const nj_host_api* host);
/* *worker_state is an opaque pointer the host passes back to nj_function_call. */
int nj_function_create_worker(const char* function_name, void** worker_state);
int nj_function_destroy_worker(void* worker_state);
/* Runs one call. `input` is borrowed for the duration of the call. Returns NJ_OK or an
 * error status (typically NJ_ERR_FUNCTION with a message set through set_error). */
nj_status nj_function_call(void* worker_state, nj_call* call, const void* input, size_t size);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* NIGHTJAR_FUNCTION_H_ */
