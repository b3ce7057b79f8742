// Tests for config parsing: every key maps to its field, defaults hold when sections are
// omitted, and each rejection names the offending key path.

#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace nightjar::config {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Each test gets its own directory with a handler file in it, so tests can run in parallel
// (and alongside other test binaries) without sharing paths.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nightjar_config_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    WriteFile(dir_ / "echo.so", "not really a shared library");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static void WriteFile(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path);
    out << text;
    ASSERT_TRUE(out.good()) << path;
  }

  Result<Config> Parse(const std::string& yaml) { return ParseConfig(yaml, dir_.string()); }

  // Parses text that must be rejected and returns the message.
  std::string ParseError(const std::string& yaml) {
    Result<Config> r = Parse(yaml);
    EXPECT_FALSE(r.ok()) << "accepted:\n" << yaml;
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().message();
    return r.status().message();
  }

  fs::path dir_;
};

constexpr char kOneFunction[] =
    "functions:\n"
    "  - name: echo\n"
    "    handler: echo.so\n";

TEST_F(ConfigTest, FullConfigWithEveryKey) {
  WriteFile(dir_ / "lib" / "resize.so", "x");
  Result<Config> r = Parse(R"(
gateway:
  host: 0.0.0.0
  http_port: 9090
  engine_port: 9091
  max_body_bytes: 1048576
  max_header_bytes: 8192
  idle_timeout_ms: 5000
  max_connections: 500
engine:
  io_threads: 4
  ipc_root: /run/nightjar
  default_timeout_ms: 2500
  max_queue: 64
  gateway: gw.internal:9091
  cpu_limit: 16
  prefetch_max_us: 500
  direct_dispatch: false
  metrics: false
  worker_nice: 5
functions:
  - name: echo
    runtime: cpp
    handler: echo.so
    min_workers: 2
    max_workers: 16
    timeout_ms: 100
    max_payload_bytes: 4096
    isolation: process
  - name: img.resize-v2_1
    handler: lib/resize.so
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Config& c = *r;

  EXPECT_EQ(c.gateway.host, "0.0.0.0");
  EXPECT_EQ(c.gateway.http_port, 9090);
  EXPECT_EQ(c.gateway.engine_port, 9091);
  EXPECT_EQ(c.gateway.max_body_bytes, 1048576u);
  EXPECT_EQ(c.gateway.max_header_bytes, 8192u);
  EXPECT_EQ(c.gateway.idle_timeout_ms, 5000);
  EXPECT_EQ(c.gateway.max_connections, 500u);

  EXPECT_EQ(c.engine.io_threads, 4);
  EXPECT_EQ(c.engine.ipc_root, "/run/nightjar");
  EXPECT_EQ(c.engine.default_timeout_ms, 2500);
  EXPECT_EQ(c.engine.max_queue, 64u);
  EXPECT_EQ(c.engine.gateway, "gw.internal:9091");
  EXPECT_EQ(c.engine.cpu_limit, 16u);
  EXPECT_EQ(c.engine.prefetch_max_us, 500);
  EXPECT_FALSE(c.engine.direct_dispatch);
  EXPECT_FALSE(c.engine.metrics);
  EXPECT_EQ(c.engine.worker_nice, 5);

  ASSERT_EQ(c.functions.size(), 2u);
  const FunctionConfig& echo = c.functions[0];
  EXPECT_EQ(echo.name, "echo");
  EXPECT_EQ(echo.runtime, "cpp");
  EXPECT_EQ(echo.handler, (dir_ / "echo.so").string());
  EXPECT_EQ(echo.min_workers, 2u);
  EXPECT_EQ(echo.max_workers, 16u);
  EXPECT_EQ(echo.timeout_ms, 100);
  EXPECT_EQ(echo.max_payload_bytes, 4096u);
  EXPECT_EQ(echo.isolation, "process");
  EXPECT_EQ(echo.id, 1u);

  const FunctionConfig& resize = c.functions[1];
  EXPECT_EQ(resize.name, "img.resize-v2_1");
  EXPECT_EQ(resize.handler, (dir_ / "lib" / "resize.so").string());
  EXPECT_EQ(resize.id, 2u);
  // Unset fields keep their defaults.
  EXPECT_EQ(resize.min_workers, 1u);
  EXPECT_EQ(resize.max_workers, 8u);
  EXPECT_EQ(resize.max_payload_bytes, kDefaultMaxPayloadBytes);

  EXPECT_EQ(c.TimeoutMs(echo), 100);
  EXPECT_EQ(c.TimeoutMs(resize), 2500);  // timeout_ms 0 falls back to the engine default
}

TEST_F(ConfigTest, DefaultsWhenSectionsOmitted) {
  Result<Config> r = Parse(kOneFunction);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Config& c = *r;
  const GatewayConfig g;
  const EngineConfig e;
  EXPECT_EQ(c.gateway.host, "127.0.0.1");
  EXPECT_EQ(c.gateway.http_port, 8080);
  EXPECT_EQ(c.gateway.engine_port, 10007);
  EXPECT_EQ(c.gateway.max_body_bytes, g.max_body_bytes);
  EXPECT_EQ(c.gateway.max_header_bytes, 16u * 1024);
  EXPECT_EQ(c.gateway.idle_timeout_ms, 60'000);
  EXPECT_EQ(c.gateway.max_connections, 10'000u);
  EXPECT_EQ(c.engine.io_threads, 1);
  EXPECT_EQ(c.engine.ipc_root, "/dev/shm/nightjar");
  EXPECT_EQ(c.engine.default_timeout_ms, 30'000);
  EXPECT_EQ(c.engine.max_queue, e.max_queue);
  EXPECT_EQ(c.engine.gateway, "127.0.0.1:10007");
  EXPECT_EQ(c.engine.cpu_limit, 0u);  // the CPUs this process may run on
  EXPECT_EQ(c.engine.prefetch_max_us, 2000);
  EXPECT_TRUE(c.engine.direct_dispatch);
  EXPECT_TRUE(c.engine.metrics);
  EXPECT_EQ(c.engine.worker_nice, 0);
  EXPECT_TRUE(c.gateway.server_timing);
  EXPECT_EQ(c.tracing.otlp_endpoint, "");  // no span export unless asked
  EXPECT_EQ(c.tracing.service_name, "nightjar");

  ASSERT_EQ(c.functions.size(), 1u);
  const FunctionConfig& f = c.functions[0];
  EXPECT_EQ(f.runtime, "cpp");
  EXPECT_EQ(f.isolation, "process");
  EXPECT_EQ(f.concurrency, "unmanaged");  // by measurement (docs/concurrency.md)
  EXPECT_EQ(f.min_workers, 1u);
  EXPECT_EQ(f.max_workers, 8u);
  EXPECT_EQ(f.timeout_ms, 0);
  EXPECT_EQ(f.max_payload_bytes, kDefaultMaxPayloadBytes);
  EXPECT_EQ(f.id, 1u);
  EXPECT_EQ(c.TimeoutMs(f), 30'000);
}

TEST_F(ConfigTest, TracingKeys) {
  Result<Config> r = Parse(std::string("gateway: {server_timing: false}\n"
                                       "tracing:\n"
                                       "  otlp_endpoint: http://127.0.0.1:4318/v1/traces\n"
                                       "  service_name: shop\n") +
                           kOneFunction);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->gateway.server_timing);
  EXPECT_EQ(r->tracing.otlp_endpoint, "http://127.0.0.1:4318/v1/traces");
  EXPECT_EQ(r->tracing.service_name, "shop");
  r = Parse(std::string("tracing: {otlp_endpoint: \"\"}\n") + kOneFunction);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tracing.otlp_endpoint, "");
}

TEST_F(ConfigTest, EmptySectionsMeanDefaults) {
  Result<Config> r = Parse(std::string("gateway:\nengine: ~\n") + kOneFunction);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->gateway.http_port, 8080);
  EXPECT_EQ(r->engine.io_threads, 1);
}

TEST_F(ConfigTest, BoundaryValuesAccepted) {
  Result<Config> r = Parse(R"(
gateway: {http_port: 0, engine_port: 65535, max_header_bytes: 1024, max_body_bytes: 1}
engine: {io_threads: 64, gateway: "[::1]:1"}
functions:
  - {name: a, handler: echo.so, min_workers: 0, max_workers: 1024, max_payload_bytes: 1073741824}
  - {name: b, handler: echo.so, min_workers: 1, max_workers: 1, max_payload_bytes: 1}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->gateway.http_port, 0);
  EXPECT_EQ(r->gateway.engine_port, 65535);
  EXPECT_EQ(r->gateway.max_header_bytes, 1024u);
  EXPECT_EQ(r->engine.io_threads, 64);
  EXPECT_EQ(r->engine.gateway, "[::1]:1");
  EXPECT_EQ(r->functions[0].min_workers, 0u);
  EXPECT_EQ(r->functions[0].max_workers, 1024u);
  EXPECT_EQ(r->functions[0].max_payload_bytes, 1ull << 30);
  EXPECT_EQ(r->functions[1].max_workers, 1u);
}

TEST_F(ConfigTest, LogsSection) {
  Result<Config> d = Parse(kOneFunction);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->logs.lines_per_function, 1000u);
  EXPECT_EQ(d->logs.max_line_bytes, 4096u);
  Result<Config> r =
      Parse(std::string("logs:\n  lines_per_function: 7\n  max_line_bytes: 64\n") + kOneFunction);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->logs.lines_per_function, 7u);
  EXPECT_EQ(r->logs.max_line_bytes, 64u);
  EXPECT_THAT(ParseError(std::string("logs:\n  lines_per_function: 0\n") + kOneFunction),
              HasSubstr("logs.lines_per_function"));
  EXPECT_THAT(ParseError(std::string("logs:\n  max_line_bytes: 63\n") + kOneFunction),
              HasSubstr("logs.max_line_bytes"));
  EXPECT_THAT(ParseError(std::string("logs:\n  follow: true\n") + kOneFunction),
              HasSubstr("logs.follow"));
}

