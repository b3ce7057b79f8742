// FunctionDirectory serialization.
#include "proto/function_directory.h"

#include <charconv>

#include "proto/message.h"

namespace nightjar::proto {

std::string FunctionDirectory::Serialize() const {
  std::string out;
  for (const auto& [name, id] : ids_) out += std::to_string(id) + " " + name + "\n";
  return out;
}

Result<FunctionDirectory> FunctionDirectory::Parse(std::string_view text) {
  FunctionDirectory dir;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    size_t sp = line.find(' ');
    uint32_t id = 0;
    if (sp == std::string_view::npos || sp + 1 == line.size() ||
        std::from_chars(line.data(), line.data() + sp, id).ptr != line.data() + sp || id == 0 ||
        id > CallId::kMaxFunctionId) {
      return InvalidArgument("function directory: bad line \"" + std::string(line) + "\"");
    }
    dir.Add(id, std::string(line.substr(sp + 1)));
  }
  return dir;
}

}  // namespace nightjar::proto
