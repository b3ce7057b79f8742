// relay: input "<callee>:<payload>". Calls the callee with the payload and always
// succeeds, answering "<status name>:<callee output>" -- so a test can see what a child
// call returned (e.g. NJ_ERR_TIMEOUT when the deadline travelled down to it).
#include <nightjar/function.hpp>

#include <string>

namespace {

nj_status Relay(nightjar::Context& ctx, std::string_view input) {
  size_t colon = input.find(':');
  if (colon == std::string_view::npos) {
    ctx.SetError("relay: input must be <callee>:<payload>");
    return NJ_ERR_FUNCTION;
  }
  nightjar::InvokeResult r = ctx.Invoke(input.substr(0, colon), input.substr(colon + 1));
  std::string out = std::string(nightjar::StatusName(r.status)) + ":";
  out.append(r.output);
  ctx.Append(out);
  return NJ_OK;
}

}  // namespace

NIGHTJAR_FUNCTION(Relay)