TEST_F(ConfigTest, IdsFollowFileOrderAndFindLooksUpByName) {
  Result<Config> r = Parse(R"(
functions:
  - {name: c, handler: echo.so}
  - {name: a, handler: echo.so}
  - {name: b, handler: echo.so}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Config& c = *r;
  ASSERT_NE(c.Find("a"), nullptr);
  EXPECT_EQ(c.Find("c")->id, 1u);
  EXPECT_EQ(c.Find("a")->id, 2u);
  EXPECT_EQ(c.Find("b")->id, 3u);
  EXPECT_EQ(c.Find("a"), &c.functions[1]);
  EXPECT_EQ(c.Find("d"), nullptr);
  EXPECT_EQ(c.Find(""), nullptr);
}

TEST_F(ConfigTest, RelativeHandlerIsResolvedAndNormalized) {
  WriteFile(dir_ / "lib" / "fn.so", "x");
  Result<Config> r = Parse(R"(
functions:
  - {name: a, handler: ./lib/../lib/./fn.so}
  - {name: b, handler: lib//fn.so}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::string want = (dir_ / "lib" / "fn.so").string();
  EXPECT_EQ(r->functions[0].handler, want);
  EXPECT_EQ(r->functions[1].handler, want);
  EXPECT_TRUE(fs::path(r->functions[0].handler).is_absolute());
}

TEST_F(ConfigTest, PythonFunctionResolvesItsFileAndKeepsTheFunctionName) {
  WriteFile(dir_ / "py" / "hello.py", "def handle(ctx, data): return data\n");
  Result<Config> r = Parse(R"(
functions:
  - {name: a, runtime: python, handler: py/../py/hello.py:handle}
  - {name: b, runtime: python, handler: py/hello.py:other_name_2, slots_per_process: 16,
     interpreter: /bin/sh}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->functions[0].handler, (dir_ / "py" / "hello.py").string() + ":handle");
  EXPECT_EQ(r->functions[0].interpreter, kDefaultPythonInterpreter);
  EXPECT_EQ(r->functions[0].slots_per_process, kDefaultRuntimeSlots);
  EXPECT_EQ(r->functions[1].handler, (dir_ / "py" / "hello.py").string() + ":other_name_2");
  EXPECT_EQ(r->functions[1].interpreter, "/bin/sh");
  EXPECT_EQ(r->functions[1].slots_per_process, 16u);
}

TEST_F(ConfigTest, PythonHandlerErrorsNameTheKey) {
  WriteFile(dir_ / "hello.py", "");
  EXPECT_THAT(ParseError("functions:\n  - {name: a, runtime: python, handler: nope.py:f}\n"),
              HasSubstr("functions[0].handler: handler file"));
  EXPECT_THAT(ParseError("functions:\n  - {name: a, runtime: python, handler: 'hello.py:'}\n"),
              HasSubstr("functions[0].handler: expected \"path/to/file.py:function\""));
  EXPECT_THAT(ParseError("functions:\n  - {name: a, runtime: python, handler: 'hello.py:a-b'}\n"),
              HasSubstr("functions[0].handler: expected"));
  EXPECT_THAT(ParseError("functions:\n  - {name: a, runtime: python, handler: hello.py:f,\n"
                         "     interpreter: /nonexistent/python}\n"),
              HasSubstr("functions[0].interpreter: interpreter \"/nonexistent/python\" is not an "
                        "executable file"));
}

TEST_F(ConfigTest, ContainerKeysAndTheEngineWideDefault) {
  fs::create_directories(dir_ / "root");
  Result<Config> r = Parse(R"(
engine: {isolation: container}
functions:
  - {name: a, handler: echo.so, limits: {cpus: 0.5, memory_mb: 64, pids: 100}, rootfs: root}
  - {name: b, handler: echo.so, isolation: process}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->functions[0].isolation, "container");
  EXPECT_EQ(r->functions[0].limits.cpus, 0.5);
  EXPECT_EQ(r->functions[0].limits.memory_mb, 64u);
  EXPECT_EQ(r->functions[0].limits.pids, 100u);
  EXPECT_EQ(r->functions[0].rootfs, (dir_ / "root").string());
  EXPECT_EQ(r->functions[1].isolation, "process");
  Result<Config> plain = Parse(kOneFunction);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->functions[0].isolation, "process");
}

TEST_F(ConfigTest, AbsoluteHandlerIsKeptNormalized) {
  const std::string abs = (dir_ / "echo.so").string();
  Result<Config> r =
      ParseConfig("functions:\n  - {name: a, handler: " + (dir_ / "." / "echo.so").string() + "}",
                  "/nonexistent-base");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->functions[0].handler, abs);
}

TEST_F(ConfigTest, RelativeBaseDirIsMadeAbsolute) {
  // ParseConfig's base_dir may itself be relative: resolve it against the cwd once, so the
  // handler path stays valid after a chdir.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_.parent_path());
  Result<Config> r = ParseConfig(kOneFunction, dir_.filename().string());
  fs::current_path(cwd);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->functions[0].handler, (dir_ / "echo.so").string());
}

