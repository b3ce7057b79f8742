// Engine: one per host (DESIGN.md §2, §4, §5). Owns the message channels to every local
// worker, one Dispatcher per function, the launchers, and the table of calls in flight.
// Internal calls are served entirely here: a worker's INVOKE is dispatched to the callee
// and the callee answers the caller directly (3 pipe hops), sending the engine only an
// accounting notice.
//
// Thread rules: SubmitExternal() must be called on one of the engine's I/O loops (the
// in-process gateway and the gateway link both run there). Start/WaitReady/Stop are for
// the owning (main) thread; Stop() must run while the loops are still running. Every
// other public method is an internal callback, documented where it is declared.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "engine/call_table.h"
#include "engine/dispatcher.h"
#include "engine/engine_metrics.h"
#include "engine/tracer.h"
#include "engine/log_capture.h"
#include "engine/worker_channel.h"
#include "io/event_loop.h"
#include "ipc/ipc_root.h"
#include "ipc/payload_arena.h"

namespace nightjar::engine {

class LauncherPool;

struct EngineOptions {
  std::string ipc_root_base;  // the instance directory is created under it
  std::string self_exe;       // binary that implements `launcher` and `worker`
  LogEcho worker_log_echo = LogEcho::kStderrOutsideCalls;  // `--worker-logs`
};

class Engine {
 public:
  Engine(const config::Config& config, EngineOptions options, io::LoopThreads* loops);
  ~Engine();

  // Creates the IPC root, starts launchers and the initial workers. Fails if the IPC
  // root or the launcher socket cannot be created.
  Status Start();
  // Waits until every function has its initial workers ready. Fails with
  // kDeadlineExceeded naming a function that is not ready.
  Status WaitReady(int64_t timeout_ms);
  // Answers every call in flight (kUnavailable), stops launchers and workers, removes
  // the IPC root. Idempotent.
  void Stop();

  // Accepts an external call. `done` is called exactly once, on an engine loop thread
  // (possibly before SubmitExternal returns). timeout_ms <= 0 uses the function's.
  // `trace`: the request's trace context (a parsed traceparent); without a trace id the
  // call starts a new trace (random id, sampled).
  void SubmitExternal(std::string_view function, std::string_view input, int64_t timeout_ms,
                      const proto::TraceContext& trace, ExternalDone done);
  // The admission checks of SubmitExternal without submitting: kOk, or kNotFound /
  // kUnavailable (shutting down) / kTooLarge with *message. Any thread.
  proto::CallStatus Precheck(std::string_view function, uint64_t input_bytes,
                             std::string* message) const;
  const config::Config& config() const { return config_; }
  // Per-function pool, queue, target, smoothed rate and running time, call counters.
  // Any thread. (status.cc)
  std::string StatusJson();
  std::string StatusText();
  // The engine's nightjar_* metrics in the Prometheus text format (engine_metrics.cc);
  // empty when engine.metrics is false. Any thread.
  std::string MetricsText();
  // Workers' captured output (GET /logs/<function>). Any thread; lives as long as the engine.
  const LogCapture& logs() const { return *logs_; }

  // --- internal callbacks ---
  // A message from a worker's output pipe. Runs on the channel's loop.
  void OnWorkerMessage(WorkerChannel* w, const proto::Message& msg);
  // The worker's output pipe hit EOF, or its launcher reported the exit. Any thread.
  // `start_failure`: a worker that had not said hello counts as a failed start (the
  // function backs off); false when its launcher died, which is not the function's fault.
  void OnWorkerGone(uint64_t channel, bool start_failure = true);
  // A launcher reported ready (connected). Loop 0.
  void OnLauncherReady(uint32_t function_id);
  // A function's launcher died. Workers it was asked to start and that have not said hello
  // never will: nobody else would report them, and a pool with a worker starting does not
  // grow, so they are removed now -- all but `queued` (start requests still waiting for
  // the next launcher). Loop 0.
  void OnLauncherGone(uint32_t function_id, const std::vector<uint64_t>& queued);
  // A launcher handed over the read ends of a worker process's stdout and stderr. Any thread.
  void OnWorkerLogs(uint32_t function_id, int32_t worker_id, int32_t pid, UniqueFd out,
                    UniqueFd err);
  std::shared_ptr<WorkerChannel> FindChannel(uint64_t channel);
  Dispatcher* dispatcher(uint32_t function_id) { return dispatchers_[function_id].get(); }

