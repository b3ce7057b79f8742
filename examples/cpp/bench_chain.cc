// bench_chain: a call chain of a given depth, for the harness's chain benchmarks.
//
// Input: a decimal depth d in [0, 64] (empty = 1). Depth 0 and 1 return empty output at
// once; depth d > 1 invokes bench_chain with d-1 (blocking) and returns empty output. So a
// caller that invokes bench_chain with d makes d nested internal calls, holding d
// bench_chain workers at once: keep d <= the function's max_workers. Fails with
// NJ_ERR_FUNCTION on bad input or when the child fails.
#include <nightjar/function.hpp>
#include <string>

#include "example_util.h"

namespace {

constexpr uint64_t kMaxDepth = 64;

nj_status BenchChain(nightjar::Context& ctx, std::string_view input) {
  const auto depth = input.empty() ? std::optional<uint64_t>(1)
                                   : nightjar::examples::ParseDecimal(input, kMaxDepth);
  if (!depth) {
    ctx.SetError("bench_chain: input must be a depth in [0, 64]");
    return NJ_ERR_FUNCTION;
  }
  if (*depth <= 1) return NJ_OK;
  const nightjar::InvokeResult child = ctx.Invoke("bench_chain", std::to_string(*depth - 1));
  if (!child.ok()) {
    ctx.SetError("bench_chain: child at depth " + std::to_string(*depth - 1) +
                 " failed: " + std::string(nightjar::StatusName(child.status)));
    return NJ_ERR_FUNCTION;
  }
  return NJ_OK;
}

}  // namespace

NIGHTJAR_FUNCTION(BenchChain)
