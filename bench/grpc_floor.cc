// Scenario "grpc": the gRPC floor, floor.grpc_uds_rtt_1k -- gRPC C++ unary calls over a
// Unix socket with a 1 KB payload each way, measured by nightjar_bench_grpc
// (bench/grpc/grpc_pingpong.cc) in its own processes. Skipped, with a note, when the build
// found no gRPC (the harness's other results are unaffected).
#include <unistd.h>

#include "scenario.h"
#include "util.h"

namespace nightjar::bench {

Status RunGrpcFloor(BenchContext& ctx) {
  if (ctx.options().grpc_bin.empty() || ::access(ctx.options().grpc_bin.c_str(), X_OK) != 0) {
    ctx.Log(
        "grpc: skipped: nightjar_bench_grpc was not built (install libgrpc++-dev and "
        "protobuf-compiler-grpc, then rebuild)");
    return Status::Ok();
  }
  const std::string dir = ctx.options().work_dir;
  const std::string out = dir + "/grpc_samples.bin";
  const std::string socket = "/tmp/nightjar-bench-" + std::to_string(::getpid()) + "-grpc.sock";
  NJ_RETURN_IF_ERROR(RunProcess({ctx.options().grpc_bin, "--socket", socket, "--out", out,
                                 "--warmup", std::to_string(ctx.Count(5000, 1000)), "--samples",
                                 std::to_string(ctx.Count(100000, 10000)), "--bytes", "1024"},
                                dir + "/grpc.log", 300));
  Histogram h;
  NJ_RETURN_IF_ERROR(RecordSamples(ReadWholeFile(out), &h));
  if (h.count() == 0) return Internal("nightjar_bench_grpc wrote no samples");
  ctx.results().AddLatency("floor.grpc_uds_rtt_1k", h);
  return Status::Ok();
}

}  // namespace nightjar::bench