 private:
  void Admit(std::unique_ptr<CallRecord> rec, Dispatcher* d);
  void SendDispatch(Assignment a);
  // The worker finished call_id (0: it just said hello); `completed`: the call ran and its
  // running time is a sample for the estimate; `report` is what the worker said about it.
  void WorkerFree(const std::shared_ptr<WorkerChannel>& w, uint64_t call_id, bool completed,
                  const CallReport& report = {});
  void DispatchReady(Dispatcher* d);
  auto IsLive() {
    return [this](uint64_t id) { return calls_.Contains(id); };
  }
  // Answers call_id with an error if it is still in flight. `input_unread`: its callee
  // died, so its input payload is freed even though it was dispatched.
  void FailById(uint64_t call_id, proto::CallStatus status, std::string message,
                bool input_unread = false);
  // Whether a function's workers read and write payload arenas (native workers do; the
  // Python, Node.js and Go runtimes use regions).
  bool ReadsArenas(uint32_t function_id) const;
  // A channel's payload arena: created with the channel (native workers only), and kept
  // after the channel goes until no slot is in use or arena_linger_ns_ passed (the longest
  // function timeout: a caller may still read a completion its dead callee left there).
  void CreateArena(uint32_t function_id, uint64_t channel);
  void RetireArena(uint64_t channel);
  // Tick's share: removes retired arenas that are done, and frees slots of the engine's
  // arena whose call was answered and whose reader died (seen twice, a second apart).
  void ReapArenas(int64_t now_ns);
  void ChildFinished(const CallRecord& rec, WorkerChannel* caller);
  // Counts the answer, and records the call's span when spans are exported. `end_ns`: when
  // the call ended, if not now.
  void CountAnswer(const CallRecord& rec, proto::CallStatus status, int64_t end_ns = 0);
  // What an external caller is told about a call: status, id, trace, the timing the record
  // knows, and the worker's report when `complete` (its COMPLETE) is given.
  static proto::CallResult ResultOf(const CallRecord& rec, proto::CallStatus status,
                                    const proto::Message* complete);
  // Pool upkeep every few tens of ms on loop 0.
  void Tick();
  void RetireWorker(const std::shared_ptr<WorkerChannel>& w);
  // Answers a call with an error (external callback, or a COMPLETE to the caller).
  void Fail(std::unique_ptr<CallRecord> rec, proto::CallStatus status, std::string message);
  void DeliverCompletion(std::unique_ptr<CallRecord> rec, const proto::Message& msg);
  void ArmDeadline(CallRecord* rec);
  void CancelDeadline(CallRecord* rec);
  void OnDeadline(uint64_t call_id);
  void HandleInvoke(WorkerChannel* caller, const proto::Message& msg);
  // Direct dispatch (docs/architecture.md): a caller's DIRECT_NOTICE, a callee's
  // completion heard before it (kept until the notice comes), a FENCE_ACK.
  void HandleDirectNotice(WorkerChannel* caller, const proto::Message& msg);
  // A direct call's completion with no record yet: kept for the caller's notice. True if
  // kept; false with *rec set if the notice landed meanwhile, or if it cannot be kept.
  bool KeepEarlyCompletion(WorkerChannel* callee, const proto::Message& msg,
                           std::unique_ptr<CallRecord>* rec);
  void HandleFenceAck(WorkerChannel* w, const proto::Message& msg);
  void HandleDispatchReturned(WorkerChannel* w, const proto::Message& msg);
  // The caller on `worker_id` died: FENCE every worker one of its calls claimed.
  void FenceClaimsOf(uint16_t worker_id);
  void ExpireEarlyCompletions(int64_t now_ns);
  void HandleHello(WorkerChannel* w, const proto::Message& msg);
  // Starts what the dispatcher's pool policy asks for (initial pool, replacements, growth).
  void StartWorkers(uint32_t function_id);
  // Starts one worker; false if the engine is stopping or the channel cannot be made.
  bool StartWorker(Dispatcher* d);
  uint16_t AllocateWorkerId();
  void ReleaseWorkerId(uint16_t id, uint32_t last_counter);
  void NotifyReadyChanged();

  const config::Config& config_;
  EngineOptions options_;
  io::LoopThreads* loops_;
  std::optional<ipc::IpcRoot> root_;
  std::optional<ipc::ArenaMap> arenas_;            // every arena the engine can read
  std::shared_ptr<ipc::PayloadArena> engine_arena_;  // owner 0: external inputs
  struct RetiredArena {
    uint64_t channel;
    std::shared_ptr<ipc::PayloadArena> arena;
    int64_t until_ns;
  };
  std::mutex arenas_mu_;
  std::vector<RetiredArena> retired_arenas_;    // guarded by arenas_mu_
  std::vector<uint64_t> stale_engine_tags_;     // loop 0 (Tick): tag seen unanswered-for
  int64_t next_arena_sweep_ns_ = 0;             // loop 0
  int64_t arena_linger_ns_ = 0;                 // set in Start()
  std::vector<std::unique_ptr<Dispatcher>> dispatchers_;  // index = function id
  std::unique_ptr<EngineMetrics> metrics_;  // null when engine.metrics is false
  std::unique_ptr<LauncherPool> launchers_;
  std::unique_ptr<LogCapture> logs_;
  CallTable calls_;
  std::unique_ptr<Tracer> tracer_;  // null unless tracing.otlp_endpoint is set
  std::atomic<bool> stopping_{false};
  std::atomic<uint32_t> external_counter_{0};
  std::atomic<uint64_t> next_channel_{1};

  std::mutex channels_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<WorkerChannel>> channels_;

  // Direct calls whose callee answered before the caller's DIRECT_NOTICE was read:
  // what the completion said, and the full COMPLETE when the caller still needs it.
  struct EarlyCompletion {
    int64_t at_ns = 0;
    proto::CallStatus status = proto::CallStatus::kOk;
    bool forward = false;  // msg is a COMPLETE the caller has not received
    proto::Message msg;
  };
  std::mutex direct_mu_;  // taken before any Dispatcher's lock and the CallTable's
  std::unordered_map<uint64_t, EarlyCompletion> early_;  // guarded by direct_mu_

  std::mutex ids_mu_;
  std::vector<uint16_t> free_ids_;
  std::vector<uint32_t> next_counter_;  // per worker id: first counter its next user takes
  uint16_t max_id_ = 0;

  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
};

}  // namespace nightjar::engine
