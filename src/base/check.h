// CHECK / DCHECK: broken invariants crash loudly with a message (CONVENTIONS.md, Errors 2).
// CHECK is always on; DCHECK only in debug builds. Safe from any thread.
#pragma once

#include <string_view>

namespace nightjar::internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, std::string_view msg);
}  // namespace nightjar::internal

#define CHECK(cond, msg)                                                          \
  do {                                                                            \
    if (__builtin_expect(!(cond), 0))                                             \
      ::nightjar::internal::CheckFailed(__FILE__, __LINE__, #cond, (msg));        \
  } while (0)

#ifdef NDEBUG
#define DCHECK(cond, msg) \
  do {                    \
  } while (0)
#else
#define DCHECK(cond, msg) CHECK(cond, msg)
#endif
