// traceparent: input "<f1>/<f2>/...": this call's W3C traceparent (Context::TraceParent),
// then, one per line, what calling f1 with "<f2>/..." returned; "" -> the traceparent
// alone. The same probe exists in every runtime (tests/test_tracing.py).
#include <nightjar/function.hpp>
#include <string>

namespace {

nj_status TraceParent(nightjar::Context& ctx, std::string_view input) {
  const std::string own = ctx.TraceParent();
  if (nj_status st = ctx.Append(own); st != NJ_OK) return st;
  if (input.empty()) return NJ_OK;
  const size_t slash = input.find('/');
  const std::string_view first = input.substr(0, slash);
  const std::string_view rest = slash == std::string_view::npos ? "" : input.substr(slash + 1);
  const nightjar::InvokeResult child = ctx.Invoke(first, rest);
  if (!child.ok()) {
    ctx.SetError(std::string(nightjar::StatusName(child.status)) + ": " +
                 std::string(child.output));
    return NJ_ERR_FUNCTION;
  }
  ctx.Append("\n");
  return ctx.Append(child.output);
}

}  // namespace

NIGHTJAR_FUNCTION(TraceParent)
