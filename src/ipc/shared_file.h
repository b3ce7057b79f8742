// Shared files: a file in the IPC root mapped MAP_SHARED read-write by several processes,
// for the fixed-layout shared structures (payload arenas, dispatch boards). The creator
// sizes the file (sparse: tmpfs allocates a page when it is first written); others map it
// after checking its header against its size, since the file is shared with untrusted
// workers.
// Thread rule: free functions, any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace nightjar::ipc {

struct SharedFile {
  void* base = nullptr;
  size_t bytes = 0;
};

// Creates `path` (O_EXCL, mode 0600) of `bytes` and maps it; removes it again on failure.
// Fails with errno (EEXIST included); `what` names the file in the message.
Result<SharedFile> CreateSharedFile(const std::string& path, size_t bytes, std::string_view what);

// Opens `path`, reads its first `header_bytes` into `header`, and maps it if
// `expected_size(header)` equals the file's size (0: the header is malformed). Fails with
// errno, or kInvalidArgument naming `what` when the header does not fit the file.
Result<SharedFile> MapSharedFile(const std::string& path, void* header, size_t header_bytes,
                                 const std::function<size_t(const void* header)>& expected_size,
                                 std::string_view what);

// Unmaps a SharedFile. Never fails.
void UnmapSharedFile(const SharedFile& file);

}  // namespace nightjar::ipc
