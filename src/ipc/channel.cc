// Message channel primitives (see channel.h for the region ownership rules).
#include "ipc/channel.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/clock.h"

namespace nightjar::ipc {

using proto::Message;

Status MakeFifo(const std::string& path) {
  if (::mkfifo(path.c_str(), 0600) != 0) return Status::FromErrno("mkfifo " + path);
  return Status::Ok();
}

Result<UniqueFd> OpenFifo(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status(StatusCode::kUnavailable, "open " + path + ": " + std::strerror(errno));
  return UniqueFd(fd);
}

namespace {
Status WriteAllToFile(const std::string& path, std::string_view data) {
  // O_EXCL: a region is written exactly once by its creator.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return Status::FromErrno("create payload region " + path);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status st = Status::FromErrno("write payload region " + path);
      ::unlink(path.c_str());
      return st;
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}
}  // namespace

Status AttachPayload(const IpcRoot& root, PayloadKind kind, std::string_view payload,
                     Message* msg, ArenaWriter arena) {
  msg->header.payload_size = static_cast<uint32_t>(payload.size());
  msg->header.flags &= ~(proto::kFlagPayloadInShm | proto::kFlagPayloadInArena);
  if (payload.size() <= proto::kInlinePayloadSize) {
    if (!payload.empty()) std::memcpy(msg->payload, payload.data(), payload.size());
    return Status::Ok();
  }
  if (arena.arena != nullptr) {
    if (auto slot = arena.arena->Put(msg->header.call_id, payload)) {
      const ArenaRef ref{arena.owner, *slot, 0};
      std::memcpy(msg->payload, &ref, sizeof(ref));
      msg->header.flags |= proto::kFlagPayloadInArena;
      return Status::Ok();
    }
  }
  msg->header.flags |= proto::kFlagPayloadInShm;
  return WriteAllToFile(root.PayloadPath(msg->header.call_id, kind), payload);
}

Status WriteMessage(int fd, Message* msg) {
  msg->header.send_ts_ns = MonotonicNowNs();
  for (;;) {
    ssize_t n = ::write(fd, msg, sizeof(Message));
    if (n == static_cast<ssize_t>(sizeof(Message))) return Status::Ok();
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status(StatusCode::kUnavailable, std::string("pipe write: ") + std::strerror(errno));
    // A short write cannot happen for <= PIPE_BUF bytes on a pipe.
    return Internal("short pipe write");
  }
}

ReadStatus ReadMessage(int fd, Message* msg) {
  auto* p = reinterpret_cast<char*>(msg);
  size_t got = 0;
  while (got < sizeof(Message)) {
    ssize_t n = ::read(fd, p + got, sizeof(Message) - got);
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return ReadStatus::kEof;
    if (errno == EINTR) continue;
    // Writes are atomic, so a partially read message is never left behind on EAGAIN.
    if (errno == EAGAIN && got == 0) return ReadStatus::kWouldBlock;
    if (errno == EAGAIN) continue;
    return ReadStatus::kError;
  }
  return ReadStatus::kMessage;
}

namespace {
ArenaRef ArenaRefOf(const Message& msg) {
  ArenaRef ref;
  std::memcpy(&ref, msg.payload, sizeof(ref));
  return ref;
}
}  // namespace

Result<std::string> TakePayload(const IpcRoot& root, PayloadKind kind, const Message& msg,
                                ArenaMap* arenas) {
  size_t size = msg.header.payload_size;
  if (msg.payload_in_arena()) {
    if (arenas == nullptr) return Internal("payload in an arena this reader does not map");
    const ArenaRef ref = ArenaRefOf(msg);
    auto arena = arenas->Get(ref.owner);
    if (!arena.ok()) return arena.status();
    return (*arena)->Take(ref.slot, msg.header.call_id, msg.header.payload_size);
  }
  if (!msg.payload_in_shm()) {
    if (size > proto::kInlinePayloadSize) return InvalidArgument("inline payload size out of range");
    return std::string(reinterpret_cast<const char*>(msg.payload), size);
  }
  std::string path = root.PayloadPath(msg.header.call_id, kind);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno("open payload region " + path);
  ::unlink(path.c_str());  // the consumer deletes; the open fd keeps the data readable
  // The header is untrusted: check the region really holds what it claims before
  // allocating for it.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || static_cast<size_t>(st.st_size) != size) {
    return InvalidArgument("payload region " + path + " does not match its message's size");
  }
  std::string out;
  out.resize(size);
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::read(fd.get(), out.data() + off, size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Internal("payload region " + path + " is short");
    off += static_cast<size_t>(n);
  }
  return out;
}

void DiscardPayload(const IpcRoot& root, PayloadKind kind, const Message& msg,
                    ArenaMap* arenas) {
  if (msg.payload_in_arena() && arenas != nullptr) {
    const ArenaRef ref = ArenaRefOf(msg);
    if (auto arena = arenas->Get(ref.owner); arena.ok()) (*arena)->Release(ref.slot, msg.header.call_id);
    return;
  }
  if (msg.payload_in_shm()) RemovePayload(root, msg.header.call_id, kind);
}

void RemovePayload(const IpcRoot& root, uint64_t call_id, PayloadKind kind) {
  ::unlink(root.PayloadPath(call_id, kind).c_str());
}

PayloadKind PayloadKindOf(proto::MessageType type) {
  return (type == proto::MessageType::kInvoke || type == proto::MessageType::kDispatch)
             ? PayloadKind::kInput
             : PayloadKind::kOutput;
}

}  // namespace nightjar::ipc