TEST_F(ConfigTest, MissingHandlerNamesKeyAndResolvedPath) {
  const std::string msg = ParseError(R"(
functions:
  - {name: a, handler: echo.so}
  - {name: b, handler: sub/../missing.so}
)");
  EXPECT_THAT(msg, HasSubstr("functions[1].handler"));
  EXPECT_THAT(msg, HasSubstr((dir_ / "missing.so").string()));
  EXPECT_THAT(msg, HasSubstr("does not exist"));
}

TEST_F(ConfigTest, HandlerThatIsADirectoryIsRejected) {
  fs::create_directory(dir_ / "d.so");
  const std::string msg = ParseError("functions:\n  - {name: a, handler: d.so}\n");
  EXPECT_THAT(msg, HasSubstr("functions[0].handler"));
  EXPECT_THAT(msg, HasSubstr("not a regular file"));
}

TEST_F(ConfigTest, DuplicateFunctionName) {
  const std::string msg = ParseError(R"(
functions:
  - {name: echo, handler: echo.so}
  - {name: other, handler: echo.so}
  - {name: echo, handler: echo.so}
)");
  EXPECT_THAT(msg, HasSubstr("functions[2].name: duplicate function name \"echo\""));
  EXPECT_THAT(msg, HasSubstr("functions[0]"));
}

