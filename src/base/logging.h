// Minimal leveled logging to stderr. One write(2) per line so lines from several
// threads and processes never interleave. Safe from any thread; never allocates
// when the line is filtered out.
#pragma once

#include <sstream>
#include <string_view>

namespace nightjar {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Set once at startup (before threads start); NIGHTJAR_LOG_LEVEL=debug|info|warning|error.
void SetLogLevel(LogLevel level);
void InitLoggingFromEnv(std::string_view process_name);
bool LogEnabled(LogLevel level);

namespace internal {
class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  template <typename T>
  LogLine& operator<<(const T& v) {
    stream_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};
}  // namespace internal
}  // namespace nightjar

// Usable as a single statement anywhere, including an unbraced if/else.
#define NJ_LOG(level)                                                                     \
  for (bool nj_log_on_ = ::nightjar::LogEnabled(::nightjar::LogLevel::level); nj_log_on_; \
       nj_log_on_ = false)                                                                \
  ::nightjar::internal::LogLine(::nightjar::LogLevel::level, __FILE__, __LINE__)
