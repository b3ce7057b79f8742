// bench_stage: the front function of the managed-concurrency burst benchmark
// (bench/burst.cc): a stage that fans out to two CPU-bound children (bench_spin) at once
// and waits for both. Input: the children's microseconds of work (passed on unchanged).
#include <nightjar/function.hpp>

#include <string>

namespace {

nj_status BenchStage(nightjar::Context& ctx, std::string_view input) {
  nightjar::InvokeHandle a = ctx.InvokeAsync("bench_spin", input);
  nightjar::InvokeHandle b = ctx.InvokeAsync("bench_spin", input);
  nightjar::InvokeResult ra = ctx.Wait(a);
  nightjar::InvokeResult rb = ctx.Wait(b);
  if (!ra.ok() || !rb.ok()) {
    ctx.SetError("bench_stage: child failed: " +
                 std::string(nightjar::StatusName(ra.ok() ? rb.status : ra.status)));
    return NJ_ERR_FUNCTION;
  }
  return NJ_OK;
}

}  // namespace

NIGHTJAR_FUNCTION(BenchStage)
