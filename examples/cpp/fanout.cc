// fanout: parallel internal calls.
//
// Input "[<n>[:data]]" (n defaults to 4, at most 64; n = 0 gives empty output). Starts n
// concurrent calls to "echo" with input "<i>:data" (i = 0..n-1) via InvokeAsync, waits for
// all of them, and returns their outputs joined by '\n' in order of i — so the result is
// "0:data\n1:data\n...". Fails with NJ_ERR_FUNCTION on bad input or if any child fails (the
// message names the first failed child's index and status).
#include <nightjar/function.hpp>
#include <string>
#include <vector>

#include "example_util.h"

namespace {

constexpr uint64_t kDefaultFanout = 4;
constexpr uint64_t kMaxFanout = 64;

nj_status Fanout(nightjar::Context& ctx, std::string_view input) {
  const auto [count, data] = nightjar::examples::SplitCountAndData(input);
  uint64_t n = kDefaultFanout;
  if (!count.empty()) {
    const auto parsed = nightjar::examples::ParseDecimal(count, kMaxFanout);
    if (!parsed) {
      ctx.SetError("fanout: input must be [<n>[:data]] with n <= 64");
      return NJ_ERR_FUNCTION;
    }
    n = *parsed;
  }

  std::vector<nightjar::InvokeHandle> handles;
  handles.reserve(n);
  std::string child_input;
  for (uint64_t i = 0; i < n; ++i) {
    child_input = std::to_string(i);
    child_input += ':';
    child_input += data;
    handles.push_back(ctx.InvokeAsync("echo", child_input));
  }

  // Wait for every started child, even after a failure, so none is left running past this
  // call. Outputs are host-owned views, valid until this handler returns.
  std::vector<nightjar::InvokeResult> results;
  results.reserve(n);
  for (const nightjar::InvokeHandle& h : handles) results.push_back(ctx.Wait(h));

  std::string out;
  for (uint64_t i = 0; i < n; ++i) {
    const nightjar::InvokeResult& r = results[i];
    if (!r.ok()) {
      std::string message = "fanout: child " + std::to_string(i) +
                            " failed: " + std::string(nightjar::StatusName(r.status));
      if (!r.output.empty()) {
        message += ": ";
        message += r.output;
      }
      ctx.SetError(message);
      return NJ_ERR_FUNCTION;
    }
    if (i > 0) out += '\n';
    out += r.output;
  }
  return ctx.Append(out);
}

}  // namespace

NIGHTJAR_FUNCTION(Fanout)
