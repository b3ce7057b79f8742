// The function directory: function names and ids, written by the engine into the IPC
// root (one "<id> <name>" line per function) and read by workers so they can name
// callees by string while call ids carry numbers.
// Thread rule: value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/status.h"

namespace nightjar::proto {

class FunctionDirectory {
 public:
  void Add(uint32_t id, std::string name) { ids_.emplace(std::move(name), id); }
  // 0 when unknown.
  uint32_t Lookup(std::string_view name) const {
    auto it = ids_.find(std::string(name));
    return it == ids_.end() ? 0 : it->second;
  }
  size_t size() const { return ids_.size(); }

  std::string Serialize() const;
  // Fails with kInvalidArgument on a malformed line.
  static Result<FunctionDirectory> Parse(std::string_view text);

 private:
  std::unordered_map<std::string, uint32_t> ids_;
};

}  // namespace nightjar::proto
