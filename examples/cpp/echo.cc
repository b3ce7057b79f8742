// echo: returns its input unchanged (any size the payload limit allows, including none).
#include <nightjar/function.hpp>

namespace {

nj_status Echo(nightjar::Context& ctx, std::string_view input) { return ctx.Append(input); }

}  // namespace

NIGHTJAR_FUNCTION(Echo)
