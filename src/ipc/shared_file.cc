// Shared files; see shared_file.h.
#include "ipc/shared_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.h"

namespace nightjar::ipc {

namespace {
Result<SharedFile> Map(int fd, size_t bytes, const std::string& path, std::string_view what) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return Status::FromErrno("mmap " + std::string(what) + " " + path);
  return SharedFile{p, bytes};
}
}  // namespace

Result<SharedFile> CreateSharedFile(const std::string& path, size_t bytes, std::string_view what) {
  const std::string name = std::string(what) + " " + path;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::FromErrno("create " + name);
  Result<SharedFile> file = ::ftruncate(fd.get(), static_cast<off_t>(bytes)) == 0
                                ? Map(fd.get(), bytes, path, what)
                                : Result<SharedFile>(Status::FromErrno("size " + name));
  if (!file.ok()) ::unlink(path.c_str());
  return file;
}

Result<SharedFile> MapSharedFile(const std::string& path, void* header, size_t header_bytes,
                                 const std::function<size_t(const void* header)>& expected_size,
                                 std::string_view what) {
  const std::string name = std::string(what) + " " + path;
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno("open " + name);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("stat " + name);
  const auto size = static_cast<size_t>(st.st_size);
  if (size < header_bytes ||
      ::pread(fd.get(), header, header_bytes, 0) != static_cast<ssize_t>(header_bytes) ||
      expected_size(header) == 0 || expected_size(header) != size) {
    return InvalidArgument(name + " has a malformed header");
  }
  return Map(fd.get(), size, path, what);
}

void UnmapSharedFile(const SharedFile& file) {
  if (file.base != nullptr) ::munmap(file.base, file.bytes);
}

}  // namespace nightjar::ipc
