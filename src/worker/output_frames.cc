// Output frames implementation: fopencookie streams whose write function frames what
// stdio hands it.
#include "worker/output_frames.h"

#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <ext/stdio_sync_filebuf.h>
#include <iostream>

#include "proto/log_frame.h"

namespace nightjar::worker {
namespace {

struct Stream {
  int fd;
  FILE* file = nullptr;
  bool wrote = false;  // the current call wrote to it
  char last = '\n';    // the last byte the current call wrote
};

Stream g_out{1};
Stream g_err{2};
uint16_t g_worker_id = 0;
uint64_t g_call = 0;  // the call running, 0 = none
struct sigaction g_previous[32];

// Writes every byte of iov (the pipe is blocking: the engine always drains it). Gives up
// on an error other than EINTR (the engine is gone): output is best effort.
void WriteAll(int fd, iovec* iov, int count) {
  while (count > 0) {
    ssize_t n = ::writev(fd, iov, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    while (count > 0 && static_cast<size_t>(n) >= iov->iov_len) {
      n -= static_cast<ssize_t>(iov->iov_len);
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + n;
      iov->iov_len -= static_cast<size_t>(n);
    }
  }
}

// The frame header, formatted without snprintf (this also runs in a fatal signal's
// handler). Same text as proto::LogFrameHeader.
size_t FormatHeader(char* out, uint64_t call, uint16_t worker, size_t length) {
  size_t n = 0;
  out[n++] = proto::kLogFrameStart;
  for (char c : proto::kLogFrameTag) out[n++] = c;
  out[n++] = ' ';
  for (int shift = 60; shift >= 0; shift -= 4) out[n++] = "0123456789abcdef"[(call >> shift) & 0xf];
  auto decimal = [&](uint64_t v) {
    char digits[20];
    int k = 0;
    do {
      digits[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (k > 0) out[n++] = digits[--k];
  };
  out[n++] = ' ';
  decimal(worker);
  out[n++] = ' ';
  decimal(length);
  out[n++] = '\n';
  return n;
}

ssize_t CookieWrite(void* cookie, const char* buf, size_t size) {
  auto* s = static_cast<Stream*>(cookie);
  if (size == 0) return 0;
  char header[proto::kMaxLogFrameHeader];
  iovec iov[2];
  int count = 0;
  if (g_call != 0) {
    iov[count++] = {header, FormatHeader(header, g_call, g_worker_id, size)};
    s->wrote = true;
    s->last = buf[size - 1];
  }
  iov[count++] = {const_cast<char*>(buf), size};
  WriteAll(s->fd, iov, count);
  return static_cast<ssize_t>(size);  // a lost write is dropped, not retried
}

void FlushBoth() {
  if (g_out.file != nullptr && __fpending(g_out.file) != 0) fflush(g_out.file);
  if (g_err.file != nullptr && __fpending(g_err.file) != 0) fflush(g_err.file);
}

void OnFatalSignal(int sig) {
  FlushBoth();  // not async-signal-safe in general; the process is dying anyway
  if (sig > 0 && sig < 32) sigaction(sig, &g_previous[sig], nullptr);
  // Returning re-runs the faulting instruction (or abort() raises again), now under the
  // previous handler: the default action, or a sanitizer's report.
}

bool Install(Stream* s, FILE** c_stream) {
  cookie_io_functions_t io{};
  io.write = CookieWrite;
  FILE* f = fopencookie(s, "w", io);
  if (f == nullptr) return false;
  if (setvbuf(f, nullptr, _IOFBF, kOutputBufferBytes) != 0) {
    fclose(f);
    return false;
  }
  fflush(*c_stream);  // what was written before goes first, untagged
  s->file = f;
  *c_stream = f;  // glibc's stdout and stderr are assignable variables
  return true;
}

}  // namespace

void InstallOutputFrames(uint16_t worker_id) {
  g_worker_id = worker_id;
  // Kept for the life of the process: iostreams write to them until exit.
  static __gnu_cxx::stdio_sync_filebuf<char>* out_buf = nullptr;
  static __gnu_cxx::stdio_sync_filebuf<char>* err_buf = nullptr;
  if (Install(&g_out, &stdout)) {
    std::cout.flush();
    out_buf = new __gnu_cxx::stdio_sync_filebuf<char>(g_out.file);
    std::cout.rdbuf(out_buf);
  }
  if (Install(&g_err, &stderr)) {
    std::cerr.flush();
    std::clog.flush();
    err_buf = new __gnu_cxx::stdio_sync_filebuf<char>(g_err.file);
    std::cerr.rdbuf(err_buf);
    std::clog.rdbuf(err_buf);
  }
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) {
    struct sigaction sa {};
    sa.sa_handler = OnFatalSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    sigaction(sig, &sa, &g_previous[sig]);
  }
}

void BeginCallOutput(uint64_t call_id) {
  FlushBoth();  // what was written outside calls (init) goes first, untagged
  g_call = call_id;
}

void EndCallOutput() {
  FlushBoth();
  // A line the call left open ends with the call.
  for (Stream* s : {&g_out, &g_err}) {
    if (s->wrote && s->last != '\n') CookieWrite(s, "\n", 1);
    s->wrote = false;
    s->last = '\n';
  }
  g_call = 0;
}

}  // namespace nightjar::worker
