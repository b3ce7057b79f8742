// The YAML readers of the configuration: see yaml_read.h.
#include "config/yaml_read.h"

#include <charconv>
#include <string>

#include "config/config.h"

namespace nightjar::config {

namespace {

// Scalars quoted back in messages are cut here so one bad value cannot flood a log line.
constexpr size_t kMaxQuotedValue = 60;

// yaml-cpp tags plain (unquoted) scalars "?" and quoted ones "!". Numbers must be plain: a
// quoted "8" is a string in YAML, and accepting it would hide a templating mistake.
bool IsPlainScalar(const YAML::Node& node) {
  return node.IsScalar() && (node.Tag() == "?" || node.Tag() == "tag:yaml.org,2002:int");
}

std::string RangeMessage(int64_t lo, uint64_t hi, uint64_t type_max, const std::string& got) {
  if (hi == type_max) return "must be >= " + std::to_string(lo) + ", got " + got;
  return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + got;
}

// True for decimal digits with no leading zero (other than "0" itself): YAML 1.1 reads "010"
// as octal 8 and YAML 1.2 as 10, and a config should mean one thing.
bool IsPlainDecimal(std::string_view s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return false;
  return s.size() == 1 || s[0] != '0';
}

// Reads a plain decimal integer in [lo, hi]. No sign, hex, octal, exponent or fraction.
uint64_t ReadUnsigned(const YAML::Node& node, const std::string& path, uint64_t lo, uint64_t hi,
                      uint64_t type_max) {
  const std::string& s = node.IsScalar() ? node.Scalar() : std::string();
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (!IsPlainScalar(node) || !IsPlainDecimal(s)) {
    Fail(path, "expected an unsigned integer, got " + Describe(node), node);
  }
  if (ec == std::errc::result_out_of_range || value > type_max) {
    Fail(path, "value " + s + " is out of range", node);
  }
  if (ec != std::errc() || end != s.data() + s.size()) {
    Fail(path, "expected an unsigned integer, got " + Describe(node), node);
  }
  if (value < lo || value > hi) {
    Fail(path, RangeMessage(static_cast<int64_t>(lo), hi, type_max, s), node);
  }
  return value;
}

int64_t ReadSigned(const YAML::Node& node, const std::string& path, int64_t lo, int64_t hi,
                   int64_t type_max) {
  const std::string& s = node.IsScalar() ? node.Scalar() : std::string();
  const std::string_view digits =
      (!s.empty() && s[0] == '-') ? std::string_view(s).substr(1) : std::string_view(s);
  if (!IsPlainScalar(node) || !IsPlainDecimal(digits)) {
    Fail(path, "expected an integer, got " + Describe(node), node);
  }
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec == std::errc::result_out_of_range || value > type_max || value < -type_max - 1) {
    Fail(path, "value " + s + " is out of range", node);
  }
  if (ec != std::errc() || end != s.data() + s.size()) {
    Fail(path, "expected an integer, got " + Describe(node), node);
  }
  if (value < lo || value > hi) {
    Fail(path, RangeMessage(lo, static_cast<uint64_t>(hi), static_cast<uint64_t>(type_max), s),
         node);
  }
  return value;
}

}  // namespace

// " (line N)" where yaml-cpp recorded a position for the node, else "".
std::string LineOf(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return "";
  return " (line " + std::to_string(mark.line + 1) + ")";
}

[[noreturn]] void Fail(const std::string& path, const std::string& what, const YAML::Node& at) {
  throw ConfigError(path + ": " + what + LineOf(at));
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  out.append(s.substr(0, kMaxQuotedValue));
  if (s.size() > kMaxQuotedValue) out += "...";
  out += "\"";
  return out;
}

// What a node holds, for "expected X, got Y" messages.
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

uint32_t ReadU32(const YAML::Node& node, const std::string& path, uint32_t lo, uint32_t hi) {
  return static_cast<uint32_t>(
      ReadUnsigned(node, path, lo, hi, std::numeric_limits<uint32_t>::max()));
}

uint64_t ReadU64(const YAML::Node& node, const std::string& path, uint64_t lo, uint64_t hi) {
  return ReadUnsigned(node, path, lo, hi, std::numeric_limits<uint64_t>::max());
}

int ReadInt(const YAML::Node& node, const std::string& path, int lo, int hi) {
  return static_cast<int>(ReadSigned(node, path, lo, hi, std::numeric_limits<int>::max()));
}

int64_t ReadI64(const YAML::Node& node, const std::string& path, int64_t lo, int64_t hi) {
  return ReadSigned(node, path, lo, hi, std::numeric_limits<int64_t>::max());
}

// A duration in ms: lo..kMaxDurationMs, so that converting it to ns cannot overflow.
int64_t ReadMs(const YAML::Node& node, const std::string& path, int64_t lo) {
  return ReadI64(node, path, lo, kMaxDurationMs);
}

// A plain decimal number in (0, hi].
double ReadPositiveDouble(const YAML::Node& node, const std::string& path, double hi) {
  if (!node.IsScalar()) Fail(path, "expected a number, got " + Describe(node), node);
  const std::string& text = node.Scalar();
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(v > 0.0) || v > hi) {
    Fail(path, "expected a number in (0, " + std::to_string(hi) + "], got " + Quote(text), node);
  }
  return v;
}

// Any scalar reads as a string (`name: 123` is the name "123"); null does not, because
// `handler:` with nothing after it is far more likely a mistake than a wish for "".
std::string ReadString(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) Fail(path, "expected a string, got " + Describe(node), node);
  return node.Scalar();
}

// true or false, exactly (YAML 1.2's core schema; not yes/no/on/off, which YAML 1.1
// readers take as booleans and others as strings).
bool ReadBool(const YAML::Node& node, const std::string& path) {
  const std::string s = ReadString(node, path);
  if (s == "true") return true;
  if (s != "false") Fail(path, "expected true or false, got " + Quote(s), node);
  return false;
}

std::string ReadNonEmptyString(const YAML::Node& node, const std::string& path) {
  std::string s = ReadString(node, path);
  if (s.empty()) Fail(path, "must not be empty", node);
  return s;
}

std::set<std::string> ReadMapping(const YAML::Node& node, const std::string& path,
                                  const std::map<std::string, FieldReader>& fields) {
  std::set<std::string> seen;
  if (node.IsNull()) return seen;  // `gateway:` with nothing under it: all defaults
  if (!node.IsMap()) Fail(path, "expected a mapping, got " + Describe(node), node);
  for (const auto& entry : node) {
    const YAML::Node& key_node = entry.first;
    if (!key_node.IsScalar()) {
      Fail(path.empty() ? "config" : path, "keys must be strings, got " + Describe(key_node),
           key_node);
    }
    const std::string& key = key_node.Scalar();
    const std::string key_path = path.empty() ? key : path + "." + key;
    auto it = fields.find(key);
    if (it == fields.end()) Fail(key_path, "unknown key", key_node);
    if (!seen.insert(key).second) Fail(key_path, "duplicate key", key_node);
    it->second(entry.second, key_path);
  }
  return seen;
}

}  // namespace nightjar::config
