// chain: a call chain A -> B -> C built from one function calling itself.
//
// Input "<depth>[:data]" (empty input means "3:"); output is `data` followed by `depth`
// dots, e.g. "3:hi" -> "hi...". Depth 0 and 1 answer directly; depth d > 1 invokes
// "chain" with "<d-1>:data" (blocking) and appends one '.', so a request holds d chain
// workers at once: keep depth <= the function's max_workers or it waits for its deadline.
// Fails with NJ_ERR_FUNCTION on bad input or when the child fails (message names the
// child's status and message).
#include <nightjar/function.hpp>
#include <string>

#include "example_util.h"

namespace {

constexpr uint64_t kMaxDepth = 64;

nj_status Chain(nightjar::Context& ctx, std::string_view input) {
  if (input.empty()) input = "3:";
  const auto [count, data] = nightjar::examples::SplitCountAndData(input);
  const auto depth = nightjar::examples::ParseDecimal(count, kMaxDepth);
  if (!depth) {
    ctx.SetError("chain: input must be <depth>[:data]");
    return NJ_ERR_FUNCTION;
  }
  if (*depth == 0) return ctx.Append(data);
  if (*depth == 1) {
    if (const nj_status s = ctx.Append(data); s != NJ_OK) return s;
    return ctx.Append(".");
  }

  std::string child_input = std::to_string(*depth - 1);
  child_input += ':';
  child_input += data;
  const nightjar::InvokeResult child = ctx.Invoke("chain", child_input);
  if (!child.ok()) {
    std::string message = "chain: child at depth " + std::to_string(*depth - 1) +
                          " failed: " + std::string(nightjar::StatusName(child.status));
    if (!child.output.empty()) {
      message += ": ";
      message += child.output;
    }
    ctx.SetError(message);
    return NJ_ERR_FUNCTION;
  }
  if (const nj_status s = ctx.Append(child.output); s != NJ_OK) return s;
  return ctx.Append(".");
}

}  // namespace

NIGHTJAR_FUNCTION(Chain)