TEST_F(ConfigTest, SyntaxErrorReportsLineAndColumn) {
  const std::string msg = ParseError("functions:\n  - name: echo\n    handler: [unclosed\n");
  EXPECT_THAT(msg, HasSubstr("yaml syntax error at line "));
  EXPECT_THAT(msg, HasSubstr("column "));
}

TEST_F(ConfigTest, SyntaxErrorLineIsOneBased) {
  // A tab cannot start indentation in YAML; the offending line is the third one.
  const std::string msg = ParseError("functions:\n  - name: echo\n\t handler: x\n");
  EXPECT_THAT(msg, HasSubstr("yaml syntax error at line 3"));
}

TEST_F(ConfigTest, ValueErrorsCarryTheLine) {
  const std::string msg = ParseError(std::string(kOneFunction) + "    max_workers: abc\n");
  EXPECT_THAT(msg, HasSubstr("(line 4)"));
}

TEST_F(ConfigTest, TooManyFunctions) {
  std::string yaml = "functions:\n";
  for (int i = 0; i < 4096; ++i)
    yaml += "  - {name: f" + std::to_string(i) + ", handler: echo.so}\n";
  const std::string msg = ParseError(yaml);
  EXPECT_THAT(msg, HasSubstr("functions: too many functions (4096); at most 4095"));
}

TEST_F(ConfigTest, MaxFunctionCountAccepted) {
  std::string yaml = "functions:\n";
  for (int i = 0; i < 4095; ++i)
    yaml += "  - {name: f" + std::to_string(i) + ", handler: echo.so}\n";
  Result<Config> r = Parse(yaml);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->functions.size(), 4095u);
  EXPECT_EQ(r->functions.back().id, 4095u);
}

TEST_F(ConfigTest, LoadConfigFileResolvesAgainstFileDirectory) {
  WriteFile(dir_ / "conf" / "fn.so", "x");
  WriteFile(dir_ / "conf" / "nightjar.yaml",
            "engine: {io_threads: 3}\nfunctions:\n  - {name: fn, handler: fn.so}\n");
  Result<Config> r = LoadConfigFile((dir_ / "conf" / "nightjar.yaml").string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->engine.io_threads, 3);
  EXPECT_EQ(r->functions[0].handler, (dir_ / "conf" / "fn.so").string());
}

TEST_F(ConfigTest, LoadConfigFileWithRelativePath) {
  WriteFile(dir_ / "c.yaml", kOneFunction);
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  Result<Config> r = LoadConfigFile("c.yaml");
  fs::current_path(cwd);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->functions[0].handler, (dir_ / "echo.so").string());
}

TEST_F(ConfigTest, LoadConfigFileMissing) {
  const std::string path = (dir_ / "nope.yaml").string();
  Result<Config> r = LoadConfigFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "cannot read config file " + path + ": No such file or directory");
}

