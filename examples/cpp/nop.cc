// nop: returns empty output. The smallest possible function; measures pure runtime overhead.
#include <nightjar/function.hpp>

namespace {

nj_status Nop(nightjar::Context&, std::string_view) { return NJ_OK; }

}  // namespace

NIGHTJAR_FUNCTION(Nop)
