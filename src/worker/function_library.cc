// FunctionLibrary implementation.
#include "worker/function_library.h"

#include <dlfcn.h>

#include <utility>

namespace nightjar::worker {

FunctionLibrary::FunctionLibrary(FunctionLibrary&& o) noexcept
    : create_worker(o.create_worker),
      destroy_worker(o.destroy_worker),
      call(o.call),
      handle_(std::exchange(o.handle_, nullptr)) {}

FunctionLibrary::~FunctionLibrary() = default;

Result<FunctionLibrary> FunctionLibrary::Load(const std::string& path, const nj_host_api* host) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return InvalidArgument(std::string("dlopen: ") + ::dlerror());
  auto sym = [&](const char* name) { return ::dlsym(handle, name); };
  auto version = reinterpret_cast<decltype(&nj_function_abi_version)>(sym("nj_function_abi_version"));
  auto init = reinterpret_cast<decltype(&nj_function_init)>(sym("nj_function_init"));
  FunctionLibrary lib;
  lib.handle_ = handle;
  lib.create_worker =
      reinterpret_cast<decltype(&nj_function_create_worker)>(sym("nj_function_create_worker"));
  lib.destroy_worker =
      reinterpret_cast<decltype(&nj_function_destroy_worker)>(sym("nj_function_destroy_worker"));
  lib.call = reinterpret_cast<decltype(&nj_function_call)>(sym("nj_function_call"));
  if (!version || !init || !lib.create_worker || !lib.destroy_worker || !lib.call) {
    return InvalidArgument(path + ": missing one of the nj_function_* entry points");
  }
  // Versions only append callbacks (function.h): any version up to ours runs.
  if (version() < 1 || version() > NJ_ABI_VERSION) {
    return InvalidArgument(path + ": built for function ABI " + std::to_string(version()) +
                           ", host speaks 1 to " + std::to_string(NJ_ABI_VERSION));
  }
  if (init(host) != 0) return InvalidArgument(path + ": nj_function_init failed");
  return lib;
}

}  // namespace nightjar::worker
