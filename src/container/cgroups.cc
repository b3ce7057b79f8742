// cgroup inspection. See cgroups.h; the files are described in the kernel's
// Documentation/admin-guide/cgroup-v1/memory.rst and cgroup-v2.rst.
#include "container/cgroups.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace nightjar::container {

CgroupVersion DetectCgroupVersion(const std::string& sys_fs_cgroup) {
  std::ifstream in(sys_fs_cgroup + "/cgroup.controllers");
  std::string word;
  while (in >> word) {
    if (word == "memory") return CgroupVersion::kV2;
  }
  return CgroupVersion::kV1;
}

Result<uint64_t> OomKills(const std::string& cgroups_path, CgroupVersion version,
                          const std::string& sys_fs_cgroup) {
  const std::string path = version == CgroupVersion::kV2
                               ? sys_fs_cgroup + cgroups_path + "/memory.events"
                               : sys_fs_cgroup + "/memory" + cgroups_path + "/memory.oom_control";
  std::ifstream in(path);
  if (!in) return Status::FromErrno("open " + path);
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "oom_kill") return value;
  }
  return Status(StatusCode::kNotFound, path + " has no oom_kill line");
}

void RemoveCgroupParent(const std::string& path, CgroupVersion version,
                        const std::string& sys_fs_cgroup) {
  if (version == CgroupVersion::kV2) {
    ::rmdir((sys_fs_cgroup + path).c_str());
    return;
  }
  std::error_code ec;
  for (const auto& hierarchy : std::filesystem::directory_iterator(sys_fs_cgroup, ec)) {
    if (hierarchy.is_symlink(ec)) continue;               // cpu,cpuacct -> cpu: the same one
    ::rmdir((hierarchy.path().string() + path).c_str());  // fails while not empty: fine
  }
}

}  // namespace nightjar::container
