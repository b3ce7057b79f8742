// Engine implementation: start and stop, call admission, dispatch, deadlines, answers and
// the messages from workers (the worker pool's lifecycle is in worker_lifecycle.cc, direct
// dispatch in direct_dispatch.cc, arenas in arenas.cc). See engine.h and
// docs/architecture.md for the call paths.
#include "engine/engine.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "base/clock.h"
#include "base/logging.h"
#include "engine/http_post.h"
#include "engine/launcher_pool.h"
#include "ipc/channel.h"
#include "proto/function_directory.h"

namespace nightjar::engine {

using ipc::PayloadKind;
using proto::CallId;
using proto::CallStatus;
using proto::Message;
using proto::MessageType;

Engine::Engine(const config::Config& config, EngineOptions options, io::LoopThreads* loops)
    : config_(config),
      options_(std::move(options)),
      loops_(loops),
      logs_(std::make_unique<LogCapture>(config_, loops_, options_.worker_log_echo)) {
  dispatchers_.resize(config_.functions.size() + 1);
  PoolOptions pool = PoolOptions::From(config_.engine);
  for (const auto& f : config_.functions) {
    dispatchers_[f.id] = std::make_unique<Dispatcher>(f, pool);
  }
  if (config_.engine.metrics) metrics_ = std::make_unique<EngineMetrics>(dispatchers_.size());
}

Engine::~Engine() { Stop(); }

Status Engine::Start() {
  if (int n = ipc::IpcRoot::SweepStale(options_.ipc_root_base); n > 0) {
    NJ_LOG(kWarning) << "removed " << n << " instance director" << (n == 1 ? "y" : "ies")
                     << " left under " << options_.ipc_root_base << " by engines that were killed";
  }
  auto root = ipc::IpcRoot::Create(options_.ipc_root_base);
  if (!root.ok()) return root.status();
  root_.emplace(std::move(*root));
  // No bound: the engine maps the arena of every live channel it made.
  arenas_.emplace(*root_, SIZE_MAX);
  auto arena = ipc::PayloadArena::Create(root_->ArenaPath(0), ipc::PayloadArena::kEngineSlots);
  if (!arena.ok()) return arena.status();
  engine_arena_ = std::move(*arena);
  arenas_->Add(0, engine_arena_);
  stale_engine_tags_.assign(engine_arena_->slots(), 0);
  for (const auto& f : config_.functions) {
    arena_linger_ns_ = std::max(arena_linger_ns_, config_.TimeoutMs(f) * 1'000'000);
  }
  proto::FunctionDirectory dir;
  for (const auto& f : config_.functions) {
    dir.Add(f.id, f.name);
    // A gRPC service is also callable by "grpc:<service>" (src/gateway/grpc.h).
    if (!f.grpc.empty()) dir.Add(f.id, "grpc:" + f.grpc);
  }
  {
    std::ofstream out(root_->FunctionDirectoryPath());
    out << dir.Serialize();
    if (!out) return Internal("cannot write " + root_->FunctionDirectoryPath());
  }
  if (config_.engine.direct_dispatch) {
    for (const auto& f : config_.functions) {
      if (!ReadsArenas(f.id)) continue;  // native functions only (docs/architecture.md)
      auto board = ipc::DispatchBoard::Create(
          root_->BoardPath(f.id), std::min(f.max_workers, ipc::DispatchBoard::kMaxSlots),
          config_.TimeoutMs(f), f.max_payload_bytes);
      if (!board.ok()) return board.status();
      dispatchers_[f.id]->SetBoard(std::move(*board));
    }
  }
  if (!config_.tracing.otlp_endpoint.empty()) {
    if (auto url = ParseHttpUrl(config_.tracing.otlp_endpoint); !url.ok()) {
      return InvalidArgument("tracing.otlp_endpoint: " + url.status().message());
    }
    std::vector<std::string> names(dispatchers_.size());
    for (const auto& f : config_.functions) names[f.id] = f.name;
    tracer_ = std::make_unique<Tracer>(config_.tracing.otlp_endpoint, config_.tracing.service_name,
                                       std::move(names));
    tracer_->Start();
  }
  launchers_ =
      std::make_unique<LauncherPool>(this, config_, *root_, options_.self_exe, loops_->loop(0));
  NJ_RETURN_IF_ERROR(launchers_->Start());
  for (const auto& f : config_.functions) StartWorkers(f.id);
  loops_->loop(0)->Post([this] { Tick(); });
  return Status::Ok();
}

Status Engine::WaitReady(int64_t timeout_ms) {
  // A function that keeps crashing at start does not hold the others back: it is
  // reported and its calls fail fast (503) until a worker comes up.
  auto all_ready = [&]() -> const config::FunctionConfig* {
    for (const auto& f : config_.functions) {
      int want = static_cast<int>(std::max<uint32_t>(f.min_workers, 1));
      Dispatcher* d = dispatchers_[f.id].get();
      if (d->ready_workers() < want && !d->crash_looping(MonotonicNowNs())) return &f;
    }
    return nullptr;
  };
  std::unique_lock<std::mutex> lock(ready_mu_);
  if (ready_cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                         [&] { return all_ready() == nullptr; })) {
    for (const auto& f : config_.functions) {
      if (dispatchers_[f.id]->crash_looping(MonotonicNowNs())) {
        NJ_LOG(kError) << "function " << f.name
                       << " keeps crashing at start; its calls fail with 503 until it recovers";
      }
    }
    return Status::Ok();
  }
  const config::FunctionConfig* f = all_ready();
  return Status(StatusCode::kDeadlineExceeded,
                "function " + (f ? f->name : std::string("?")) + " has no ready worker after " +
                    std::to_string(timeout_ms) + " ms (see the worker's log lines above)");
}

