// log_probe: output for tests/test_logs.py. Input "<mode>:<token>":
//   print:T    printf "out T" (via std::cout) and "err T" on stderr, answers T
//   partial:T  writes "open T" with no newline (ends with the call)
//   flood:N    writes N lines "flood <i>"
//   nonl:N     writes N bytes of 'x' and no newline at all (in 64 KiB fputs)
//   crash:T    writes "dying T" without a newline straight to fd 2, then aborts
// The call id is not in the C ABI yet: the tests decode the function id from the tag.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nightjar/function.hpp>
#include <string>

namespace {

nj_status LogProbe(nightjar::Context& ctx, std::string_view input) {
  const size_t colon = input.find(':');
  const std::string mode(input.substr(0, colon));
  const std::string arg(colon == std::string_view::npos ? "" : input.substr(colon + 1));
  if (mode == "print") {
    std::cout << "out " << arg << std::endl;
    std::fprintf(stderr, "err %s\n", arg.c_str());
  } else if (mode == "partial") {
    std::printf("open %s", arg.c_str());
  } else if (mode == "flood") {
    const long n = std::strtol(arg.c_str(), nullptr, 10);
    for (long i = 0; i < n; ++i) std::printf("flood %ld\n", i);
  } else if (mode == "nonl") {
    long left = std::strtol(arg.c_str(), nullptr, 10);
    const std::string chunk(64 * 1024, 'x');
    while (left > 0) {
      const size_t n = static_cast<size_t>(std::min<long>(left, static_cast<long>(chunk.size())));
      std::fwrite(chunk.data(), 1, n, stdout);
      left -= static_cast<long>(n);
    }
  } else if (mode == "crash") {
    const std::string text = "dying " + arg;
    (void)!::write(2, text.data(), text.size());
    std::abort();
  }
  ctx.Append(arg);
  return NJ_OK;
}

}  // namespace

NIGHTJAR_FUNCTION(LogProbe)
