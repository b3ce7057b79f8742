// relay: the cross-language relay every runtime has (docs/runtimes.md, "Relay").
//
// Input "<f1>/<f2>/.../<fn>:<data>": calls f1 with "<f2>/.../<fn>:<data>", ..., the last
// function with <data> alone; ":<data>" (no targets) returns <data>. Returns the callee's
// output unchanged; a callee's failure becomes this call's NJ_ERR_FUNCTION with the callee's
// message (or its status name when it has none; "no function named '<f>'" for an unknown
// one). No ':' in the input, or an empty function name, is an error.
#include <nightjar/function.hpp>
#include <string>

namespace {

nj_status Relay(nightjar::Context& ctx, std::string_view input) {
  const size_t colon = input.find(':');
  if (colon == std::string_view::npos) {
    ctx.SetError("relay: input must be <f1>/.../<fn>:<data>");
    return NJ_ERR_FUNCTION;
  }
  const std::string_view targets = input.substr(0, colon);
  const std::string_view data = input.substr(colon + 1);
  if (targets.empty()) return ctx.Append(data);
  const size_t slash = targets.find('/');
  const std::string_view first = targets.substr(0, slash);
  // Every name of the chain must be there, not only the next one: "a//b" is an error here,
  // whatever the later hops are.
  if (targets.front() == '/' || targets.back() == '/' ||
      targets.find("//") != std::string_view::npos) {
    ctx.SetError("relay: empty function name in \"" + std::string(targets) + "\"");
    return NJ_ERR_FUNCTION;
  }
  std::string child_input;
  if (slash != std::string_view::npos) {
    child_input.append(targets.substr(slash + 1));
    child_input += ':';
  }
  child_input.append(data);
  const nightjar::InvokeResult child = ctx.Invoke(first, child_input);
  if (!child.ok()) {
    // The callee's own message; the runtimes' wording when the engine gave none.
    if (child.status == NJ_ERR_NOT_FOUND) {
      ctx.SetError("no function named '" + std::string(first) + "'");
    } else {
      ctx.SetError(child.output.empty() ? std::string(nightjar::StatusName(child.status))
                                        : std::string(child.output));
    }
    return NJ_ERR_FUNCTION;
  }
  return ctx.Append(child.output);
}

}  // namespace

NIGHTJAR_FUNCTION(Relay)
