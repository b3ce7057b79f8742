// start_crash: a function whose workers die while starting (before they are ready), to
// exercise the engine's crash-loop back-off.
#include <nightjar/function.h>

#include <cstdlib>

extern "C" {
__attribute__((visibility("default"))) uint32_t nj_function_abi_version(void) {
  return NJ_ABI_VERSION;
}
__attribute__((visibility("default"))) int nj_function_init(const nj_host_api*) { return 0; }
__attribute__((visibility("default"))) int nj_function_create_worker(const char*, void**) {
  std::abort();
}
__attribute__((visibility("default"))) int nj_function_destroy_worker(void*) { return 0; }
__attribute__((visibility("default"))) nj_status nj_function_call(void*, nj_call*, const void*,
                                                                   size_t) {
  return NJ_OK;
}
}
