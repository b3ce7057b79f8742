// Worker host implementation. See worker_host.h for the big picture and
// docs/protocol.md for the message sequence.
#include "worker/worker_host.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/logging.h"
#include "ipc/channel.h"
#include "ipc/dispatch_board.h"
#include "proto/function_directory.h"
#include "proto/trace.h"
#include "worker/cpu_meter.h"
#include "worker/function_library.h"
#include "worker/output_frames.h"

using nightjar::ipc::PayloadKind;
using nightjar::proto::CallStatus;
using nightjar::proto::Message;
using nightjar::proto::MessageType;

// The per-call context handed to the function (opaque in the C ABI).
struct nj_call {
  struct Child {
    bool done = false;
    CallStatus status = CallStatus::kOk;
    std::string output;
  };
  nightjar::worker::WorkerOptions const* options = nullptr;
  uint64_t call_id = 0;
  const nightjar::proto::MessageTrailer* trace = nullptr;  // the DISPATCH's: trace id, flags
  int64_t deadline_ns = 0;
  std::string output;
  std::string error;
  bool output_too_large = false;
  std::unordered_map<uint64_t, Child> children;  // outstanding and finished child calls
  std::deque<std::string> returned;              // keeps buffers given to the function alive
  int64_t start_ns = 0;
  int64_t child_wait_ns = 0;  // wall time spent in Wait() for children (off-CPU estimate)
  // Time in child calls as reported (child_wait_us): from the start of the Invoke that made
  // the first of a run of outstanding children to the completion that ended the run. Unlike
  // child_wait_ns it covers a child that finished before its Wait() began.
  int64_t child_span_ns = 0;
  int64_t child_since_ns = 0;
  int children_running = 0;
  bool measured = false;      // CPU sampled at the start (cpu_start valid)
  nightjar::worker::CpuMeter::Sample cpu_start;
};

namespace nightjar::worker {
namespace {

// At most one call per this interval is measured (two schedstat reads, ~1.3 us): enough
// samples for the engine's averages, a bounded cost (< 0.2% of a core) at any call rate.
constexpr int64_t kMeasureIntervalNs = 1'000'000;

nj_status ToNjStatus(CallStatus s) { return static_cast<nj_status>(s); }

// Fault injection, for the direct-dispatch tests only (tests/test_direct_dispatch.py):
// with NIGHTJAR_FAULT_INJECTION=<point>:<per mille> in its environment, a worker SIGKILLs
// itself at that point of the direct-dispatch protocol with that probability. Unset, the
// cost is one predictable branch per point.
enum class FaultPoint {
  kNone,
  kAfterClaim,           // caller: claimed a worker, DISPATCH not written
  kAfterDispatch,        // caller: DISPATCH written, DIRECT_NOTICE not
  kAfterNotice,          // caller: both written
  kCalleeAfterRead,      // callee: read a direct DISPATCH, not run
  kCalleeAfterComplete,  // callee: answered the caller, COMPLETE_NOTICE not written
  kCalleeAfterNotice,    // callee: both written
};
FaultPoint g_fault_point = FaultPoint::kNone;
int g_fault_per_mille = 0;

void ParseFaultInjection() {
  const char* spec = std::getenv("NIGHTJAR_FAULT_INJECTION");
  if (spec == nullptr) return;
  static constexpr std::pair<const char*, FaultPoint> kPoints[] = {
      {"after_claim", FaultPoint::kAfterClaim},
      {"after_dispatch", FaultPoint::kAfterDispatch},
      {"after_notice", FaultPoint::kAfterNotice},
      {"callee_after_read", FaultPoint::kCalleeAfterRead},
      {"callee_after_complete", FaultPoint::kCalleeAfterComplete},
      {"callee_after_notice", FaultPoint::kCalleeAfterNotice},
  };
  const std::string_view text(spec);
  const size_t colon = text.find(':');
  for (const auto& [name, point] : kPoints) {
    if (text.substr(0, colon) == name) g_fault_point = point;
  }
  if (colon != std::string_view::npos) g_fault_per_mille = std::atoi(spec + colon + 1);
  std::srand(static_cast<unsigned>(::getpid()));
}

inline void MaybeFail(FaultPoint point) {
  if (g_fault_point == point && std::rand() % 1000 < g_fault_per_mille) ::raise(SIGKILL);
}

class WorkerHost {
 public:
  explicit WorkerHost(const WorkerOptions& options)
      : options_(options), root_(ipc::IpcRoot::Attach(options.ipc_dir)), arenas_(root_) {}

