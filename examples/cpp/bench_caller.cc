// bench_caller: times internal calls from inside a function (the harness in bench/ reads
// the samples; docs/performance.md describes the method).
//
// Input: "callee=<name> n=<calls> [bytes=<input size>] [arg=<input prefix>] [fanout=<k>]".
// Makes `n` sequential rounds; each round invokes `callee` with an input of `bytes` bytes
// that starts with `arg` (blocking Invoke when fanout is 1; with fanout k > 1, k
// InvokeAsync calls then k Waits) and times the round with CLOCK_MONOTONIC around the
// invoke(s) only. Output: n little-endian uint32 round times in ns (over 936 bytes it
// travels through shared memory, transparently). Fails with NJ_ERR_FUNCTION on bad input
// or on the first failed child (the message names the round and the child's status).
#include <nightjar/function.hpp>
#include <string>
#include <vector>

#include "bench_util.h"

namespace {

using nightjar::bench_fn::Args;
using nightjar::bench_fn::NowNs;

constexpr uint64_t kMaxCalls = 10'000'000;
constexpr uint64_t kMaxBytes = 64ull << 20;
constexpr uint64_t kMaxFanout = 64;

nj_status Fail(nightjar::Context& ctx, const std::string& message) {
  ctx.SetError("bench_caller: " + message);
  return NJ_ERR_FUNCTION;
}

nj_status ChildFailed(nightjar::Context& ctx, uint64_t round, const nightjar::InvokeResult& r) {
  std::string message =
      "round " + std::to_string(round) + " failed: " + std::string(nightjar::StatusName(r.status));
  if (!r.output.empty()) message += ": " + std::string(r.output);
  return Fail(ctx, message);
}

nj_status Caller(nightjar::Context& ctx, std::string_view input) {
  const Args args(input);
  const auto callee = args.Get("callee");
  const auto n = args.Number("n", 1, kMaxCalls);
  const auto bytes = args.Number("bytes", 0, kMaxBytes);
  const auto fanout = args.Number("fanout", 1, kMaxFanout);
  if (!callee || callee->empty() || !n || !bytes || !fanout || *fanout == 0) {
    return Fail(ctx,
                "input must be callee=<name> n=<calls> [bytes=<size>] [arg=<prefix>] "
                "[fanout=<k>]");
  }
  const std::string name(*callee);
  const std::string child_input =
      nightjar::bench_fn::MakeInput(args.Get("arg").value_or(""), *bytes);

  std::string samples;
  samples.reserve(*n * 4);
  std::vector<nightjar::InvokeHandle> handles(*fanout);
  for (uint64_t round = 0; round < *n; ++round) {
    const int64_t start = NowNs();
    if (*fanout == 1) {
      const nightjar::InvokeResult r = ctx.Invoke(name, child_input);
      const int64_t end = NowNs();
      if (!r.ok()) return ChildFailed(ctx, round, r);
      nightjar::bench_fn::AppendSample(&samples, end - start);
      continue;
    }
    for (auto& h : handles) h = ctx.InvokeAsync(name, child_input);
    nj_status failed = NJ_OK;
    nightjar::InvokeResult first_failure;
    for (const auto& h : handles) {  // wait for every child, even after a failure
      const nightjar::InvokeResult r = ctx.Wait(h);
      if (!r.ok() && failed == NJ_OK) {
        failed = r.status;
        first_failure = r;
      }
    }
    const int64_t end = NowNs();
    if (failed != NJ_OK) return ChildFailed(ctx, round, first_failure);
    nightjar::bench_fn::AppendSample(&samples, end - start);
  }
  return ctx.Append(samples);
}

}  // namespace

NIGHTJAR_FUNCTION(Caller)
