// Logging implementation: formats "<time> <level> <process>[pid] file:line] message\n".
#include "base/logging.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "base/check.h"

namespace nightjar {
namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
char g_process[32] = "nightjar";

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "D";
    case LogLevel::kInfo: return "I";
    case LogLevel::kWarning: return "W";
    case LogLevel::kError: return "E";
  }
  return "?";
}

void WriteAll(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(STDERR_FILENO, s.data() + off, s.size() - off);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    off += static_cast<size_t>(n);
  }
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

void InitLoggingFromEnv(std::string_view process_name) {
  std::snprintf(g_process, sizeof(g_process), "%.*s", static_cast<int>(process_name.size()),
                process_name.data());
  const char* env = std::getenv("NIGHTJAR_LOG_LEVEL");
  if (env == nullptr) return;
  std::string_view v(env);
  if (v == "debug") SetLogLevel(LogLevel::kDebug);
  if (v == "info") SetLogLevel(LogLevel::kInfo);
  if (v == "warning") SetLogLevel(LogLevel::kWarning);
  if (v == "error") SetLogLevel(LogLevel::kError);
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

namespace internal {
LogLine::LogLine(LogLevel level, const char* file, int line) : level_(level) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  localtime_r(&ts.tv_sec, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%06ld ", tm.tm_hour, tm.tm_min, tm.tm_sec,
                ts.tv_nsec / 1000);
  const char* base = std::strrchr(file, '/');
  stream_ << buf << LevelName(level) << ' ' << g_process << '[' << ::getpid() << "] "
          << (base ? base + 1 : file) << ':' << line << "] ";
}

LogLine::~LogLine() {
  stream_ << '\n';
  WriteAll(stream_.str());
  (void)level_;
}

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr,
                              std::string_view msg) {
  std::string s = std::string("CHECK failed at ") + file + ":" + std::to_string(line) + ": " +
                  expr + ": " + std::string(msg) + "\n";
  WriteAll(s);
  std::abort();
}
}  // namespace internal
}  // namespace nightjar