TEST_F(ConfigTest, LoadConfigFileThatIsADirectory) {
  Result<Config> r = LoadConfigFile(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("Is a directory"));
}

TEST_F(ConfigTest, LoadConfigFileErrorsNameTheFileAndKey) {
  const std::string path = (dir_ / "bad.yaml").string();
  WriteFile(path, std::string(kOneFunction) + "    max_workers: -3\n");
  Result<Config> r = LoadConfigFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr(path + ": functions[0].max_workers"));
}

// One rejected config per row: the YAML and a substring the message must contain (the key
// path plus enough of the reason to tell rejections apart).
struct Rejection {
  const char* label;
  std::string yaml;
  std::string want;
};

std::string WithFunction(const std::string& extra_function_lines) {
  return std::string(kOneFunction) + extra_function_lines;
}

std::string WithSection(const std::string& section) { return section + kOneFunction; }

class ConfigRejectionTest : public ConfigTest, public ::testing::WithParamInterface<Rejection> {};

TEST_P(ConfigRejectionTest, MessageNamesTheKey) {
  const std::string msg = ParseError(GetParam().yaml);
  EXPECT_THAT(msg, HasSubstr(GetParam().want));
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigRejectionTest,
    ::testing::Values(
        // Structure and unknown keys.
        Rejection{"UnknownTopLevel", WithSection("gatway: {}\n"), "gatway: unknown key"},
        Rejection{"UnknownGatewayKey", WithSection("gateway:\n  http_prot: 80\n"),
                  "gateway.http_prot: unknown key"},
        Rejection{"UnknownEngineKey", WithSection("engine: {threads: 2}\n"),
                  "engine.threads: unknown key"},
        Rejection{"UnknownFunctionKey", WithFunction("    workers: 2\n"),
                  "functions[0].workers: unknown key"},
        Rejection{"IdIsNotAKey", WithFunction("    id: 7\n"), "functions[0].id: unknown key"},
        Rejection{"DuplicateKey", WithSection("engine: {io_threads: 2, io_threads: 3}\n"),
                  "engine.io_threads: duplicate key"},
        Rejection{"GatewayNotMapping", WithSection("gateway: [1, 2]\n"),
                  "gateway: expected a mapping, got a sequence"},
        Rejection{"FunctionNotMapping", "functions: [echo]\n",
                  "functions[0]: expected a mapping, got \"echo\""},
        Rejection{"FunctionsNotSequence", "functions: {name: echo}\n",
                  "functions: expected a sequence"},
        Rejection{"TopLevelNotMapping", "- a\n- b\n", "config must be a mapping"},
        Rejection{"TwoDocuments", std::string(kOneFunction) + "---\n" + kOneFunction,
                  "single YAML document"},
        Rejection{"NoFunctionsKey", "engine: {io_threads: 2}\n",
                  "functions: at least one function must be defined"},
        Rejection{"EmptyFunctions", "functions: []\n",
                  "functions: at least one function must be defined"},
        Rejection{"EmptyDocument", "", "functions: at least one function must be defined"},

        // Integers.
        Rejection{"NotAnInteger",
                  std::string(kOneFunction) + "  - {name: b, handler: echo.so, max_workers: abc}\n",
                  "functions[1].max_workers: expected an unsigned integer, got \"abc\""},
        Rejection{"NegativeUnsigned", WithFunction("    max_workers: -1\n"),
                  "functions[0].max_workers: expected an unsigned integer, got \"-1\""},
        Rejection{"Fraction", WithFunction("    max_workers: 1.5\n"),
                  "functions[0].max_workers: expected an unsigned integer, got \"1.5\""},
        Rejection{"Hex", WithFunction("    max_workers: 0x10\n"),
                  "functions[0].max_workers: expected an unsigned integer, got \"0x10\""},
        Rejection{"Exponent", WithFunction("    max_payload_bytes: 1e6\n"),
                  "functions[0].max_payload_bytes: expected an unsigned integer"},
        Rejection{"LeadingZero", WithFunction("    max_workers: 010\n"),
                  "functions[0].max_workers: expected an unsigned integer, got \"010\""},
        Rejection{"SignedLeadingZero", WithFunction("    timeout_ms: -010\n"),
                  "functions[0].timeout_ms: expected an integer, got \"-010\""},
        Rejection{"NonStringKey", std::string("? [a]\n: 1\n"),
                  "config: keys must be strings, got a sequence"},
        Rejection{"PlusSign", WithFunction("    max_workers: +4\n"),
                  "functions[0].max_workers: expected an unsigned integer"},
        Rejection{"QuotedNumber", WithFunction("    max_workers: \"8\"\n"),
                  "functions[0].max_workers: expected an unsigned integer"},
        Rejection{"NullNumber", WithFunction("    max_workers:\n"),
                  "functions[0].max_workers: expected an unsigned integer, got null"},
        Rejection{"SequenceNumber", WithFunction("    max_workers: [1]\n"),
                  "functions[0].max_workers: expected an unsigned integer, got a sequence"},
        Rejection{"SignedNotInteger", WithFunction("    timeout_ms: soon\n"),
                  "functions[0].timeout_ms: expected an integer, got \"soon\""},
        Rejection{"Uint64Overflow",
                  WithSection("gateway: {max_body_bytes: 18446744073709551616}\n"),
                  "gateway.max_body_bytes: value 18446744073709551616 is out of range"},
        Rejection{"Uint32Overflow", WithSection("gateway: {max_connections: 4294967296}\n"),
                  "gateway.max_connections: value 4294967296 is out of range"},
        Rejection{"CpuLimitTooBig", WithSection("engine: {cpu_limit: 4097}\n"),
                  "engine.cpu_limit: must be between 0 and 4096, got 4097"},
        Rejection{"CpuLimitNegative", WithSection("engine: {cpu_limit: -1}\n"),
                  "engine.cpu_limit: expected an unsigned integer, got \"-1\""},
        Rejection{"WorkerNiceTooBig", WithSection("engine: {worker_nice: 20}\n"),
                  "engine.worker_nice: must be between 0 and 19, got 20"},
        Rejection{"DirectDispatchNotBool", WithSection("engine: {direct_dispatch: yes}\n"),
                  "engine.direct_dispatch: expected true or false, got \"yes\""},
        Rejection{"MetricsNotBool", WithSection("engine: {metrics: 1}\n"),
                  "engine.metrics: expected true or false, got \"1\""},
        Rejection{"ServerTimingNotBool", WithSection("gateway: {server_timing: on}\n"),
                  "gateway.server_timing: expected true or false, got \"on\""},
        Rejection{"UnknownTracingKey", WithSection("tracing: {endpoint: x}\n"),
                  "tracing.endpoint: unknown key"},
        Rejection{"OtlpEndpointNotHttp",
                  WithSection("tracing: {otlp_endpoint: \"https://collector:4318/v1/traces\"}\n"),
                  "tracing.otlp_endpoint: must be empty or an http:// URL"},
        Rejection{"OtlpEndpointWithoutPath",
                  WithSection("tracing: {otlp_endpoint: \"http://127.0.0.1:4318\"}\n"),
                  "tracing.otlp_endpoint: must name a path"},
        Rejection{"ServiceNameEmpty", WithSection("tracing: {service_name: \"\"}\n"),
                  "tracing.service_name: must not be empty"},
        Rejection{"PrefetchTooBig", WithSection("engine: {prefetch_max_us: 1000001}\n"),
                  "engine.prefetch_max_us: must be between 0 and 1000000, got 1000001"},
        Rejection{"Int64Overflow",
                  WithSection("engine: {default_timeout_ms: 9223372036854775808}\n"),
                  "engine.default_timeout_ms: value 9223372036854775808 is out of range"},

        // Function ranges.
        Rejection{"MaxWorkersZero", WithFunction("    max_workers: 0\n"),
                  "functions[0].max_workers: must be between 1 and 1024, got 0"},
        Rejection{"MaxWorkersTooBig", WithFunction("    max_workers: 1025\n"),
                  "functions[0].max_workers: must be between 1 and 1024, got 1025"},
        Rejection{"MinAboveExplicitMax", WithFunction("    min_workers: 4\n    max_workers: 2\n"),
                  "functions[0].max_workers: must be >= min_workers (4), got 2"},
        Rejection{"MinAboveDefaultMax", WithFunction("    min_workers: 9\n"),
                  "functions[0].min_workers: must be <= max_workers (8"},
        Rejection{"NegativeTimeout", WithFunction("    timeout_ms: -1\n"),
                  "functions[0].timeout_ms: must be between 0 and 86400000, got -1"},
        Rejection{"PayloadZero", WithFunction("    max_payload_bytes: 0\n"),
                  "functions[0].max_payload_bytes: must be between 1 and 1073741824, got 0"},
        Rejection{"PayloadTooBig", WithFunction("    max_payload_bytes: 1073741825\n"),
                  "functions[0].max_payload_bytes: must be between 1 and 1073741824"},

        // Function identity and kind.
        Rejection{"MissingName", "functions:\n  - handler: echo.so\n",
                  "functions[0].name: required"},
        Rejection{"EmptyName", "functions:\n  - {name: '', handler: echo.so}\n",
                  "functions[0].name: invalid function name \"\""},
        Rejection{"BadNameChar", "functions:\n  - {name: 'a/b', handler: echo.so}\n",
                  "functions[0].name: invalid function name \"a/b\""},
        Rejection{"NameTooLong",
                  "functions:\n  - {name: " + std::string(65, 'x') + ", handler: echo.so}\n",
                  "functions[0].name: invalid function name"},
        Rejection{"NullName", "functions:\n  - {name: ~, handler: echo.so}\n",
                  "functions[0].name: expected a string, got null"},
        Rejection{"RuntimeUnknown", WithFunction("    runtime: ruby\n"),
                  "functions[0].runtime: unsupported runtime \"ruby\"; expected \"cpp\", "
                  "\"python\", \"node\" or \"go\""},
        Rejection{"PythonHandlerWithoutFunction", WithFunction("    runtime: python\n"),
                  "functions[0].handler: expected \"path/to/file.py:function\" for runtime "
                  "\"python\""},
        Rejection{
            "CppWithInterpreter", WithFunction("    interpreter: /usr/bin/python3\n"),
            "functions[0].interpreter: only runtimes \"python\" and \"node\" take an interpreter"},
        Rejection{
            "GoWithInterpreter", WithFunction("    runtime: go\n    interpreter: /bin/sh\n"),
            "functions[0].interpreter: only runtimes \"python\" and \"node\" take an interpreter"},
        Rejection{"GoHandlerNotExecutable", WithFunction("    runtime: go\n"),
                  "is not executable; runtime \"go\" takes the binary"},
        Rejection{"GoHandlerMissing", "functions:\n  - {name: g, runtime: go, handler: nope}\n",
                  "does not exist; runtime \"go\" takes the built binary"},
        Rejection{"CppWithSlots", WithFunction("    slots_per_process: 2\n"),
                  "functions[0].slots_per_process: runtime \"cpp\" runs one worker per process"},
        Rejection{"SlotsZero", WithFunction("    slots_per_process: 0\n"),
                  "functions[0].slots_per_process: must be between 1 and"},
        Rejection{"IsolationUnknown", WithFunction("    isolation: vm\n"),
                  "functions[0].isolation: must be \"process\" or \"container\", got \"vm\""},
        Rejection{"EngineIsolationUnknown", WithSection("engine: {isolation: jail}\n"),
                  "engine.isolation: must be \"process\" or \"container\", got \"jail\""},
        Rejection{"LimitsWithoutContainer", WithFunction("    limits: {memory_mb: 64}\n"),
                  "functions[0].limits: needs isolation: container"},
        Rejection{"RootfsWithoutContainer", WithFunction("    rootfs: /\n"),
                  "functions[0].rootfs: needs isolation: container"},
        Rejection{"LimitsUnknownKey",
                  WithFunction("    isolation: container\n    limits: {memory: 64}\n"),
                  "functions[0].limits.memory: unknown key"},
        Rejection{"LimitsMemoryTooSmall",
                  WithFunction("    isolation: container\n    limits: {memory_mb: 1}\n"),
                  "functions[0].limits.memory_mb: must be between 4 and"},
        Rejection{"LimitsCpusZero",
                  WithFunction("    isolation: container\n    limits: {cpus: 0}\n"),
                  "functions[0].limits.cpus: expected a number in (0, "},
        Rejection{"LimitsCpusTooSmall",
                  WithFunction("    isolation: container\n    limits: {cpus: 0.001}\n"),
                  "functions[0].limits.cpus: must be at least 0.01, got \"0.001\""},
        Rejection{"RootfsMissing",
                  WithFunction("    isolation: container\n    rootfs: /nonexistent/root\n"),
                  "functions[0].rootfs: rootfs \"/nonexistent/root\" is not a directory"},
        Rejection{"RuncRelative", WithSection("engine: {runc: runc}\n"),
                  "engine.runc: must be an absolute path"},
        Rejection{"MissingHandler", "functions:\n  - name: echo\n",
                  "functions[0].handler: required for runtime \"cpp\""},
        Rejection{"EmptyHandler", "functions:\n  - {name: echo, handler: ''}\n",
                  "functions[0].handler: must not be empty"},

        // Gateway ranges.
        Rejection{"HttpPortNegative", WithSection("gateway: {http_port: -1}\n"),
                  "gateway.http_port: must be between 0 and 65535, got -1"},
        Rejection{"HttpPortTooBig", WithSection("gateway: {http_port: 65536}\n"),
                  "gateway.http_port: must be between 0 and 65535, got 65536"},
        Rejection{"EnginePortNotInteger", WithSection("gateway: {engine_port: http}\n"),
                  "gateway.engine_port: expected an integer, got \"http\""},
        Rejection{"EmptyHost", WithSection("gateway: {host: ''}\n"),
                  "gateway.host: must not be empty"},
        Rejection{"HeaderBytesTooSmall", WithSection("gateway: {max_header_bytes: 1023}\n"),
                  "gateway.max_header_bytes: must be between 1024 and 1048576, got 1023"},
        Rejection{"HeaderBytesTooBig", WithSection("gateway: {max_header_bytes: 1048577}\n"),
                  "gateway.max_header_bytes: must be between 1024 and 1048576, got 1048577"},
        Rejection{"BodyBytesZero", WithSection("gateway: {max_body_bytes: 0}\n"),
                  "gateway.max_body_bytes: must be >= 1, got 0"},
        Rejection{"IdleTimeoutZero", WithSection("gateway: {idle_timeout_ms: 0}\n"),
                  "gateway.idle_timeout_ms: must be between 1 and 86400000, got 0"},
        Rejection{"MaxConnectionsZero", WithSection("gateway: {max_connections: 0}\n"),
                  "gateway.max_connections: must be >= 1, got 0"},

        // Engine ranges.
        Rejection{"IoThreadsZero", WithSection("engine: {io_threads: 0}\n"),
                  "engine.io_threads: must be between 1 and 64, got 0"},
        Rejection{"IoThreadsTooMany", WithSection("engine: {io_threads: 65}\n"),
                  "engine.io_threads: must be between 1 and 64, got 65"},
        Rejection{"DefaultTimeoutZero", WithSection("engine: {default_timeout_ms: 0}\n"),
                  "engine.default_timeout_ms: must be between 1 and 86400000, got 0"},
        Rejection{"DefaultTimeoutNegative", WithSection("engine: {default_timeout_ms: -5}\n"),
                  "engine.default_timeout_ms: must be between 1 and 86400000, got -5"},
        Rejection{"MaxQueueZero", WithSection("engine: {max_queue: 0}\n"),
                  "engine.max_queue: must be >= 1, got 0"},
        Rejection{"IpcRootRelative", WithSection("engine: {ipc_root: run/nj}\n"),
                  "engine.ipc_root: must be an absolute path, got \"run/nj\""},
        Rejection{"IpcRootEmpty", WithSection("engine: {ipc_root: ''}\n"),
                  "engine.ipc_root: must not be empty"},
        Rejection{"GatewayNoPort", WithSection("engine: {gateway: localhost}\n"),
                  "engine.gateway: expected \"host:port\", got \"localhost\""},
        Rejection{"GatewayNoHost", WithSection("engine: {gateway: ':10007'}\n"),
                  "engine.gateway: expected \"host:port\""},
        Rejection{"GatewayPortZero", WithSection("engine: {gateway: 'h:0'}\n"),
                  "engine.gateway: port must be between 1 and 65535"},
        Rejection{"GatewayPortWord", WithSection("engine: {gateway: 'h:http'}\n"),
                  "engine.gateway: port must be between 1 and 65535"},
        Rejection{"GatewayUnbracketedV6", WithSection("engine: {gateway: '::1:80'}\n"),
                  "engine.gateway: expected \"host:port\" (bracket IPv6 hosts)"}),
    [](const ::testing::TestParamInfo<Rejection>& info) { return std::string(info.param.label); });

}  // namespace
}  // namespace nightjar::config