void Engine::NotifyReadyChanged() {
  std::lock_guard<std::mutex> lock(ready_mu_);
  ready_cv_.notify_all();
}

void Engine::Stop() {
  if (stopping_.exchange(true) || !root_) return;
  // Every call still in flight gets its one answer, on a loop thread like any other.
  for (auto& rec : calls_.TakeAll()) {
    std::shared_ptr<CallRecord> shared(rec.release());
    io::EventLoop* loop = shared->timer_loop ? shared->timer_loop : loops_->loop(0);
    loop->Post([this, shared] {
      CancelDeadline(shared.get());
      Fail(std::make_unique<CallRecord>(std::move(*shared)), CallStatus::kUnavailable,
           "engine is shutting down");
    });
  }
  if (launchers_) launchers_->Stop();
  logs_->Stop();
  // Close every channel on its own loop and wait for that to finish.
  std::vector<std::shared_ptr<WorkerChannel>> channels;
  {
    std::lock_guard<std::mutex> lock(channels_mu_);
    for (auto& [id, ch] : channels_) channels.push_back(ch);
    channels_.clear();
  }
  for (auto& ch : channels) ch->loop()->RunAndWait([&] { ch->Close(*root_); });
  root_->RemoveAll();
  // Last: the answers above were posted to the loops, which may still record spans; a
  // stopped tracer only queues them (nothing exports them any more).
  if (tracer_) tracer_->Stop();
}

void Engine::OnWorkerLogs(uint32_t function_id, int32_t worker_id, int32_t pid, UniqueFd out,
                          UniqueFd err) {
  logs_->Adopt(function_id, worker_id, pid, std::move(out), std::move(err));
}

// ---------------------------------------------------------------------------------------
// Admission and dispatch

CallStatus Engine::Precheck(std::string_view function, uint64_t input_bytes,
                            std::string* message) const {
  const config::FunctionConfig* f = config_.Find(function);
  if (f == nullptr) {
    *message = "unknown function \"" + std::string(function) + "\"";
    return CallStatus::kNotFound;
  }
  if (stopping_.load()) {
    *message = "engine is shutting down";
    return CallStatus::kUnavailable;
  }
  if (input_bytes > f->max_payload_bytes) {
    *message = "input of " + std::to_string(input_bytes) + " bytes exceeds the limit of " +
               std::to_string(f->max_payload_bytes) + " for " + f->name;
    return CallStatus::kTooLarge;
  }
  return CallStatus::kOk;
}

