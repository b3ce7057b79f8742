// FunctionLibrary: a dlopen()ed C/C++ function and its ABI entry points.
// Thread rule: call from the worker's serving thread. Owns the dlopen handle.
#pragma once

#include <string>

#include "base/status.h"
#include "nightjar/function.h"

namespace nightjar::worker {

class FunctionLibrary {
 public:
  // Loads the library, checks its ABI version and calls nj_function_init. Fails with
  // a message naming the missing symbol, a version mismatch, or a failed init.
  static Result<FunctionLibrary> Load(const std::string& path, const nj_host_api* host);
  FunctionLibrary(FunctionLibrary&& o) noexcept;
  FunctionLibrary& operator=(FunctionLibrary&&) = delete;
  ~FunctionLibrary();  // the library stays mapped: its code may have static destructors

  decltype(&nj_function_create_worker) create_worker = nullptr;
  decltype(&nj_function_destroy_worker) destroy_worker = nullptr;
  decltype(&nj_function_call) call = nullptr;

 private:
  FunctionLibrary() = default;
  void* handle_ = nullptr;
};

}  // namespace nightjar::worker
