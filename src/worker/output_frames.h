// Output frames: a native worker's stdout and stderr tagged with the call that wrote them
// (proto/log_frame.h; docs/operations.md, "Function logs"). The worker's fd 1 and fd 2 are
// pipes the engine reads. InstallOutputFrames() replaces the C streams `stdout` and
// `stderr` with streams of its own (fopencookie) and points std::cout, std::cerr and
// std::clog at them, so that whatever goes through stdio or iostreams -- printf, puts,
// std::cout << ... << std::endl, fflush -- reaches the pipe as log frames carrying the
// call id while a call runs, and as plain bytes outside calls. stdout and stderr are
// fully buffered (kBufferBytes) and flushed when a call ends, so a call that writes
// nothing costs nothing, and one that writes costs one write per buffer, not per line.
// A fatal signal (SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL) flushes them before the
// handler that was there runs. Direct write(2)s to fd 1 or 2 bypass all this: they reach
// the engine untagged.
//
// Thread rule: call everything from the worker's one calling thread.
#pragma once

#include <cstdint>

namespace nightjar::worker {

inline constexpr unsigned kOutputBufferBytes = 256 * 1024;

// Once, before the first call. Never fails: where a stream cannot be made, that stream
// stays as it was (untagged).
void InstallOutputFrames(uint16_t worker_id);
// The call whose output is being written (0: none); output buffered before it goes out
// untagged first. Cheap: two loads and a store when nothing is buffered.
void BeginCallOutput(uint64_t call_id);
// Flushes what the call left buffered, ends a line it left open, and forgets the call.
// Costs two loads when the call wrote nothing.
void EndCallOutput();

}  // namespace nightjar::worker
