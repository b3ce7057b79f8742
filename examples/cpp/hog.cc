// hog: allocates and touches the number of MiB in its input (default 1, at most 65536),
// then answers "ok <n> MiB" -- to see a container's memory limit at work
// (examples/container.yaml gives it 64 MiB; docs/isolation.md). Past the limit the kernel's
// OOM killer ends the worker and the call fails with 502 saying so. Fails with
// NJ_ERR_FUNCTION on bad input or when the allocation itself fails.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nightjar/function.hpp>
#include <string>

#include "example_util.h"

namespace {

constexpr uint64_t kMaxMiB = 65536;

nj_status Hog(nightjar::Context& ctx, std::string_view input) {
  const auto mib =
      input.empty() ? std::optional<uint64_t>(1) : nightjar::examples::ParseDecimal(input, kMaxMiB);
  if (!mib) {
    ctx.SetError("hog: input must be a number of MiB, 0.." + std::to_string(kMaxMiB));
    return NJ_ERR_FUNCTION;
  }
  const size_t bytes = static_cast<size_t>(*mib) << 20;
  std::unique_ptr<char, decltype(&std::free)> block(static_cast<char*>(std::malloc(bytes)),
                                                    &std::free);
  if (bytes > 0 && !block) {
    ctx.SetError("hog: cannot allocate " + std::to_string(*mib) + " MiB");
    return NJ_ERR_FUNCTION;
  }
  // Touch every page so the memory is really used (and charged to the cgroup).
  std::memset(block.get(), 0x5a, bytes);
  volatile char sink = bytes > 0 ? block.get()[bytes - 1] : 0;
  (void)sink;
  return ctx.Append("ok " + std::to_string(*mib) + " MiB");
}

}  // namespace

NIGHTJAR_FUNCTION(Hog)
