// Engine side of direct dispatch: notices of claimed workers, early completions, fences.
// See docs/architecture.md, "Direct dispatch (2 hops)".
#include "engine/engine.h"

#include <mutex>
#include <optional>

#include "base/clock.h"
#include "base/logging.h"
#include "ipc/channel.h"

namespace nightjar::engine {

using ipc::PayloadKind;
using proto::CallId;
using proto::CallStatus;
using proto::Message;
using proto::MessageType;

void Engine::HandleDirectNotice(WorkerChannel* caller, const Message& msg) {
  caller->NoteCounter(CallId::Counter(msg.header.call_id));
  const uint64_t id = msg.header.call_id;
  const uint32_t fid = CallId::FunctionId(id);
  if (CallId::ClientId(id) != caller->worker_id() || fid == 0 || fid >= dispatchers_.size() ||
      !dispatchers_[fid]->has_board()) {
    NJ_LOG(kWarning) << "worker channel " << caller->channel() << " sent a malformed direct notice";
    ipc::DiscardPayload(*root_, PayloadKind::kInput, msg, &*arenas_);
    return;
  }
  Dispatcher* d = dispatchers_[fid].get();
  std::shared_ptr<WorkerChannel> callee = FindChannel(msg.header.reply_channel);
  if (callee && callee->function_id() != fid) callee = nullptr;
  const int64_t now = MonotonicNowNs();
  if ((msg.header.flags & proto::kFlagUndelivered) != 0) {
    // The caller claimed a worker but could not write to it: free the worker, and run the
    // call the usual way.
    if (callee) {
      Assignment next;
      if (d->ReleaseClaim(callee, id, now, IsLive(), &next)) SendDispatch(next);
      DispatchReady(d);
    }
    Message invoke = msg;
    invoke.header.type = static_cast<uint16_t>(MessageType::kInvoke);
    invoke.header.flags &= ~(proto::kFlagDirect | proto::kFlagUndelivered);
    invoke.header.reply_channel = caller->channel();
    HandleInvoke(caller, invoke);
    return;
  }
  auto rec = std::make_unique<CallRecord>();
  rec->call_id = id;
  rec->function_id = fid;
  rec->caller_channel = caller->channel();
  rec->caller_function_id = caller->function_id();
  rec->callee_channel = msg.header.reply_channel;
  // The caller stamped the notice right after the DISPATCH itself (same clock): the call's
  // start for its span and its queue time, which a record made now would miss.
  rec->arrival_ns =
      msg.header.send_ts_ns > 0 && msg.header.send_ts_ns < now ? msg.header.send_ts_ns : now;
  rec->dispatched_ns = rec->arrival_ns;
  rec->deadline_ns = msg.header.deadline_ns;
  rec->dispatch = msg;
  rec->dispatch.header.type = static_cast<uint16_t>(MessageType::kDispatch);
  rec->dispatch.header.reply_channel = caller->channel();
  Dispatcher* caller_d = dispatchers_[caller->function_id()].get();
  std::optional<EarlyCompletion> early;
  bool inserted = false;
  {
    std::lock_guard<std::mutex> lock(direct_mu_);
    if (auto it = early_.find(id); it != early_.end()) {
      early = std::move(it->second);
      early_.erase(it);
    } else if (callee) {
      d->calls_direct.fetch_add(1, std::memory_order_relaxed);
      // Everything the record's answer will undo is done before the record exists.
      caller_d->OnChildStarted(caller, msg.header.parent_call_id, now);
      if (!d->OnDirectClaim(callee.get(), id, now)) {
        NJ_LOG(kWarning) << "direct notice for call " << id << ": worker " << callee->worker_id()
                         << " of " << d->config().name << " was not claimed for it";
      }
      // As for an INVOKE: at most the callee's timeout, and the parent's deadline (the
      // caller computed it; a worker's word is not trusted further).
      const int64_t own = now + config_.TimeoutMs(d->config()) * 1'000'000;
      rec->deadline_ns = rec->deadline_ns > 0 ? std::min(rec->deadline_ns, own) : own;
      ArmDeadline(rec.get());
      if (!calls_.Insert(&rec)) {
        CancelDeadline(rec.get());
        // Not the payload: the callee has the call (a reused id is the caller's bug). Fail()
        // also ends the caller's wait on this child.
        Fail(std::move(rec), CallStatus::kBadRequest, "duplicate call id");
        return;
      }
      inserted = true;
    }
  }
  if (inserted) {
    // The callee may have died since it was found, its death handled before the record
    // existed: then nobody else will answer the call.
    if (!FindChannel(msg.header.reply_channel)) {
      FailById(id, CallStatus::kWorkerDied,
               "worker of " + d->config().name + " exited while running the call",
               /*input_unread=*/true);
    }
    return;
  }
  d->calls_direct.fetch_add(1, std::memory_order_relaxed);
  if (early) {
    // The callee answered before this notice was read; it is free already.
    CountAnswer(*rec, early->status, std::max(early->at_ns, rec->arrival_ns));
    if (early->forward) caller->Send(&early->msg);  // its direct write had failed
    return;
  }
  // The callee died before the notice was read (channel ids are never reused). Whether it
  // had started the call is unknown here; it was claimed idle, so it most likely had (the
  // message said "before running" and flaked test_internal_caller_gets_a_clear_error_...).
  ipc::DiscardPayload(*root_, PayloadKind::kInput, rec->dispatch, &*arenas_);
  Fail(std::move(rec), CallStatus::kWorkerDied,
       "worker of " + d->config().name +
           " exited while running the call (or before it could start it)");
}

bool Engine::KeepEarlyCompletion(WorkerChannel* callee, const Message& msg,
                                 std::unique_ptr<CallRecord>* rec) {
  constexpr size_t kMaxEarly = 1 << 16;  // bounds what a misbehaving worker can pin
  const uint64_t id = msg.header.call_id;
  std::lock_guard<std::mutex> lock(direct_mu_);
  *rec = calls_.TakeIfCallee(id, callee->channel());  // the notice may have just landed
  if (*rec || CallId::FunctionId(id) != callee->function_id() || early_.size() >= kMaxEarly ||
      !dispatchers_[callee->function_id()]->HoldsClaim(callee, id)) {
    return false;
  }
  EarlyCompletion& e = early_[id];
  e.at_ns = MonotonicNowNs();
  e.status = msg.call_status();
  e.forward = msg.type() == MessageType::kComplete;
  if (e.forward) e.msg = msg;
  return true;
}

void Engine::FenceClaimsOf(uint16_t worker_id) {
  for (size_t fid = 1; fid < dispatchers_.size(); ++fid) {
    for (auto& [w, claim] : dispatchers_[fid]->ClaimsOf(worker_id)) {
      Message fence = proto::MakeMessage(MessageType::kFence);
      fence.header.call_id = claim;
      w->Send(&fence);
    }
  }
}

void Engine::HandleFenceAck(WorkerChannel* w, const Message& msg) {
  // Everything the dead caller wrote to this worker was read before the FENCE, and what
  // the worker said about it was handled before this ack (one ordered output pipe).
  const uint64_t claim = msg.header.call_id;
  std::shared_ptr<WorkerChannel> self = FindChannel(w->channel());
  if (!self) return;
  Dispatcher* d = dispatchers_[w->function_id()].get();
  {
    std::lock_guard<std::mutex> lock(direct_mu_);
    if (calls_.Contains(claim)) return;  // its notice came: the normal path has it
    if (auto it = early_.find(claim); it != early_.end()) {
      // It ran; its caller's notice never will come. Counted here, as the notice would.
      CallRecord counted;
      counted.function_id = w->function_id();
      CountAnswer(counted, it->second.status);
      d->calls_direct.fetch_add(1, std::memory_order_relaxed);
      if (it->second.forward) {
        ipc::DiscardPayload(*root_, PayloadKind::kOutput, it->second.msg, &*arenas_);
      }
      early_.erase(it);
      return;
    }
  }
  // The DISPATCH was never written: the claim is void.
  Assignment next;
  if (d->ReleaseClaim(self, claim, MonotonicNowNs(), IsLive(), &next)) SendDispatch(next);
  DispatchReady(d);
}

void Engine::ExpireEarlyCompletions(int64_t now_ns) {
  std::vector<Message> dropped;
  {
    std::lock_guard<std::mutex> lock(direct_mu_);
    std::erase_if(early_, [&](const auto& kv) {
      if (now_ns - kv.second.at_ns < arena_linger_ns_) return false;
      if (kv.second.forward) dropped.push_back(kv.second.msg);
      return true;
    });
  }
  for (const Message& m : dropped) ipc::DiscardPayload(*root_, PayloadKind::kOutput, m, &*arenas_);
}

}  // namespace nightjar::engine
