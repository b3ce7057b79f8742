// big: large outputs. Input is a decimal byte count n in [0, 64 MiB]; the output is n bytes
// where byte k is 'a' + (k % 26). Fails with NJ_ERR_FUNCTION on bad input, and with the
// host's NJ_ERR_TOO_LARGE when n exceeds the function's max_payload_bytes.
#include <array>
#include <nightjar/function.hpp>
#include <string>

#include "example_util.h"

namespace {

constexpr uint64_t kMaxBytes = 64ull << 20;
// A whole number of alphabets, so every chunk starts at 'a' and the pattern stays aligned.
constexpr size_t kChunk = 26 * 4096;

const std::array<char, kChunk>& Pattern() {
  static const std::array<char, kChunk> pattern = [] {
    std::array<char, kChunk> p{};
    for (size_t k = 0; k < kChunk; ++k) p[k] = static_cast<char>('a' + k % 26);
    return p;
  }();
  return pattern;
}

nj_status Big(nightjar::Context& ctx, std::string_view input) {
  const auto n = nightjar::examples::ParseDecimal(input, kMaxBytes);
  if (!n) {
    ctx.SetError("big: input must be a byte count in [0, 67108864]");
    return NJ_ERR_FUNCTION;
  }
  const std::array<char, kChunk>& pattern = Pattern();
  for (uint64_t left = *n; left > 0;) {
    const size_t size = left < kChunk ? static_cast<size_t>(left) : kChunk;
    if (const nj_status s = ctx.Append(std::string_view(pattern.data(), size)); s != NJ_OK) {
      ctx.SetError("big: output of " + std::to_string(*n) +
                   " bytes refused: " + std::string(nightjar::StatusName(s)));
      return s;
    }
    left -= size;
  }
  return NJ_OK;
}

}  // namespace

NIGHTJAR_FUNCTION(Big)