namespace nightjar::config {
namespace {

TEST_F(ConfigTest, GrpcServiceIsFoundByItsPrefixedName) {
  Result<Config> r = Parse(R"(
gateway: {h2_max_concurrent_streams: 7}
functions:
  - {name: greeter, handler: echo.so, grpc: helloworld.Greeter}
  - {name: plain, handler: echo.so}
)");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Config& c = *r;
  EXPECT_EQ(c.gateway.h2_max_concurrent_streams, 7u);
  EXPECT_EQ(c.functions[0].grpc, "helloworld.Greeter");
  EXPECT_EQ(c.Find("grpc:helloworld.Greeter"), &c.functions[0]);
  EXPECT_EQ(c.Find("greeter"), &c.functions[0]);
  EXPECT_EQ(c.Find("grpc:plain"), nullptr);
  EXPECT_EQ(c.Find("grpc:"), nullptr);
  EXPECT_EQ(c.Find("helloworld.Greeter"), nullptr);
}

TEST_F(ConfigTest, BadGrpcServicesAreRejectedNamingTheKey) {
  for (const char* bad : {"''", "Greeter.", ".Greeter", "a..b", "1a.B", "a.b-c", "'a b'", "a/b"}) {
    EXPECT_THAT(ParseError(std::string("functions:\n  - {name: a, handler: echo.so, grpc: ") + bad +
                           "}\n"),
                ::testing::HasSubstr("functions[0].grpc: invalid gRPC service name"))
        << bad;
  }
  EXPECT_THAT(ParseError("functions:\n  - {name: a, handler: echo.so, grpc: x.S}\n"
                         "  - {name: b, handler: echo.so, grpc: x.S}\n"),
              ::testing::HasSubstr("functions[1].grpc: gRPC service \"x.S\" is already served by "
                                   "functions[0]"));
  EXPECT_THAT(ParseError("gateway: {h2_max_concurrent_streams: 0}\nfunctions:\n"
                         "  - {name: a, handler: echo.so}\n"),
              ::testing::HasSubstr("gateway.h2_max_concurrent_streams"));
}

}  // namespace
}  // namespace nightjar::config
