// nightjar_bench_grpc: the gRPC floor (DESIGN.md §11). gRPC C++ unary calls over a Unix
// socket, 1 KB request and 1 KB response, one at a time, timed by the client.
//
//   nightjar_bench_grpc --socket PATH --warmup N --samples N --bytes B --out FILE
//   nightjar_bench_grpc --connect HOST:PORT ...   (a client of a server elsewhere: the gateway)
//
// Forks a synchronous gRPC server (before gRPC is initialized in either process), connects
// a client stub to unix:PATH, runs warmup + samples calls and writes the samples' round-trip
// times as little-endian uint32 nanoseconds to FILE. Exit code 0 on success, 1 with a
// message on stderr otherwise. Kept out of the main harness so that gRPC's threads never
// meet the harness's fork()s, and so the slow-to-compile gRPC code builds once.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "echo.grpc.pb.h"

namespace {

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

class EchoService final : public nightjar::bench::Echo::Service {
  grpc::Status Echo(grpc::ServerContext*, const nightjar::bench::EchoMessage* request,
                    nightjar::bench::EchoMessage* reply) override {
    reply->set_payload(request->payload());
    return grpc::Status::OK;
  }
};

[[noreturn]] void Serve(const std::string& address) {
  EchoService service;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::fprintf(stderr, "nightjar_bench_grpc: cannot listen on %s\n", address.c_str());
    std::_Exit(1);
  }
  server->Wait();
  std::_Exit(0);
}

int Fail(const std::string& why, pid_t server) {
  std::fprintf(stderr, "nightjar_bench_grpc: %s\n", why.c_str());
  if (server > 0) {
    ::kill(server, SIGKILL);
    ::waitpid(server, nullptr, 0);
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path, out_path, connect;
  long warmup = 1000, samples = 10000, bytes = 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--socket")
      socket_path = argv[i + 1];
    else if (flag == "--out")
      out_path = argv[i + 1];
    else if (flag == "--warmup")
      warmup = std::atol(argv[i + 1]);
    else if (flag == "--samples")
      samples = std::atol(argv[i + 1]);
    else if (flag == "--bytes")
      bytes = std::atol(argv[i + 1]);
    else if (flag == "--connect")
      connect = argv[i + 1];
    else
      return Fail("unknown flag " + flag, -1);
  }
  if ((socket_path.empty() == connect.empty()) || out_path.empty() || samples <= 0 ||
      warmup < 0 || bytes < 0) {
    return Fail("usage: --socket PATH | --connect HOST:PORT, --out FILE [--warmup N] "
                "[--samples N] [--bytes B]",
                -1);
  }
  // --connect: a client only, of a server elsewhere (the Nightjar gateway, whose function
  // may answer with an empty message: the reply size is then not checked).
  const bool client_only = !connect.empty();
  if (!client_only) ::unlink(socket_path.c_str());
  const std::string address = client_only ? connect : "unix:" + socket_path;

  const pid_t parent = ::getpid();
  const pid_t server = client_only ? 0 : ::fork();
  if (server < 0) return Fail("fork failed", -1);
  if (server == 0 && !client_only) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) std::_Exit(1);
    Serve(address);
  }

  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(20))) {
    return Fail("server at " + address + " did not come up within 20 s", server);
  }
  auto stub = nightjar::bench::Echo::NewStub(channel);
  nightjar::bench::EchoMessage request, reply;
  request.set_payload(std::string(static_cast<size_t>(bytes), 'g'));

  std::vector<uint32_t> rtt;
  rtt.reserve(static_cast<size_t>(samples));
  for (long i = 0; i < warmup + samples; ++i) {
    grpc::ClientContext context;
    const int64_t t0 = NowNs();
    const grpc::Status st = stub->Echo(&context, request, &reply);
    const int64_t t1 = NowNs();
    if (!st.ok()) return Fail("call failed: " + st.error_message(), server);
    if (!client_only && reply.payload().size() != request.payload().size()) {
      return Fail("short reply", server);
    }
    if (i >= warmup) rtt.push_back(static_cast<uint32_t>(std::min<int64_t>(t1 - t0, UINT32_MAX)));
  }

  if (!client_only) {
    ::kill(server, SIGTERM);
    ::waitpid(server, nullptr, 0);
    ::unlink(socket_path.c_str());
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(rtt.data()),
            static_cast<std::streamsize>(rtt.size() * sizeof(uint32_t)));
  if (!out) return Fail("cannot write " + out_path, -1);
  return 0;
}
