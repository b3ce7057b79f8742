// Scenario "h2": external calls of nop over HTTP/2 and gRPC through the gateway, next to
// the same over HTTP/1.1, with the same clients where one exists for both (issue 13):
//   external.nop.grpc         gRPC C++ unary calls (nightjar_bench_grpc --connect, generated
//                             stub, empty request) to /nightjar.bench.Echo/Echo, which the
//                             standard deployment's nop function serves; one at a time
//   external.nop.h2           POST /function/nop over HTTP/2 (h2c, prior knowledge), one at a
//                             time, timed by h2load (--log-file: one sample per request)
//   external.nop.h1           the same with h2load --h1 (HTTP/1.1 keep-alive): same client,
//                             so the two differ only in the protocol
//   external.nop.h2.max_rate  h2load's closed-loop throughput, 4 connections x 16 streams
//                             (not an SLO-bound open-loop rate like external.nop.max_rate)
// The gRPC C++ floor (floor.grpc_uds_rtt_1k) comes from scenario "grpc". Parts whose tool is
// missing (h2load: nghttp2-client; nightjar_bench_grpc: gRPC C++) are skipped with a note.
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "scenario.h"
#include "util.h"

namespace nightjar::bench {

namespace {

// h2load's --log-file: "<start time>\t<status>\t<duration in us>" per request. Fails when a
// request did not get 200.
Status RecordH2loadLog(const std::string& path, Histogram* h) {
  std::ifstream in(path);
  if (!in) return Internal("no h2load log at " + path);
  std::string line;
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    double start = 0, us = 0;
    int status = 0;
    if (!(fields >> start >> status >> us)) continue;
    if (status != 200) return Internal("h2load: a request got status " + std::to_string(status));
    h->Record(static_cast<uint64_t>(us * 1000));
  }
  return h->count() > 0 ? Status::Ok() : Internal("h2load logged no request");
}

Status MeasureH2load(BenchContext& ctx, Deployment& d, bool h1, const std::string& name) {
  const std::string dir = ctx.options().work_dir;
  const std::string body = dir + "/h2load_body";
  std::ofstream(body) << "x";
  const std::string log = dir + "/" + name + ".log";
  ::unlink(log.c_str());
  const size_t n = ctx.Count(20000, 3000);
  std::vector<std::string> argv = {"h2load", "-n", std::to_string(n), "-c", "1", "-m", "1",
                                   "-d",     body, "--log-file",      log};
  if (h1) argv.push_back("--h1");
  argv.push_back("http://" + d.host() + ":" + std::to_string(d.port()) + "/function/nop");
  // A warm-up run first (connections, workers, caches), then the measured one.
  std::vector<std::string> warm = argv;
  warm[2] = std::to_string(n / 5);
  NJ_RETURN_IF_ERROR(RunProcess(warm, dir + "/h2load.out", 300));
  ::unlink(log.c_str());
  NJ_RETURN_IF_ERROR(RunProcess(argv, dir + "/h2load.out", 300));
  Histogram h;
  NJ_RETURN_IF_ERROR(RecordH2loadLog(log, &h));
  ctx.results().AddLatency(name, h);
  ctx.Log(name + ": p50 " + std::to_string(h.ValueAtPercentile(50) / 1000) + " us");
  return Status::Ok();
}

Status MeasureH2Rate(BenchContext& ctx, Deployment& d) {
  const std::string dir = ctx.options().work_dir;
  const std::string body = dir + "/h2load_body";
  const std::string out = dir + "/h2load_rate.out";
  ::unlink(out.c_str());
  NJ_RETURN_IF_ERROR(RunProcess(
      {"h2load", "-n", std::to_string(ctx.Count(200000, 20000)), "-c", "4", "-m", "16", "-d", body,
       "http://" + d.host() + ":" + std::to_string(d.port()) + "/function/nop"},
      out, 300));
  auto rate = ParseH2loadRate(ReadWholeFile(out));
  if (!rate.ok()) return rate.status();
  ctx.results().AddValue("external.nop.h2.max_rate", "calls/s", *rate,
                         {{"connections", 4}, {"streams_per_connection", 16}});
  ctx.Log("external.nop.h2.max_rate: " + std::to_string(static_cast<int64_t>(*rate)) + "/s");
  return Status::Ok();
}

Status MeasureGrpc(BenchContext& ctx, Deployment& d) {
  const std::string dir = ctx.options().work_dir;
  const std::string out = dir + "/grpc_gateway_samples.bin";
  NJ_RETURN_IF_ERROR(
      RunProcess({ctx.options().grpc_bin, "--connect", d.host() + ":" + std::to_string(d.port()),
                  "--out", out, "--warmup", std::to_string(ctx.Count(5000, 1000)), "--samples",
                  std::to_string(ctx.Count(20000, 3000)), "--bytes", "0"},
                 dir + "/grpc_gateway.log", 300));
  Histogram h;
  NJ_RETURN_IF_ERROR(RecordSamples(ReadWholeFile(out), &h));
  if (h.count() == 0) return Internal("nightjar_bench_grpc wrote no samples");
  ctx.results().AddLatency("external.nop.grpc", h);
  ctx.Log("external.nop.grpc: p50 " + std::to_string(h.ValueAtPercentile(50) / 1000) + " us");
  return Status::Ok();
}

}  // namespace

Status RunH2(BenchContext& ctx) {
  auto d = ctx.Deploy();
  if (!d.ok()) return d.status();
  Deployment& dep = **d;
  if (!ctx.options().grpc_bin.empty() && ::access(ctx.options().grpc_bin.c_str(), X_OK) == 0) {
    NJ_RETURN_IF_ERROR(MeasureGrpc(ctx, dep));
  } else {
    ctx.Log("h2: external.nop.grpc skipped: nightjar_bench_grpc was not built");
  }
  if (!OnPath("h2load")) {
    ctx.Log("h2: h2load not found (Debian: nghttp2-client): external.nop.h2* skipped");
    return Status::Ok();
  }
  NJ_RETURN_IF_ERROR(MeasureH2load(ctx, dep, /*h1=*/false, "external.nop.h2"));
  NJ_RETURN_IF_ERROR(MeasureH2load(ctx, dep, /*h1=*/true, "external.nop.h1"));
  return MeasureH2Rate(ctx, dep);
}

}  // namespace nightjar::bench
