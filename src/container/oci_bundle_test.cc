// Unit tests of the OCI bundle writer and the cgroup readers (against fake file trees);
// tests/test_containers.py runs real containers with runc.
#include "container/oci_bundle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "container/cgroups.h"

namespace nightjar::container {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::Contains;

class ContainerFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nightjar_container_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void Write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  fs::path dir_;
};

BundleSpec Spec() {
  BundleSpec spec;
  spec.id = "nightjar-1-ab-2-0";
  spec.dir = "/b";
  spec.args = {"/opt/nj/nightjar", "launcher", "--function", "echo"};
  spec.hostname = "nightjar-echo";
  spec.read_only_dirs = {"/opt/nj", "/opt/fn", "/opt/nj"};
  spec.read_write_dir = "/dev/shm/nightjar/1-ab";
  spec.cgroups_path = "/nightjar/nightjar-1-ab-2-0";
  return spec;
}

std::vector<std::string> Destinations(const json& config) {
  std::vector<std::string> out;
  for (const json& m : config["mounts"]) out.push_back(m["destination"]);
  return out;
}

TEST_F(ContainerFilesTest, NamespacesPrivilegesAndRootAreLockedDown) {
  const json c = OciConfig(Spec(), dir_.string());
  std::vector<std::string> namespaces;
  for (const json& ns : c["linux"]["namespaces"]) namespaces.push_back(ns["type"]);
  EXPECT_THAT(namespaces,
              ::testing::UnorderedElementsAre("pid", "mount", "ipc", "uts", "network", "cgroup"));
  EXPECT_TRUE(c["root"]["readonly"].get<bool>());
  EXPECT_EQ(c["root"]["path"], "rootfs");
  EXPECT_TRUE(c["process"]["noNewPrivileges"].get<bool>());
  for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"}) {
    EXPECT_TRUE(c["process"]["capabilities"][set].empty()) << set;
  }
  EXPECT_EQ(c["process"]["args"][0], "/opt/nj/nightjar");
  EXPECT_EQ(c["hostname"], "nightjar-echo");
  EXPECT_EQ(c["linux"]["cgroupsPath"], "/nightjar/nightjar-1-ab-2-0");
  const json& seccomp = c["linux"]["seccomp"];
  EXPECT_EQ(seccomp["defaultAction"], "SCMP_ACT_ALLOW");
  EXPECT_THAT(seccomp["syscalls"][0]["names"], Contains("mount"));
  EXPECT_THAT(seccomp["syscalls"][0]["names"], Contains("ptrace"));
  EXPECT_EQ(seccomp["syscalls"][0]["action"], "SCMP_ACT_ERRNO");
  int clone_rules = 0;
  for (const json& rule : seccomp["syscalls"]) {
    if (rule["names"][0] == "clone") ++clone_rules;
    if (rule["names"][0] == "clone3") {
      EXPECT_EQ(rule["errnoRet"], ENOSYS);
    }
  }
  EXPECT_EQ(clone_rules, 7) << "one rule per namespace flag";
}

TEST_F(ContainerFilesTest, OnlyTheIpcDirectoryIsWritable) {
  const json c = OciConfig(Spec(), dir_.string());
  int writable_binds = 0;
  for (const json& m : c["mounts"]) {
    if (m["type"] != "bind") continue;
    const auto& options = m["options"];
    const bool ro = std::find(options.begin(), options.end(), "ro") != options.end();
    if (!ro) {
      ++writable_binds;
      EXPECT_EQ(m["destination"], "/dev/shm/nightjar/1-ab");
    }
  }
  EXPECT_EQ(writable_binds, 1);
  const auto dests = Destinations(c);
  EXPECT_EQ(std::count(dests.begin(), dests.end(), "/opt/nj"), 1) << "read-only dirs deduplicated";
  EXPECT_THAT(dests, Contains("/tmp"));
  EXPECT_THAT(dests, Contains("/proc"));
}

TEST_F(ContainerFilesTest, HostDirectoriesAreBoundAndSymlinksSkipped) {
  fs::create_directories(dir_ / "usr" / "lib");
  fs::create_symlink("usr/lib", dir_ / "lib");
  Write(dir_ / "etc" / "passwd", "root:x:0:0::/root:/bin/sh\n");
  const auto dests = Destinations(OciConfig(Spec(), dir_.string()));
  EXPECT_THAT(dests, Contains("/usr"));
  EXPECT_THAT(dests, ::testing::Not(Contains("/lib")));  // mirrored as a symlink instead
  EXPECT_THAT(dests, Contains("/etc/passwd"));
  EXPECT_THAT(dests, ::testing::Not(Contains("/etc/group")));  // absent on this fake host

  BundleSpec own = Spec();
  own.rootfs = "/srv/rootfs";
  const json c = OciConfig(own, dir_.string());
  EXPECT_EQ(c["root"]["path"], "/srv/rootfs");
  EXPECT_THAT(Destinations(c), ::testing::Not(Contains("/usr")));
}

TEST_F(ContainerFilesTest, LimitsBecomeCgroupResources) {
  BundleSpec spec = Spec();
  EXPECT_FALSE(OciConfig(spec)["linux"]["resources"].contains("memory"));
  spec.limits = {0.5, 64, 128};
  const json r = OciConfig(spec)["linux"]["resources"];
  EXPECT_EQ(r["cpu"]["quota"], 50000);
  EXPECT_EQ(r["cpu"]["period"], 100000);
  EXPECT_EQ(r["memory"]["limit"], 64ll << 20);
  EXPECT_EQ(r["pids"]["limit"], 128);
}

TEST_F(ContainerFilesTest, WriteBundleMakesRootfsAndConfig) {
  BundleSpec spec = Spec();
  spec.dir = (dir_ / "bundle").string();
  ASSERT_TRUE(WriteBundle(spec).ok());
  EXPECT_TRUE(fs::is_directory(dir_ / "bundle" / "rootfs"));
  std::ifstream in(dir_ / "bundle" / "config.json");
  const json c = json::parse(in);
  EXPECT_EQ(c["ociVersion"], "1.0.2");
}

TEST_F(ContainerFilesTest, CgroupVersionAndOomKills) {
  EXPECT_EQ(DetectCgroupVersion(dir_.string()), CgroupVersion::kV1);
  Write(dir_ / "memory" / "nightjar" / "c1" / "memory.oom_control",
        "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
  auto v1 = OomKills("/nightjar/c1", CgroupVersion::kV1, dir_.string());
  ASSERT_TRUE(v1.ok()) << v1.status().message();
  EXPECT_EQ(*v1, 3u);
  EXPECT_FALSE(OomKills("/nightjar/none", CgroupVersion::kV1, dir_.string()).ok());

  Write(dir_ / "cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
  EXPECT_EQ(DetectCgroupVersion(dir_.string()), CgroupVersion::kV2);
  Write(dir_ / "nightjar" / "c1" / "memory.events",
        "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n");
  auto v2 = OomKills("/nightjar/c1", CgroupVersion::kV2, dir_.string());
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(*v2, 2u);
}

}  // namespace
}  // namespace nightjar::container