void Engine::SubmitExternal(std::string_view function, std::string_view input, int64_t timeout_ms,
                            const proto::TraceContext& trace, ExternalDone done) {
  std::string message;
  if (CallStatus st = Precheck(function, input.size(), &message); st != CallStatus::kOk) {
    proto::CallResult r;
    r.status = st;
    r.trace = trace;
    done(r, std::move(message));
    return;
  }
  const config::FunctionConfig* f = config_.Find(function);
  auto rec = std::make_unique<CallRecord>();
  rec->call_id = CallId::Make(f->id, 0, 0, external_counter_.fetch_add(1));
  rec->function_id = f->id;
  rec->external_done = std::move(done);
  rec->arrival_ns = MonotonicNowNs();
  // Bounded so the sum cannot overflow whatever a caller passes (config::kMaxDurationMs).
  const int64_t ms =
      std::min(timeout_ms > 0 ? timeout_ms : config_.TimeoutMs(*f), config::kMaxDurationMs);
  rec->deadline_ns = rec->arrival_ns + ms * 1'000'000;
  rec->dispatch = proto::MakeMessage(MessageType::kDispatch);
  rec->dispatch.header.call_id = rec->call_id;
  rec->dispatch.header.deadline_ns = rec->deadline_ns;
  rec->dispatch.header.flags = proto::kFlagReplyArenaOk;  // the engine reads the answer
  if (trace.has_trace()) {
    std::memcpy(rec->dispatch.trailer.trace_id, trace.trace_id.data(), 16);
    rec->dispatch.trailer.trace_flags = trace.flags;
    rec->parent_span_id = trace.parent_span_id;
  } else {  // W3C Trace Context §4.3: no (valid) traceparent: a new trace
    const auto id = proto::NewTraceId();
    std::memcpy(rec->dispatch.trailer.trace_id, id.data(), 16);
    rec->dispatch.trailer.trace_flags = proto::kTraceFlagSampled;
  }
  const ipc::ArenaWriter arena =
      ReadsArenas(f->id) ? ipc::ArenaWriter{engine_arena_.get(), 0} : ipc::ArenaWriter{};
  if (Status st = ipc::AttachPayload(*root_, PayloadKind::kInput, input, &rec->dispatch, arena);
      !st.ok()) {
    Fail(std::move(rec), CallStatus::kInternal, st.message());
    return;
  }
  Admit(std::move(rec), dispatchers_[f->id].get());
}

void Engine::Admit(std::unique_ptr<CallRecord> rec, Dispatcher* d) {
  ArmDeadline(rec.get());
  uint64_t id = rec->call_id;
  // The record goes in before the dispatcher sees the id: a worker may finish the call
  // before Admit() even returns.
  if (!calls_.Insert(&rec)) {
    NJ_LOG(kWarning) << "duplicate call id " << id << " refused";
    CancelDeadline(rec.get());
    ipc::DiscardPayload(*root_, PayloadKind::kInput, rec->dispatch, &*arenas_);
    Fail(std::move(rec), CallStatus::kBadRequest, "duplicate call id");
    return;
  }
  Assignment a;
  switch (d->Admit(id, MonotonicNowNs(), &a)) {
    case Dispatcher::AdmitResult::kDispatchNow:
      SendDispatch(a);
      return;
    case Dispatcher::AdmitResult::kQueued:
      if (a.worker) SendDispatch(a);  // the head of the queue, sent ahead to a busy worker
      StartWorkers(d->config().id);
      return;
    case Dispatcher::AdmitResult::kQueueFull:
      FailById(id, CallStatus::kUnavailable,
               "function " + d->config().name + " is overloaded (queue full)");
      return;
    case Dispatcher::AdmitResult::kCrashLooping:
      FailById(id, CallStatus::kUnavailable,
               "function " + d->config().name + " keeps crashing at start; retry later");
      return;
  }
}

void Engine::FailById(uint64_t call_id, CallStatus status, std::string message,
                      bool input_unread) {
  if (auto rec = calls_.Take(call_id)) {
    CancelDeadline(rec.get());
    if (rec->callee_channel == 0 || input_unread) {
      ipc::DiscardPayload(*root_, PayloadKind::kInput, rec->dispatch, &*arenas_);
    }
    Fail(std::move(rec), status, std::move(message));
  }
}

void Engine::SendDispatch(Assignment a) {
  // Loops because a call may have been answered (deadline) after it was assigned: the
  // worker then takes the next one.
  for (;;) {
    Message msg;
    if (calls_.MarkDispatched(a.call_id, a.worker->channel(), MonotonicNowNs(), &msg)) {
      a.worker->Send(&msg);
      return;
    }
    Dispatcher* d = dispatchers_[a.worker->function_id()].get();
    Assignment next;
    if (!d->OnDispatchRefused(a, MonotonicNowNs(), IsLive(), &next)) return;
    a = std::move(next);
  }
}

