// Small input-parsing helpers shared by the example functions (header-only; each example is
// its own shared library). Thread rule: pure functions, callable from anywhere.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nightjar::examples {

// Parses all of `text` as a decimal number in [0, max]. Fails (nullopt) on an empty string,
// any non-digit (signs and spaces included), overflow or a value above `max`.
inline std::optional<uint64_t> ParseDecimal(std::string_view text, uint64_t max) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || value > max) return std::nullopt;
  return value;
}

// "<count>[:data]" split at the first ':'. `count` is empty when the input is empty.
struct CountAndData {
  std::string_view count;
  std::string_view data;
};

inline CountAndData SplitCountAndData(std::string_view input) {
  const size_t colon = input.find(':');
  if (colon == std::string_view::npos) return {input, {}};
  return {input.substr(0, colon), input.substr(colon + 1)};
}

}  // namespace nightjar::examples
