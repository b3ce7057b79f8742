// crash: kills its worker mid-call when the input is exactly "crash" (std::abort), to test
// that the caller gets NJ_ERR_WORKER_DIED and the worker is replaced; otherwise "alive".
#include <cstdlib>
#include <nightjar/function.hpp>

namespace {

nj_status Crash(nightjar::Context& ctx, std::string_view input) {
  if (input == "crash") std::abort();
  return ctx.Append("alive");
}

}  // namespace

NIGHTJAR_FUNCTION(Crash)
