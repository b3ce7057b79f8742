// fail: always fails with NJ_ERR_FUNCTION and "fail: requested failure" (the gateway's
// function-failure path, HTTP 502).
#include <nightjar/function.hpp>

namespace {

nj_status Fail(nightjar::Context& ctx, std::string_view) {
  ctx.SetError("fail: requested failure");
  return NJ_ERR_FUNCTION;
}

}  // namespace

NIGHTJAR_FUNCTION(Fail)