void Engine::WorkerFree(const std::shared_ptr<WorkerChannel>& w, uint64_t call_id, bool completed,
                        const CallReport& report) {
  Dispatcher* d = dispatchers_[w->function_id()].get();
  Assignment next;
  if (d->OnWorkerFree(w, call_id, MonotonicNowNs(), completed, IsLive(), &next, report)) {
    SendDispatch(next);
  }
  if (call_id != 0) DispatchReady(d);  // calls still waiting may go ahead to a worker
}

void Engine::DispatchReady(Dispatcher* d) {
  for (Assignment& a : d->TakeDispatchable(MonotonicNowNs(), IsLive())) SendDispatch(a);
}

// ---------------------------------------------------------------------------------------
// Deadlines

void Engine::ArmDeadline(CallRecord* rec) {
  io::EventLoop* loop = nullptr;
  for (size_t i = 0; i < loops_->size(); ++i) {
    if (loops_->loop(i)->InLoopThread()) loop = loops_->loop(i);
  }
  if (loop == nullptr) return;  // not on a loop thread: only during shutdown races
  uint64_t id = rec->call_id;
  rec->timer_loop = loop;
  rec->timer_id = loop->RunAt(rec->deadline_ns, [this, id] { OnDeadline(id); });
}

void Engine::CancelDeadline(CallRecord* rec) {
  if (rec->timer_loop == nullptr) return;
  io::EventLoop* loop = rec->timer_loop;
  io::EventLoop::TimerId t = rec->timer_id;
  loop->Dispatch([loop, t] { loop->Cancel(t); });
}

void Engine::OnDeadline(uint64_t call_id) {
  auto rec = calls_.Take(call_id);
  if (!rec) return;
  rec->timer_loop = nullptr;  // this timer has fired
  // A queued call leaves the queue at once (its slot under max_queue is free again), and
  // its input was never consumed; a dispatched call's input belongs to the callee.
  if (rec->callee_channel == 0) {
    dispatchers_[rec->function_id]->Withdraw(call_id);
    ipc::DiscardPayload(*root_, PayloadKind::kInput, rec->dispatch, &*arenas_);
  }
  std::shared_ptr<WorkerChannel> callee =
      rec->callee_channel != 0 ? FindChannel(rec->callee_channel) : nullptr;
  Fail(std::move(rec), CallStatus::kTimeout, "deadline exceeded");
  if (callee) {
    Dispatcher* d = dispatchers_[callee->function_id()].get();
    d->OnCallAbandoned(callee.get(), call_id);
    DispatchReady(d);
    StartWorkers(callee->function_id());
  }
}

// ---------------------------------------------------------------------------------------
// Answers

void Engine::Fail(std::unique_ptr<CallRecord> rec, CallStatus status, std::string message) {
  NJ_LOG(kDebug) << "call " << rec->call_id << " failed: " << proto::CallStatusName(status) << ": "
                 << message;
  CountAnswer(*rec, status);
  if (rec->external_done) {
    rec->external_done(ResultOf(*rec, status, nullptr), std::move(message));
    return;
  }
  auto caller = FindChannel(rec->caller_channel);
  if (!caller) return;  // the caller died; nobody is waiting
  ChildFinished(*rec, caller.get());
  Message msg = proto::MakeMessage(MessageType::kComplete);
  msg.header.call_id = rec->call_id;
  msg.header.status = static_cast<uint16_t>(status);
  if (message.size() > proto::kInlinePayloadSize) message.resize(proto::kInlinePayloadSize);
  (void)ipc::AttachPayload(*root_, PayloadKind::kOutput, message, &msg);
  caller->Send(&msg);
}

