// YAML readers for the configuration (config.cc): each reads one node as a typed value or
// throws ConfigError, whose message names the key path ("functions[1].max_workers") and the
// line. Internal to src/config: ParseConfig and LoadConfigFile catch every ConfigError and
// return a Status (CONVENTIONS.md, Errors 4).
// Thread rule: free functions, any thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nightjar::config {

// Thrown with the full, user-facing message; caught by ParseConfig and LoadConfigFile.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// " (line N)" where yaml-cpp recorded a position for the node, else "".
std::string LineOf(const YAML::Node& node);

// Throws ConfigError("<path>: <what> (line N)").
[[noreturn]] void Fail(const std::string& path, const std::string& what, const YAML::Node& at);

// `s` in double quotes, for messages; cut (with "...") past 60 characters.
std::string Quote(std::string_view s);

// What a node holds, for "expected X, got Y" messages.
std::string Describe(const YAML::Node& node);

// Plain decimal integers in [lo, hi] (YAML-plain, not quoted; no sign on the unsigned ones,
// no hex, octal, exponent or fraction); out-of-range values are named with the range.
uint32_t ReadU32(const YAML::Node& node, const std::string& path, uint32_t lo,
                 uint32_t hi = std::numeric_limits<uint32_t>::max());

uint64_t ReadU64(const YAML::Node& node, const std::string& path, uint64_t lo,
                 uint64_t hi = std::numeric_limits<uint64_t>::max());

int ReadInt(const YAML::Node& node, const std::string& path, int lo, int hi);

int64_t ReadI64(const YAML::Node& node, const std::string& path, int64_t lo,
                int64_t hi = std::numeric_limits<int64_t>::max());

// A duration in ms: lo..kMaxDurationMs, so that converting it to ns cannot overflow.
int64_t ReadMs(const YAML::Node& node, const std::string& path, int64_t lo);

// A plain decimal number in (0, hi].
double ReadPositiveDouble(const YAML::Node& node, const std::string& path, double hi);

// Any scalar reads as a string (`name: 123` is the name "123"); null does not, because
// `handler:` with nothing after it is far more likely a mistake than a wish for "".
std::string ReadString(const YAML::Node& node, const std::string& path);

// true or false, exactly (YAML 1.2's core schema; not yes/no/on/off, which YAML 1.1
// readers take as booleans and others as strings).
bool ReadBool(const YAML::Node& node, const std::string& path);

// ReadString, and "" is an error.
std::string ReadNonEmptyString(const YAML::Node& node, const std::string& path);

// Maps one YAML mapping onto a struct: each known key has a reader; unknown and repeated keys
// are errors (yaml-cpp itself keeps both copies of a repeated key, silently).
// Returns the set of keys that were present, for checks that depend on what was explicit.
using FieldReader = std::function<void(const YAML::Node& value, const std::string& path)>;

std::set<std::string> ReadMapping(const YAML::Node& node, const std::string& path,
                                  const std::map<std::string, FieldReader>& fields);

}  // namespace nightjar::config
