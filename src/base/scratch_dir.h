// ScratchDir: a fresh directory for one test, on tmpfs (/dev/shm) when it is there, since
// the IPC files tests make belong on tmpfs, else under /tmp; removed with everything in it
// when the object goes. For unit tests only.
// Thread rule: one test thread.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace nightjar {

class ScratchDir {
 public:
  // `name`: a short tag in the directory's name. ok() is false if none could be made.
  explicit ScratchDir(const std::string& name) {
    for (const char* base : {"/dev/shm/", "/tmp/"}) {
      std::string tmpl = base + name + "-XXXXXX";
      if (::mkdtemp(tmpl.data()) != nullptr) {
        path_ = tmpl;
        return;
      }
    }
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace nightjar
