// Measurement loops shared by the call scenarios (internal_calls.cc, external_calls.cc,
// runtime_calls.cc): driving the bench functions (examples/cpp/bench_*.cc and their Python
// twin examples/python/bench_caller.py) and timing sequential HTTP calls, so that every
// language and direction is measured the same way.
// Thread rule: the harness's thread (scenarios run one after another).
#pragma once

#include <sys/types.h>

#include <string>

#include "base/histogram.h"
#include "base/status.h"
#include "http_client.h"
#include "scenario.h"

namespace nightjar::bench {

// Runs `total` rounds of the timing caller `caller` (bench_caller or py-bench_caller) with
// `args` (its input without n=), `batch` rounds per HTTP call, recording the caller's
// per-round samples into *h. Fails on a transport error or when the caller answers anything
// but 200 (its message says which round failed and why).
Status CallerRounds(HttpClient& http, const std::string& caller, const std::string& args,
                    size_t total, size_t batch, Histogram* h);

// One timed batch of `calls` rounds of `caller` with `args`: adds latency result `name`
// and "cpu.<name>" (CPU-us of the process tree `tree` per round over the batch). Fails as
// CallerRounds, or when `tree` cannot be read.
Status MeasureCallerBatch(BenchContext& ctx, HttpClient& http, pid_t tree,
                          const std::string& caller, const std::string& args, size_t calls,
                          const std::string& name);

// Sequential keep-alive `POST /function/<function>` with an empty body, one at a time:
// `warmup` discarded calls, then `calls` timed ones from send to full response. Adds
// latency result `name` and `cpu_name` (CPU-us of the deployment's tree per call). Fails
// on a transport error or a status other than 200.
Status MeasureSequentialHttp(BenchContext& ctx, Deployment& d, const std::string& function,
                             size_t warmup, size_t calls, const std::string& name,
                             const std::string& cpu_name);

struct RateRun {
  double calls_per_s = 0;
  double cpu_us_per_call = 0;
  size_t window = 0;
};

// One bench_rate run: `calls` calls to `callee` with `window` outstanding, and the CPU the
// process tree `tree` used for them. Fails on a transport error or a bad answer.
Result<RateRun> RateOnce(HttpClient& http, pid_t tree, const std::string& callee, size_t window,
                         size_t calls);

// The maximum call rate bench_rate reaches on `callee`: for each window (1, 4, 8, 16; quick:
// 4, 16) a short probe sizes a run of about 3 s (quick: 1 s). Adds "<name>.rate.w<k>" per
// window, "<name>.max_rate" (the best) and "cpu.<name>.at_max_rate"; returns the best run.
Result<RateRun> MeasureMaxRate(BenchContext& ctx, HttpClient& http, pid_t tree,
                               const std::string& callee, const std::string& name);

}  // namespace nightjar::bench
