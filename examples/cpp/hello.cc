// hello: returns "Hello, <input>!", or "Hello, world!" for an empty input.
#include <nightjar/function.hpp>

namespace {

nj_status Hello(nightjar::Context& ctx, std::string_view input) {
  std::string out = "Hello, ";
  out += input.empty() ? std::string_view("world") : input;
  out += '!';
  return ctx.Append(out);
}

}  // namespace

NIGHTJAR_FUNCTION(Hello)