  Status Init();
  int Serve();

  // Host API implementations (called through the C trampolines below).
  nj_status Invoke(nj_call* call, const char* name, const void* input, size_t size,
                   uint64_t* child_id);
  nj_status Wait(nj_call* call, uint64_t child_id, nj_buffer* output);

 private:
  // Runs a DISPATCH, or answers it with a timeout without running it if its deadline has
  // already passed (a call sent ahead while the previous one ran may expire meanwhile).
  void RunOrSkip(const Message& dispatch);
  void RunCall(const Message& dispatch);
  void Complete(const Message& dispatch, nj_call& call, nj_status st);
  // Writes to another worker's input FIFO (a caller's, for a completion; a callee's, for
  // a direct DISPATCH); false if it cannot (gone, or its pipe is full).
  bool SendToChannel(uint64_t channel, Message* msg);
  // Direct dispatch: claims an idle worker of `func_id` and sends it the call in *msg
  // (an INVOKE, turned into the DISPATCH); false if none is offered.
  bool TryDirect(uint32_t func_id, nj_call* call, Message* msg);
  // The dispatch board of a function, mapped on first use; null if it has none.
  ipc::DispatchBoard* BoardOf(uint32_t func_id);
  // Answers a FENCE (engine): everything before it in our input pipe is handled.
  void AckFence(const Message& fence);
  void AckHeldFences();
  // Handles one message read while waiting for children; false on EOF.
  bool ReadAndRoute(nj_call* call);