void Engine::DeliverCompletion(std::unique_ptr<CallRecord> rec, const Message& msg) {
  CancelDeadline(rec.get());
  if (msg.header.payload_size > dispatchers_[rec->function_id]->config().max_payload_bytes) {
    ipc::DiscardPayload(*root_, PayloadKind::kOutput, msg, &*arenas_);
    Fail(std::move(rec), CallStatus::kInternal, "worker answered with an oversized payload");
    return;
  }
  CountAnswer(*rec, msg.call_status());
  if (rec->external_done) {
    auto payload = ipc::TakePayload(*root_, PayloadKind::kOutput, msg, &*arenas_);
    if (!payload.ok()) {
      rec->external_done(ResultOf(*rec, CallStatus::kInternal, &msg), payload.status().message());
    } else {
      rec->external_done(ResultOf(*rec, msg.call_status(), &msg), std::move(*payload));
    }
    return;
  }
  // Internal call whose callee could not reach the caller directly: forward it; the
  // payload region (if any) now belongs to the caller.
  auto caller = FindChannel(rec->caller_channel);
  if (!caller) {
    ipc::DiscardPayload(*root_, PayloadKind::kOutput, msg, &*arenas_);
    return;
  }
  ChildFinished(*rec, caller.get());
  Message fwd = msg;
  caller->Send(&fwd);
}

// ---------------------------------------------------------------------------------------
// Messages from workers

void Engine::OnWorkerMessage(WorkerChannel* w, const Message& msg) {
  switch (msg.type()) {
    case MessageType::kInvoke:
      HandleInvoke(w, msg);
      return;
    case MessageType::kComplete:
    case MessageType::kCompleteNotice: {
      auto rec = calls_.TakeIfCallee(msg.header.call_id, w->channel());
      bool kept = false;
      if (!rec && (msg.header.flags & proto::kFlagDirect) != 0) {
        kept = KeepEarlyCompletion(w, msg, &rec);
      }
      if (rec) {
        if (msg.type() == MessageType::kComplete) {
          DeliverCompletion(std::move(rec), msg);
        } else {
          // The caller already has the result; this is the accounting copy.
          CancelDeadline(rec.get());
          CountAnswer(*rec, msg.call_status());
          if (auto caller = FindChannel(rec->caller_channel)) ChildFinished(*rec, caller.get());
        }
      } else if (msg.type() == MessageType::kComplete && !kept) {
        ipc::DiscardPayload(*root_, PayloadKind::kOutput, msg, &*arenas_);  // late: already answered
      }
      if (auto self = FindChannel(w->channel())) {
        CallReport report;
        report.sent_ns = msg.header.send_ts_ns;
        report.processing_ns = static_cast<int64_t>(msg.header.processing_us) * 1000;
        if ((msg.header.flags & proto::kFlagOffCpuMeasured) != 0) {
          report.off_cpu_ns = static_cast<int64_t>(msg.header.off_cpu_us) * 1000;
        }
        // A call the worker skipped (its deadline had passed) or that timed out is no
        // sample of the function's running time.
        const bool completed = msg.call_status() != CallStatus::kTimeout;
        if (metrics_) {
          FunctionMetrics& m = metrics_->function(w->function_id());
          m.bytes_out.Add(msg.header.payload_size);
          if (completed) {
            m.execution.Observe(report.processing_ns);
            m.dispatch_delay.Observe(int64_t{msg.header.dispatch_delay_us} * 1000);
          }
        }
        WorkerFree(self, msg.header.call_id, completed, report);
      }
      return;
    }
    case MessageType::kDirectNotice:
      HandleDirectNotice(w, msg);
      return;
    case MessageType::kFenceAck:
      HandleFenceAck(w, msg);
      return;
    case MessageType::kDispatchReturned:
      HandleDispatchReturned(w, msg);
      return;
    case MessageType::kWorkerHello:
      HandleHello(w, msg);
      return;
    default:
      NJ_LOG(kWarning) << "worker channel " << w->channel() << " sent unexpected type "
                       << msg.header.type << "; closing it";
      OnWorkerGone(w->channel());
  }
}

