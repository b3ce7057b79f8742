// WorkerChannel implementation.
#include "engine/worker_channel.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/logging.h"
#include "engine/engine.h"
#include "ipc/channel.h"

namespace nightjar::engine {

using proto::Message;

WorkerChannel::WorkerChannel(Engine* engine, uint32_t function_id, io::EventLoop* loop,
                             uint64_t channel, uint16_t worker_id)
    : engine_(engine),
      function_id_(function_id),
      loop_(loop),
      channel_(channel),
      worker_id_(worker_id) {}

WorkerChannel::~WorkerChannel() = default;

Status WorkerChannel::Open(const ipc::IpcRoot& root) {
  const std::string in_path = root.FifoPath(channel_, ipc::FifoEnd::kWorkerInput);
  const std::string out_path = root.FifoPath(channel_, ipc::FifoEnd::kWorkerOutput);
  NJ_RETURN_IF_ERROR(ipc::MakeFifo(in_path));
  NJ_RETURN_IF_ERROR(ipc::MakeFifo(out_path));
  auto out = ipc::OpenFifo(out_path, O_RDONLY | O_NONBLOCK);
  if (!out.ok()) return out.status();
  out_fd_ = std::move(*out);
  // EPOLLIN only: until the worker opens its write end, the FIFO has never had a writer
  // and reports no hang-up.
  return loop_->Watch(out_fd_.get(), EPOLLIN, this);
}

Status WorkerChannel::OpenInput(const ipc::IpcRoot& root) {
  auto in = ipc::OpenFifo(root.FifoPath(channel_, ipc::FifoEnd::kWorkerInput),
                          O_WRONLY | O_NONBLOCK);
  if (!in.ok()) return in.status();
  std::lock_guard<std::mutex> lock(backlog_mu_);
  in_fd_ = std::move(*in);
  return Status::Ok();
}

void WorkerChannel::Send(Message* msg) {
  std::lock_guard<std::mutex> lock(backlog_mu_);
  if (closed_ || !in_fd_.valid()) return;  // a dead worker's messages go nowhere
  if (backlog_.empty()) {
    Status st = ipc::WriteMessage(in_fd_.get(), msg);
    if (st.ok()) return;
    if (errno != EAGAIN) return;  // EPIPE: the worker died; its death is handled elsewhere
  }
  // Full pipe (the worker is slow to drain completions): keep order, retry from the loop.
  backlog_.push_back(*msg);
  if (!flush_scheduled_) {
    flush_scheduled_ = true;
    auto self = engine_->FindChannel(channel_);
    loop_->Post([self] {
      if (self) self->loop()->RunAfterMs(1, [self] { self->FlushBacklog(); });
    });
  }
}

void WorkerChannel::FlushBacklog() {
  std::lock_guard<std::mutex> lock(backlog_mu_);
  flush_scheduled_ = false;
  while (!closed_ && in_fd_.valid() && !backlog_.empty()) {
    Status st = ipc::WriteMessage(in_fd_.get(), &backlog_.front());
    if (!st.ok()) {
      if (errno != EAGAIN) {
        backlog_.clear();
        return;
      }
      flush_scheduled_ = true;
      auto self = engine_->FindChannel(channel_);
      loop_->RunAfterMs(1, [self] {
        if (self) self->FlushBacklog();
      });
      return;
    }
    backlog_.pop_front();
  }
}

void WorkerChannel::Close(const ipc::IpcRoot& root) {
  {
    std::lock_guard<std::mutex> lock(backlog_mu_);
    if (closed_) return;
    closed_ = true;
    backlog_.clear();
    in_fd_.Reset();
  }
  if (out_fd_.valid()) loop_->Unwatch(out_fd_.get());
  out_fd_.Reset();
  ::unlink(root.FifoPath(channel_, ipc::FifoEnd::kWorkerInput).c_str());
  ::unlink(root.FifoPath(channel_, ipc::FifoEnd::kWorkerOutput).c_str());
}

void WorkerChannel::OnEvents(uint32_t events) {
  // A message may make the engine drop this channel (a worker that cannot be reached after
  // its hello, during shutdown): keep it alive until this batch is handled. Found by ASan.
  const std::shared_ptr<WorkerChannel> keep = weak_from_this().lock();
  if (keep == nullptr) return;
  // Drain in batches: writes are atomic 1024-byte units, so a read returns whole messages.
  constexpr int kBatch = 16;
  Message batch[kBatch];
  for (;;) {
    ssize_t n = ::read(out_fd_.get(), batch, sizeof(batch));
    if (n > 0) {
      size_t count = static_cast<size_t>(n) / sizeof(Message);
      if (static_cast<size_t>(n) % sizeof(Message) != 0) {
        NJ_LOG(kError) << "torn message from worker channel " << channel_;
        engine_->OnWorkerGone(channel_);
        return;
      }
      for (size_t i = 0; i < count && !closed_; ++i) engine_->OnWorkerMessage(this, batch[i]);
      if (closed_) return;
      if (static_cast<size_t>(n) < sizeof(batch)) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EOF: the worker (the only writer) is gone.
    engine_->OnWorkerGone(channel_);
    return;
  }
  (void)events;
}

}  // namespace nightjar::engine