  const WorkerOptions& options_;
  ipc::IpcRoot root_;
  ipc::ArenaMap arenas_;  // the arenas payloads arrive in (callers', callees', the engine's)
  // Our own arena, made by the engine with our channel; null: payloads go in regions.
  std::unique_ptr<ipc::PayloadArena> arena_;
  UniqueFd in_;
  UniqueFd out_;
  proto::FunctionDirectory directory_;
  std::optional<FunctionLibrary> library_;
  void* worker_state_ = nullptr;
  uint32_t counter_ = 0;
  std::unordered_map<uint64_t, UniqueFd> caller_fds_;  // channel -> its input FIFO
  // Dispatch boards by function id; a null entry whose `boards_tried_` bit is set: none.
  std::vector<std::unique_ptr<ipc::DispatchBoard>> boards_;
  std::vector<bool> boards_tried_;
  std::vector<Message> held_fences_;  // FENCEs read while the current call ran
  CpuMeter cpu_;
  int64_t last_measured_ns_ = 0;
};

WorkerHost* g_host = nullptr;

nj_status ApiAppendOutput(nj_call* call, const void* data, size_t size) {
  if (call->output.size() + size > call->options->max_payload) {
    call->output_too_large = true;
    return NJ_ERR_TOO_LARGE;
  }
  call->output.append(static_cast<const char*>(data), size);
  return NJ_OK;
}

void ApiSetError(nj_call* call, const char* message, size_t size) {
  call->error.assign(message, size);
}

nj_status ApiInvokeAsync(nj_call* call, const char* name, const void* input, size_t size,
                         nj_invoke_handle* handle) {
  return g_host->Invoke(call, name, input, size, handle);
}

nj_status ApiWait(nj_call* call, nj_invoke_handle handle, nj_buffer* output) {
  return g_host->Wait(call, handle, output);
}

nj_status ApiInvoke(nj_call* call, const char* name, const void* input, size_t size,
                    nj_buffer* output) {
  uint64_t child = 0;
  nj_status st = g_host->Invoke(call, name, input, size, &child);
  if (st != NJ_OK) {
    if (output != nullptr) *output = nj_buffer{nullptr, 0};
    return st;
  }
  return g_host->Wait(call, child, output);
}

int64_t ApiRemainingNs(nj_call* call) {
  if (call->deadline_ns == 0) return INT64_MAX;
  int64_t left = call->deadline_ns - MonotonicNowNs();
  return left > 0 ? left : 0;
}

nj_status ApiTraceparent(nj_call* call, char* out, size_t size) {
  if (out == nullptr || size < NJ_TRACEPARENT_SIZE) return NJ_ERR_INVALID;
  std::array<uint8_t, 16> trace_id{};
  uint8_t flags = 0;
  if (call->trace != nullptr) {
    std::memcpy(trace_id.data(), call->trace->trace_id, 16);
    flags = call->trace->trace_flags;
  }
  proto::FormatTraceparent(trace_id, proto::SpanIdFor(call->call_id, trace_id), flags, out);
  out[proto::kTraceparentSize] = '\0';
  return NJ_OK;
}

const nj_host_api kHostApi = {NJ_ABI_VERSION, ApiAppendOutput, ApiSetError,    ApiInvoke,
                              ApiInvokeAsync, ApiWait,         ApiRemainingNs, ApiTraceparent};

Status WorkerHost::Init() {
  // O_RDWR on our own input: open() does not wait for a writer, and reads block instead
  // of returning EOF while no writer (engine, callee) has the FIFO open. Engine death is
  // noticed through the launcher, which kills its workers when the engine goes.
  auto in = ipc::OpenFifo(root_.FifoPath(options_.channel, ipc::FifoEnd::kWorkerInput), O_RDWR);
  if (!in.ok()) return in.status();
  in_ = std::move(*in);
  // The engine holds the read end of our output already, so this cannot block.
  auto out = ipc::OpenFifo(root_.FifoPath(options_.channel, ipc::FifoEnd::kWorkerOutput),
                           O_WRONLY | O_NONBLOCK);
  if (!out.ok()) return out.status();
  out_ = std::move(*out);
  if (::fcntl(out_.get(), F_SETFL, 0) != 0) return Status::FromErrno("fcntl output fifo");
  if (auto arena = ipc::PayloadArena::Map(root_.ArenaPath(options_.channel)); arena.ok()) {
    arena_ = std::move(*arena);
  }

  std::ifstream dir_file(root_.FunctionDirectoryPath());
  std::stringstream text;
  text << dir_file.rdbuf();
  auto dir = proto::FunctionDirectory::Parse(text.str());
  if (!dir.ok()) return dir.status();
  directory_ = std::move(*dir);

  auto lib = FunctionLibrary::Load(options_.handler, &kHostApi);
  if (!lib.ok()) return lib.status();
  library_.emplace(std::move(*lib));
  if (library_->create_worker(options_.function.c_str(), &worker_state_) != 0) {
    return Internal(options_.handler + ": nj_function_create_worker failed");
  }
  return Status::Ok();
}

int WorkerHost::Serve() {
  Message hello = proto::MakeMessage(MessageType::kWorkerHello);
  hello.header.worker_id = static_cast<uint16_t>(options_.worker_id);
  hello.header.reply_channel = options_.channel;
  hello.header.call_id = static_cast<uint64_t>(::getpid());
  hello.header.payload_size = sizeof(proto::kProtocolVersion);
  std::memcpy(hello.payload, &proto::kProtocolVersion, sizeof(proto::kProtocolVersion));
  if (!ipc::WriteMessage(out_.get(), &hello).ok()) return 2;
  cpu_.Open();

  Message msg;
  for (;;) {
    ipc::ReadStatus rs = ipc::ReadMessage(in_.get(), &msg);
    if (rs != ipc::ReadStatus::kMessage) break;  // engine gone or shutting us down
    switch (msg.type()) {
      case MessageType::kWorkerWelcome:
        counter_ = static_cast<uint32_t>(msg.header.call_id);
        break;
      case MessageType::kDispatch:
        RunOrSkip(msg);
        break;
      case MessageType::kFence:
        AckFence(msg);
        break;
      case MessageType::kComplete:
        // A completion for a child call we stopped waiting for (the engine already
        // answered it with a timeout, or the parent call ended): drop it.
        ipc::DiscardPayload(root_, PayloadKind::kOutput, msg, &arenas_);
        break;
      default:
        NJ_LOG(kWarning) << "unexpected message type " << msg.header.type;
    }
  }
  library_->destroy_worker(worker_state_);
  return 0;
}

void WorkerHost::RunOrSkip(const Message& dispatch) {
  if (dispatch.header.flags & proto::kFlagDirect) MaybeFail(FaultPoint::kCalleeAfterRead);
  const int64_t deadline = dispatch.header.deadline_ns;
  if (deadline == 0 || MonotonicNowNs() < deadline) {
    RunCall(dispatch);
    return;
  }
  ipc::DiscardPayload(root_, PayloadKind::kInput, dispatch, &arenas_);
  nj_call call;
  call.options = &options_;
  call.call_id = dispatch.header.call_id;
  call.start_ns = MonotonicNowNs();
  call.error = "deadline exceeded before the call started";
  Complete(dispatch, call, NJ_ERR_TIMEOUT);
}

void WorkerHost::RunCall(const Message& dispatch) {
  nj_call call;
  call.start_ns = MonotonicNowNs();
  if (call.start_ns - last_measured_ns_ >= kMeasureIntervalNs) {
    call.measured = true;
    call.cpu_start = cpu_.Read();
  }
  call.options = &options_;
  call.call_id = dispatch.header.call_id;
  call.trace = &dispatch.trailer;
  call.deadline_ns = dispatch.header.deadline_ns;
  auto input = ipc::TakePayload(root_, PayloadKind::kInput, dispatch, &arenas_);
  nj_status st;
  if (!input.ok()) {
    st = NJ_ERR_INTERNAL;
    call.error = "worker could not read the call's input: " + input.status().message();
  } else {
    BeginCallOutput(call.call_id);
    st = library_->call(worker_state_, &call, input->data(), input->size());
    if (call.output_too_large && st == NJ_OK) {
      st = NJ_ERR_TOO_LARGE;
      call.error = "output exceeds the function's payload limit";
    }
  }
  // Children still running when the call returns are abandoned; their completions are
  // dropped when they arrive (Serve's kComplete case).
  Complete(dispatch, call, st);
}

void WorkerHost::Complete(const Message& dispatch, nj_call& call, nj_status st) {
  // Before the answer: a client that reads the call's logs after its answer finds them
  // already in the pipe.
  EndCallOutput();
  const int64_t start_ns = call.start_ns;
  Message done = proto::MakeMessage(MessageType::kComplete);
  done.header.call_id = dispatch.header.call_id;
  done.header.parent_call_id = dispatch.header.parent_call_id;
  done.header.worker_id = static_cast<uint16_t>(options_.worker_id);
  done.header.status = static_cast<uint16_t>(st);
  done.header.flags = dispatch.header.flags & proto::kFlagDirect;  // the engine may not know it yet
  int64_t now = MonotonicNowNs();
  done.header.processing_us = static_cast<uint32_t>((now - start_ns) / 1000);
  done.header.dispatch_delay_us =
      static_cast<uint32_t>(std::max<int64_t>(0, start_ns - dispatch.header.send_ts_ns) / 1000);
  if (call.children_running > 0) call.child_span_ns += now - call.child_since_ns;  // abandoned
  done.trailer.child_wait_us =
      static_cast<uint32_t>(std::min<int64_t>(call.child_span_ns / 1000, UINT32_MAX));
  if (call.measured) {
    int64_t off = OffCpuNs(now - start_ns, call.child_wait_ns, call.cpu_start, cpu_.Read());
    done.header.off_cpu_us = static_cast<uint32_t>(std::min<int64_t>(off / 1000, UINT32_MAX));
    done.header.flags |= proto::kFlagOffCpuMeasured;
    last_measured_ns_ = now;
  }
  const std::string& body = st == NJ_OK ? call.output : call.error;
  // The arena only when whoever reads the answer maps arenas (the engine says so).
  const ipc::ArenaWriter arena = (dispatch.header.flags & proto::kFlagReplyArenaOk) != 0
                                     ? ipc::ArenaWriter{arena_.get(), options_.channel}
                                     : ipc::ArenaWriter{};
  if (Status s = ipc::AttachPayload(root_, PayloadKind::kOutput, body, &done, arena); !s.ok()) {
    done.header.status = static_cast<uint16_t>(CallStatus::kInternal);
    std::string why = "worker could not write the call's output: " + s.message();
    (void)ipc::AttachPayload(root_, PayloadKind::kOutput, why, &done);
  }
  if (dispatch.header.reply_channel != 0 && SendToChannel(dispatch.header.reply_channel, &done)) {
    // Hop 3 done; the engine only needs the accounting copy, off the critical path.
    if (done.header.flags & proto::kFlagDirect) MaybeFail(FaultPoint::kCalleeAfterComplete);
    Message notice = done;
    notice.header.type = static_cast<uint16_t>(MessageType::kCompleteNotice);
    notice.header.flags &= ~(proto::kFlagPayloadInShm | proto::kFlagPayloadInArena);
    notice.header.payload_size = 0;
    (void)ipc::WriteMessage(out_.get(), &notice);
    if (done.header.flags & proto::kFlagDirect) MaybeFail(FaultPoint::kCalleeAfterNotice);
    AckHeldFences();
    return;
  }
  // External call, or the caller's pipe is unusable: the engine forwards.
  (void)ipc::WriteMessage(out_.get(), &done);
  AckHeldFences();
}

void WorkerHost::AckHeldFences() {
  for (const Message& fence : held_fences_) AckFence(fence);
  held_fences_.clear();
}

bool WorkerHost::SendToChannel(uint64_t channel, Message* msg) {
  auto it = caller_fds_.find(channel);
  if (it == caller_fds_.end()) {
    // Channels of workers that died stay cached until a write fails; a bound keeps a
    // long-lived worker from collecting them.
    if (caller_fds_.size() >= 1024) caller_fds_.clear();
    auto fd = ipc::OpenFifo(root_.FifoPath(channel, ipc::FifoEnd::kWorkerInput),
                            O_WRONLY | O_NONBLOCK);
    if (!fd.ok()) return false;  // caller gone (ENXIO/ENOENT)
    it = caller_fds_.emplace(channel, std::move(*fd)).first;
  }
  if (ipc::WriteMessage(it->second.get(), msg).ok()) return true;
  // EPIPE: the caller exited; EAGAIN: its pipe is full. Either way let the engine
  // handle it, and forget the fd so a dead caller's pipe is not kept open.
  caller_fds_.erase(it);
  return false;
}

nj_status WorkerHost::Invoke(nj_call* call, const char* name, const void* input, size_t size,
                             uint64_t* child_id) {
  if (name == nullptr || child_id == nullptr) return NJ_ERR_INVALID;
  const int64_t invoke_start = MonotonicNowNs();
  uint32_t func_id = directory_.Lookup(name);
  if (func_id == 0) return NJ_ERR_NOT_FOUND;
  if (call->deadline_ns != 0 && MonotonicNowNs() >= call->deadline_ns) return NJ_ERR_TIMEOUT;
  Message msg = proto::MakeMessage(MessageType::kInvoke);
  msg.header.call_id = proto::CallId::Make(func_id, 0, options_.worker_id, counter_++);
  msg.header.parent_call_id = call->call_id;
  msg.header.deadline_ns = call->deadline_ns;
  msg.header.worker_id = static_cast<uint16_t>(options_.worker_id);
  msg.header.reply_channel = options_.channel;
  // The child belongs to this call's trace; its parent span is this call's (derived from
  // parent_call_id, proto/trace.h).
  if (call->trace != nullptr) {
    std::memcpy(msg.trailer.trace_id, call->trace->trace_id, sizeof(msg.trailer.trace_id));
    msg.trailer.trace_flags = call->trace->trace_flags;
  }
  std::string_view in(static_cast<const char*>(input), input ? size : 0);
  // The engine moves it to a region if the callee runs in another runtime.
  if (!ipc::AttachPayload(root_, PayloadKind::kInput, in, &msg,
                          {arena_.get(), options_.channel}).ok()) {
    return NJ_ERR_INTERNAL;
  }
  if (!TryDirect(func_id, call, &msg) && !ipc::WriteMessage(out_.get(), &msg).ok()) {
    ipc::DiscardPayload(root_, PayloadKind::kInput, msg, &arenas_);
    return NJ_ERR_UNAVAILABLE;
  }
  call->children.emplace(msg.header.call_id, nj_call::Child{});
  if (call->children_running++ == 0) call->child_since_ns = invoke_start;
  *child_id = msg.header.call_id;
  return NJ_OK;
}

nj_status WorkerHost::Wait(nj_call* call, uint64_t child_id, nj_buffer* output) {
  if (output != nullptr) *output = nj_buffer{nullptr, 0};
  auto it = call->children.find(child_id);
  if (it == call->children.end()) return NJ_ERR_INVALID;
  const int64_t wait_start = it->second.done ? 0 : MonotonicNowNs();
  while (!it->second.done) {
    if (!ReadAndRoute(call)) return NJ_ERR_UNAVAILABLE;  // engine gone
    it = call->children.find(child_id);
  }
  if (wait_start != 0) call->child_wait_ns += MonotonicNowNs() - wait_start;
  nj_call::Child child = std::move(it->second);
  call->children.erase(it);
  if (output != nullptr) {
    call->returned.push_back(std::move(child.output));
    *output = nj_buffer{call->returned.back().data(), call->returned.back().size()};
  }
  return ToNjStatus(child.status);
}

ipc::DispatchBoard* WorkerHost::BoardOf(uint32_t func_id) {
  if (func_id >= boards_.size()) {
    boards_.resize(func_id + 1);
    boards_tried_.resize(func_id + 1, false);
  }
  if (!boards_tried_[func_id]) {
    boards_tried_[func_id] = true;
    // The engine makes every board before it starts any worker: none now means none.
    if (auto board = ipc::DispatchBoard::Map(root_.BoardPath(func_id)); board.ok()) {
      boards_[func_id] = std::move(*board);
    }
  }
  return boards_[func_id].get();
}

bool WorkerHost::TryDirect(uint32_t func_id, nj_call* call, Message* msg) {
  ipc::DispatchBoard* board = BoardOf(func_id);
  // Too large for the callee: the engine path answers that.
  if (board == nullptr || msg->header.payload_size > board->max_payload_bytes()) return false;
  auto claimed = board->Claim(msg->header.call_id);
  if (!claimed) return false;
  MaybeFail(FaultPoint::kAfterClaim);
  // What the engine would do to an INVOKE: the callee's timeout, capped by ours.
  const int64_t own = MonotonicNowNs() + board->timeout_ms() * 1'000'000;
  msg->header.deadline_ns = call->deadline_ns > 0 ? std::min(call->deadline_ns, own) : own;
  msg->header.type = static_cast<uint16_t>(MessageType::kDispatch);
  msg->header.flags |= proto::kFlagDirect | proto::kFlagReplyArenaOk;
  const bool delivered = SendToChannel(claimed->channel, msg);
  MaybeFail(FaultPoint::kAfterDispatch);
  // The engine's copy, after the callee has its call: off the critical path.
  Message notice = *msg;
  notice.header.type = static_cast<uint16_t>(MessageType::kDirectNotice);
  notice.header.reply_channel = claimed->channel;
  if (!delivered) notice.header.flags |= proto::kFlagUndelivered;
  (void)ipc::WriteMessage(out_.get(), &notice);  // engine gone: Wait() reports it
  MaybeFail(FaultPoint::kAfterNotice);
  return true;
}

void WorkerHost::AckFence(const Message& fence) {
  Message ack = proto::MakeMessage(MessageType::kFenceAck);
  ack.header.call_id = fence.header.call_id;
  ack.header.worker_id = static_cast<uint16_t>(options_.worker_id);
  (void)ipc::WriteMessage(out_.get(), &ack);
}

bool WorkerHost::ReadAndRoute(nj_call* call) {
  Message msg;
  if (ipc::ReadMessage(in_.get(), &msg) != ipc::ReadStatus::kMessage) return false;
  if (msg.type() == MessageType::kDispatch) {
    // Sent ahead (prefetch) before the engine knew we wait on a child: it could not start
    // before our children end, and they may need it (chain -> chain). Back to the queue.
    msg.header.type = static_cast<uint16_t>(MessageType::kDispatchReturned);
    return ipc::WriteMessage(out_.get(), &msg).ok();
  }
  if (msg.type() == MessageType::kFence) {
    // Not now: the engine takes an ack as "the claim's call is over or never came", and
    // ours is still running. Acked once its COMPLETE is written (Complete()).
    held_fences_.push_back(msg);
    return true;
  }
  if (msg.type() != MessageType::kComplete) {
    NJ_LOG(kWarning) << "unexpected message type " << msg.header.type << " while waiting";
    return true;
  }
  auto it = call->children.find(msg.header.call_id);
  if (it == call->children.end() || it->second.done) {
    // Duplicate (engine timeout raced the callee's direct answer) or stale: drop.
    ipc::DiscardPayload(root_, PayloadKind::kOutput, msg, &arenas_);
    return true;
  }
  auto payload = ipc::TakePayload(root_, PayloadKind::kOutput, msg, &arenas_);
  it->second.done = true;
  if (--call->children_running == 0) call->child_span_ns += MonotonicNowNs() - call->child_since_ns;
  if (payload.ok()) {
    it->second.status = msg.call_status();
    it->second.output = std::move(*payload);
  } else {
    it->second.status = CallStatus::kInternal;
  }
  return true;
}

}  // namespace

int RunWorker(const WorkerOptions& options) {
  ::signal(SIGPIPE, SIG_IGN);
  // Ctrl-C reaches the whole process group: the engine decides when workers stop (it
  // closes their pipes, or the launcher kills them).
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGTERM, SIG_IGN);
  ParseFaultInjection();
  InstallOutputFrames(static_cast<uint16_t>(options.worker_id));
  WorkerHost host(options);
  g_host = &host;
  if (Status st = host.Init(); !st.ok()) {
    NJ_LOG(kError) << "worker for " << options.function << " cannot start: " << st.message();
    return 2;
  }
  return host.Serve();
}

}  // namespace nightjar::worker