void Engine::HandleHello(WorkerChannel* w, const Message& msg) {
  auto self = FindChannel(w->channel());
  if (!self) return;
  w->pid = static_cast<int>(msg.header.call_id);
  uint32_t version = 0;
  if (msg.header.payload_size == sizeof(version))
    std::memcpy(&version, msg.payload, sizeof(version));
  if (version != proto::kProtocolVersion) {
    NJ_LOG(kError) << "worker " << w->pid << " speaks protocol " << version << ", engine speaks "
                   << proto::kProtocolVersion << "; stopping it";
    OnWorkerGone(w->channel());
    return;
  }
  if (Status st = w->OpenInput(*root_); !st.ok()) {
    NJ_LOG(kError) << "cannot open worker input: " << st.message();
    OnWorkerGone(w->channel());
    return;
  }
  Message welcome = proto::MakeMessage(MessageType::kWorkerWelcome);
  {
    std::lock_guard<std::mutex> lock(ids_mu_);
    welcome.header.call_id = next_counter_[w->worker_id()];
  }
  w->NoteCounter(static_cast<uint32_t>(welcome.header.call_id));
  w->Send(&welcome);
  dispatchers_[w->function_id()]->OnStarted();
  WorkerFree(self, 0, false);
  NotifyReadyChanged();
}

void Engine::HandleInvoke(WorkerChannel* caller, const Message& msg) {
  caller->NoteCounter(CallId::Counter(msg.header.call_id));
  uint32_t fid = CallId::FunctionId(msg.header.call_id);
  auto rec = std::make_unique<CallRecord>();
  rec->call_id = msg.header.call_id;
  rec->function_id = fid;
  rec->caller_channel = caller->channel();
  rec->caller_function_id = caller->function_id();
  rec->arrival_ns = MonotonicNowNs();
  rec->dispatch = msg;
  rec->dispatch.header.type = static_cast<uint16_t>(MessageType::kDispatch);
  rec->dispatch.header.reply_channel = caller->channel();
  rec->dispatch.header.flags &= ~proto::kFlagReplyArenaOk;  // the engine's to say
  // A runtime that did not pass its call's trace on (a worker older than the trailer's
  // rules) still gets a trace, if a new one.
  if (!std::any_of(std::begin(msg.trailer.trace_id), std::end(msg.trailer.trace_id),
                   [](uint8_t b) { return b != 0; })) {
    const auto id = proto::NewTraceId();
    std::memcpy(rec->dispatch.trailer.trace_id, id.data(), 16);
    rec->dispatch.trailer.trace_flags = proto::kTraceFlagSampled;
  }
  if (ReadsArenas(caller->function_id())) {
    rec->dispatch.header.flags |= proto::kFlagReplyArenaOk;
  }
  if (CallId::ClientId(msg.header.call_id) != caller->worker_id() || fid == 0 ||
      fid >= dispatchers_.size()) {
    ipc::DiscardPayload(*root_, PayloadKind::kInput, msg, &*arenas_);
    Fail(std::move(rec), CallStatus::kNotFound, "invalid call id from worker");
    return;
  }
  Dispatcher* d = dispatchers_[fid].get();
  // Deadlines propagate: the child gets at most the parent's remaining time.
  int64_t own = rec->arrival_ns + config_.TimeoutMs(d->config()) * 1'000'000;
  int64_t parent = msg.header.deadline_ns;
  rec->deadline_ns = parent > 0 ? std::min(parent, own) : own;
  rec->dispatch.header.deadline_ns = rec->deadline_ns;
  if (msg.header.payload_size > d->config().max_payload_bytes) {
    ipc::DiscardPayload(*root_, PayloadKind::kInput, msg, &*arenas_);
    Fail(std::move(rec), CallStatus::kTooLarge, "input exceeds the callee's payload limit");
    return;
  }
  if (stopping_.load()) {
    ipc::DiscardPayload(*root_, PayloadKind::kInput, msg, &*arenas_);
    Fail(std::move(rec), CallStatus::kUnavailable, "engine is shutting down");
    return;
  }
  if (msg.payload_in_arena() && !ReadsArenas(fid)) {
    // A native caller's arena payload for a callee in another runtime: moved to a region.
    auto input = ipc::TakePayload(*root_, PayloadKind::kInput, msg, &*arenas_);
    Status st = input.ok() ? ipc::AttachPayload(*root_, PayloadKind::kInput, *input, &rec->dispatch)
                           : input.status();
    if (!st.ok()) {
      Fail(std::move(rec), CallStatus::kInternal, "cannot pass the input on: " + st.message());
      return;
    }
  }
  // The caller now waits on a child and stops counting as running: its own function
  // may be able to dispatch a queued call (and must, for recursive call graphs).
  Dispatcher* caller_d = dispatchers_[caller->function_id()].get();
  caller_d->OnChildStarted(caller, msg.header.parent_call_id, MonotonicNowNs());
  Admit(std::move(rec), d);
  DispatchReady(caller_d);
}

void Engine::HandleDispatchReturned(WorkerChannel* w, const Message& msg) {
  const uint64_t id = msg.header.call_id;
  Dispatcher* d = dispatchers_[w->function_id()].get();
  const bool live = calls_.MarkReturned(id, w->channel());
  if (!d->OnPrefetchReturned(w, id, live)) {
    if (live) {  // not what the engine sent it: a misbehaving worker; answer the call
      FailById(id, CallStatus::kInternal, "worker returned a call it was not sent ahead");
    }
    return;
  }
  // Answered meanwhile (deadline): nobody will read its input now.
  if (!live) ipc::DiscardPayload(*root_, PayloadKind::kInput, msg, &*arenas_);
  DispatchReady(d);
  StartWorkers(w->function_id());
}

void Engine::ChildFinished(const CallRecord& rec, WorkerChannel* caller) {
  dispatchers_[caller->function_id()]->OnChildFinished(caller, rec.dispatch.header.parent_call_id,
                                                       MonotonicNowNs());
}

proto::CallResult Engine::ResultOf(const CallRecord& rec, CallStatus status,
                                   const Message* complete) {
  proto::CallResult r;
  r.status = status;
  r.call_id = rec.call_id;
  std::memcpy(r.trace.trace_id.data(), rec.dispatch.trailer.trace_id, 16);
  r.trace.flags = rec.dispatch.trailer.trace_flags;
  r.trace.parent_span_id = proto::SpanIdFor(rec.call_id, r.trace.trace_id);
  // A call never dispatched spent all its time queued.
  const int64_t queued_until = rec.dispatched_ns != 0 ? rec.dispatched_ns : MonotonicNowNs();
  r.queue_us = static_cast<uint32_t>(
      std::clamp<int64_t>((queued_until - rec.arrival_ns) / 1000, 0, UINT32_MAX));
  r.known = proto::CallResult::kTimingQueue;
  if (complete != nullptr) {
    r.dispatch_us = complete->header.dispatch_delay_us;
    r.exec_us = complete->header.processing_us;
    r.child_us = complete->trailer.child_wait_us;
    r.known |= proto::CallResult::kTimingDispatch | proto::CallResult::kTimingExec |
               proto::CallResult::kTimingChild;
  }
  return r;
}

void Engine::CountAnswer(const CallRecord& rec, CallStatus status, int64_t end_ns) {
  if (rec.function_id == 0 || rec.function_id >= dispatchers_.size()) return;
  if (tracer_ != nullptr && rec.call_id != 0 &&
      (rec.dispatch.trailer.trace_flags & proto::kTraceFlagSampled) != 0) {
    SpanRecord span;
    std::memcpy(span.trace_id.data(), rec.dispatch.trailer.trace_id, 16);
    span.span_id = proto::SpanIdFor(rec.call_id, span.trace_id);
    span.external = static_cast<bool>(rec.external_done);
    span.parent_call_id = rec.dispatch.header.parent_call_id;
    span.parent_span_id =
        span.external ? rec.parent_span_id : proto::SpanIdFor(span.parent_call_id, span.trace_id);
    span.call_id = rec.call_id;
    span.start_ns = rec.arrival_ns;
    span.end_ns = end_ns != 0 ? end_ns : MonotonicNowNs();
    span.function_id = rec.function_id;
    span.status = static_cast<uint16_t>(status);
    tracer_->Record(span);
  }
  Dispatcher* d = dispatchers_[rec.function_id].get();
  if (metrics_) {
    FunctionMetrics& m = metrics_->function(rec.function_id);
    m.CountCall(status);
    m.bytes_in.Add(rec.dispatch.header.payload_size);
    if (rec.caller_function_id != 0) {
      metrics_->internal_calls().Add(rec.caller_function_id, rec.function_id);
    }
  }
  if (status == CallStatus::kOk) {
    d->calls_ok.fetch_add(1, std::memory_order_relaxed);
  } else if (status == CallStatus::kTimeout) {
    d->calls_timed_out.fetch_add(1, std::memory_order_relaxed);
  } else {
    d->calls_failed.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace nightjar::engine
