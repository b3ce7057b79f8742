#include "ipc/channel.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/scratch_dir.h"
#include "ipc/ipc_root.h"
#include "ipc/payload_arena.h"

namespace nightjar::ipc {
namespace {

namespace fs = std::filesystem;
using proto::Message;
using proto::MessageType;

std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 8)) & 0xff);
  return s;
}

bool Exists(const std::string& p) { return fs::exists(fs::symlink_status(p)); }

// Each test gets a scratch base under /dev/shm (or /tmp) and one IpcRoot inside it.
class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(scratch_.ok());
    auto root = IpcRoot::Create(base_);
    ASSERT_TRUE(root.ok()) << root.status().message();
    root_ = std::make_unique<IpcRoot>(std::move(*root));
  }
  // A FIFO with a non-blocking read end and a blocking write end.
  void OpenPipe(UniqueFd* rd, UniqueFd* wr) {
    const std::string path = root_->FifoPath(1, FifoEnd::kWorkerOutput);
    ASSERT_TRUE(MakeFifo(path).ok());
    auto r = OpenFifo(path, O_RDONLY | O_NONBLOCK);
    ASSERT_TRUE(r.ok()) << r.status().message();
    auto w = OpenFifo(path, O_WRONLY);
    ASSERT_TRUE(w.ok()) << w.status().message();
    *rd = std::move(*r);
    *wr = std::move(*w);
  }
  Message MsgWithId(uint64_t call_id) {
    Message m = proto::MakeMessage(MessageType::kComplete);
    m.header.call_id = call_id;
    return m;
  }

  ScratchDir scratch_{"nj-ipc-test"};
  const std::string& base_ = scratch_.path();
  std::unique_ptr<IpcRoot> root_;
};

using IpcRootTest = ChannelTest;

TEST_F(IpcRootTest, CreateMakesUniqueDirsWithShm) {
  auto other = IpcRoot::Create(base_);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->dir(), root_->dir());
  for (const IpcRoot* r : {root_.get(), &*other}) {
    EXPECT_EQ(r->dir().rfind(base_ + "/", 0), 0u) << r->dir();
    EXPECT_TRUE(fs::is_directory(r->dir()));
    EXPECT_TRUE(fs::is_directory(r->dir() + "/shm"));
  }
  // A missing base is created; a base that is a regular file is an error.
  auto nested = IpcRoot::Create(base_ + "/a/b");
  ASSERT_TRUE(nested.ok());
  EXPECT_TRUE(fs::is_directory(nested->dir() + "/shm"));
  std::FILE* f = std::fopen((base_ + "/file").c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  EXPECT_FALSE(IpcRoot::Create(base_ + "/file").ok());
}

TEST_F(IpcRootTest, RemoveAllRemovesFifosAndRegions) {
  ASSERT_TRUE(MakeFifo(root_->FifoPath(3, FifoEnd::kWorkerInput)).ok());
  ASSERT_TRUE(MakeFifo(root_->FifoPath(3, FifoEnd::kWorkerOutput)).ok());
  Message m = MsgWithId(99);
  ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kOutput, Pattern(5000, 1), &m).ok());
  ASSERT_TRUE(Exists(root_->PayloadPath(99, PayloadKind::kOutput)));
  root_->RemoveAll();
  EXPECT_FALSE(Exists(root_->dir()));
  EXPECT_TRUE(fs::is_directory(base_));  // only the instance directory goes
}

TEST_F(IpcRootTest, PathNaming) {
  const std::string& d = root_->dir();
  EXPECT_EQ(root_->FifoPath(7, FifoEnd::kWorkerInput), d + "/ch-7.in");
  EXPECT_EQ(root_->FifoPath(7, FifoEnd::kWorkerOutput), d + "/ch-7.out");
  EXPECT_EQ(root_->FifoPath(UINT64_MAX, FifoEnd::kWorkerOutput), d + "/ch-18446744073709551615.out");
  EXPECT_EQ(root_->PayloadPath(0x1234, PayloadKind::kInput), d + "/shm/0000000000001234.in");
  EXPECT_EQ(root_->PayloadPath(0xfedcba9876543210ull, PayloadKind::kOutput),
            d + "/shm/fedcba9876543210.out");
  EXPECT_EQ(root_->FunctionDirectoryPath(), d + "/functions");
  EXPECT_EQ(root_->LauncherSocketPath(), d + "/launcher.sock");
  EXPECT_EQ(IpcRoot::Attach(d).PayloadPath(1, PayloadKind::kInput), d + "/shm/0000000000000001.in");
}

TEST_F(ChannelTest, OpenWriteEndNonBlockingNeedsReader) {
  const std::string path = root_->FifoPath(2, FifoEnd::kWorkerInput);
  ASSERT_TRUE(MakeFifo(path).ok());
  EXPECT_FALSE(MakeFifo(path).ok());  // EEXIST
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto no_reader = OpenFifo(path, O_WRONLY | O_NONBLOCK);
  EXPECT_FALSE(no_reader.ok());  // ENXIO
  auto reader = OpenFifo(path, O_RDONLY | O_NONBLOCK);
  ASSERT_TRUE(reader.ok());
  auto writer = OpenFifo(path, O_WRONLY | O_NONBLOCK);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  EXPECT_TRUE(::fcntl(writer->get(), F_GETFD) & FD_CLOEXEC);
  EXPECT_FALSE(OpenFifo(root_->dir() + "/missing", O_RDONLY | O_NONBLOCK).ok());
}

TEST_F(ChannelTest, MessageRoundTripsThroughFifo) {
  UniqueFd rd, wr;
  ASSERT_NO_FATAL_FAILURE(OpenPipe(&rd, &wr));
  Message m = proto::MakeMessage(MessageType::kDispatch);
  m.header.flags = 0x8000;  // an unassigned bit: must travel untouched
  m.header.status = 3;
  m.header.worker_id = 17;
  m.header.call_id = proto::CallId::Make(5, 1, 9, 12345);
  m.header.parent_call_id = 0xabcdef;
  m.header.deadline_ns = 987654321;
  m.header.reply_channel = 44;
  m.header.dispatch_delay_us = 55;
  const std::string body = Pattern(proto::kInlinePayloadSize, 3);
  ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kInput, body, &m).ok());
  const int64_t before = MonotonicNowNs();
  ASSERT_TRUE(WriteMessage(wr.get(), &m).ok());
  EXPECT_GE(m.header.send_ts_ns, before);
  EXPECT_LE(m.header.send_ts_ns, MonotonicNowNs());

  Message got;
  ASSERT_EQ(ReadMessage(rd.get(), &got), ReadStatus::kMessage);
  EXPECT_EQ(std::memcmp(&got, &m, sizeof(Message)), 0);
  EXPECT_EQ(got.type(), MessageType::kDispatch);
  EXPECT_EQ(got.header.worker_id, 17);
  EXPECT_EQ(got.header.call_id, proto::CallId::Make(5, 1, 9, 12345));
  EXPECT_EQ(got.header.send_ts_ns, m.header.send_ts_ns);
  EXPECT_EQ(got.header.payload_size, proto::kInlinePayloadSize);
  auto out = TakePayload(*root_, PayloadKind::kInput, got, nullptr);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, body);
}

TEST_F(ChannelTest, ReadReportsWouldBlockThenEof) {
  UniqueFd rd, wr;
  ASSERT_NO_FATAL_FAILURE(OpenPipe(&rd, &wr));
  Message got;
  EXPECT_EQ(ReadMessage(rd.get(), &got), ReadStatus::kWouldBlock);
  Message m = MsgWithId(1);
  ASSERT_TRUE(WriteMessage(wr.get(), &m).ok());
  wr.Reset();
  EXPECT_EQ(ReadMessage(rd.get(), &got), ReadStatus::kMessage);  // queued data survives close
  EXPECT_EQ(got.header.call_id, 1u);
  EXPECT_EQ(ReadMessage(rd.get(), &got), ReadStatus::kEof);
  EXPECT_EQ(ReadMessage(-1, &got), ReadStatus::kError);
}

TEST_F(ChannelTest, SmallPayloadsStayInline) {
  for (size_t n : {size_t{0}, size_t{1}, proto::kInlinePayloadSize}) {
    Message m = MsgWithId(100 + n);
    m.header.flags = proto::kFlagPayloadInShm | 0x8000;  // stale shm flag is cleared
    const std::string body = Pattern(n, static_cast<uint32_t>(n));
    ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kOutput, body, &m).ok());
    EXPECT_FALSE(m.payload_in_shm()) << n;
    EXPECT_EQ(m.header.flags, 0x8000);
    EXPECT_EQ(m.header.payload_size, n);
    EXPECT_FALSE(Exists(root_->PayloadPath(100 + n, PayloadKind::kOutput)));
    auto out = TakePayload(*root_, PayloadKind::kOutput, m, nullptr);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(*out, body);
  }
  EXPECT_TRUE(fs::is_empty(root_->dir() + "/shm"));
}

TEST_F(ChannelTest, LargePayloadsGoThroughShm) {
  for (size_t n : {proto::kInlinePayloadSize + 1, size_t{1} << 20}) {
    Message m = MsgWithId(200 + n);
    const std::string body = Pattern(n, 9);
    ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kInput, body, &m).ok());
    EXPECT_TRUE(m.payload_in_shm());
    EXPECT_EQ(m.header.payload_size, n);
    const std::string path = root_->PayloadPath(200 + n, PayloadKind::kInput);
    ASSERT_TRUE(Exists(path));
    EXPECT_EQ(fs::file_size(path), n);
    // The region is written once: a second attach for the same call and kind fails.
    Message dup = MsgWithId(200 + n);
    EXPECT_FALSE(AttachPayload(*root_, PayloadKind::kInput, body, &dup).ok());
    auto out = TakePayload(*root_, PayloadKind::kInput, m, nullptr);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(out->size(), n);
    EXPECT_TRUE(*out == body);
    EXPECT_FALSE(Exists(path));
    EXPECT_FALSE(TakePayload(*root_, PayloadKind::kInput, m, nullptr).ok());  // consumed once
  }
}

TEST_F(ChannelTest, DiscardAndRemoveDeleteRegions) {
  const std::string big = Pattern(4096, 2);
  Message in = MsgWithId(7), out = MsgWithId(7), other = MsgWithId(8);
  ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kInput, big, &in).ok());
  ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kOutput, big, &out).ok());
  ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kOutput, big, &other).ok());
  DiscardPayload(*root_, PayloadKind::kOutput, other, nullptr);
  EXPECT_FALSE(Exists(root_->PayloadPath(8, PayloadKind::kOutput)));
  EXPECT_TRUE(Exists(root_->PayloadPath(7, PayloadKind::kInput)));
  RemovePayload(*root_, 7, PayloadKind::kInput);
  RemovePayload(*root_, 7, PayloadKind::kOutput);
  EXPECT_FALSE(Exists(root_->PayloadPath(7, PayloadKind::kInput)));
  EXPECT_FALSE(Exists(root_->PayloadPath(7, PayloadKind::kOutput)));
  RemovePayload(*root_, 7, PayloadKind::kInput);  // absent: no-op
  Message inline_msg = MsgWithId(9);
  ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kOutput, "x", &inline_msg).ok());
  DiscardPayload(*root_, PayloadKind::kOutput, inline_msg, nullptr);  // no region: no-op
  EXPECT_TRUE(fs::is_empty(root_->dir() + "/shm"));
}

TEST_F(ChannelTest, TakePayloadFailsOnMissingOrShortRegion) {
  Message m = MsgWithId(11);
  m.header.flags = proto::kFlagPayloadInShm;
  m.header.payload_size = 2000;
  EXPECT_FALSE(TakePayload(*root_, PayloadKind::kOutput, m, nullptr).ok());
  {
    std::FILE* f = std::fopen(root_->PayloadPath(11, PayloadKind::kOutput).c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("only a few bytes", f);
    std::fclose(f);
  }
  EXPECT_FALSE(TakePayload(*root_, PayloadKind::kOutput, m, nullptr).ok());
  Message bad = MsgWithId(12);  // inline size beyond the inline area: rejected
  bad.header.payload_size = proto::kInlinePayloadSize + 1;
  EXPECT_FALSE(TakePayload(*root_, PayloadKind::kOutput, bad, nullptr).ok());
}

TEST_F(ChannelTest, PayloadKindOfMessageTypes) {
  EXPECT_EQ(PayloadKindOf(MessageType::kDispatch), PayloadKind::kInput);
  EXPECT_EQ(PayloadKindOf(MessageType::kInvoke), PayloadKind::kInput);
  EXPECT_EQ(PayloadKindOf(MessageType::kComplete), PayloadKind::kOutput);
  EXPECT_EQ(PayloadKindOf(MessageType::kCompleteNotice), PayloadKind::kOutput);
}

TEST_F(ChannelTest, ConcurrentWritersNeverInterleave) {
  constexpr uint32_t kWriters = 4, kPerWriter = 400;
  const std::string path = root_->FifoPath(5, FifoEnd::kWorkerInput);
  ASSERT_TRUE(MakeFifo(path).ok());
  auto rd = OpenFifo(path, O_RDONLY | O_NONBLOCK);
  ASSERT_TRUE(rd.ok());
  ASSERT_EQ(::fcntl(rd->get(), F_SETFL, ::fcntl(rd->get(), F_GETFL) & ~O_NONBLOCK), 0);
  std::vector<UniqueFd> fds;
  for (uint32_t t = 0; t < kWriters; ++t) {
    auto wr = OpenFifo(path, O_WRONLY);  // a reader exists: returns at once
    ASSERT_TRUE(wr.ok());
    fds.push_back(std::move(*wr));
  }
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kWriters; ++t) {
    threads.emplace_back([t, fd = std::move(fds[t])]() mutable {
      for (uint32_t i = 0; i < kPerWriter; ++i) {
        Message m = proto::MakeMessage(MessageType::kComplete);
        m.header.call_id = (uint64_t{t} << 32) | i;
        m.header.payload_size = proto::kInlinePayloadSize;
        std::string p = Pattern(proto::kInlinePayloadSize, t * 100000 + i);
        std::memcpy(m.payload, p.data(), p.size());
        if (!WriteMessage(fd.get(), &m).ok()) return;  // shows up as a missing message
      }
    });
  }
  // The writer fds live only in the threads: EOF comes once every writer is done.
  std::vector<uint32_t> next(kWriters, 0);
  uint32_t total = 0, bad = 0;
  Message got;
  while (ReadMessage(rd->get(), &got) == ReadStatus::kMessage) {
    ++total;
    uint32_t t = static_cast<uint32_t>(got.header.call_id >> 32);
    uint32_t i = static_cast<uint32_t>(got.header.call_id);
    std::string want = Pattern(proto::kInlinePayloadSize, t * 100000 + i);
    if (t >= kWriters || i != next[t] || got.type() != MessageType::kComplete ||
        std::memcmp(got.payload, want.data(), want.size()) != 0) {
      ++bad;
      continue;
    }
    ++next[t];
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(total, kWriters * kPerWriter);
  for (uint32_t t = 0; t < kWriters; ++t) EXPECT_EQ(next[t], kPerWriter) << "writer " << t;
}


// ---------------------------------------------------------------------------------------
// Payload arenas (payload_arena.h)

class ArenaTest : public ChannelTest {
 protected:
  std::shared_ptr<PayloadArena> MakeArena(uint64_t owner, uint32_t slots) {
    auto a = PayloadArena::Create(root_->ArenaPath(owner), slots);
    EXPECT_TRUE(a.ok()) << a.status().message();
    return a.ok() ? std::shared_ptr<PayloadArena>(std::move(*a)) : nullptr;
  }
  Message Big(uint64_t call_id) {
    Message m = proto::MakeMessage(MessageType::kInvoke);
    m.header.call_id = call_id;
    return m;
  }
};

TEST_F(ArenaTest, PayloadTravelsThroughASlotAndTheSlotIsFreedByItsReader) {
  auto arena = MakeArena(7, 4);
  ArenaMap readers(*root_);  // maps arena 7 from its file, as another process would
  for (size_t n : {proto::kInlinePayloadSize + 1, size_t{1024}, size_t{16 * 1024},
                   size_t{PayloadArena::kSlotBytes}}) {
    Message m = Big(100 + n);
    const std::string body = Pattern(n, static_cast<uint32_t>(n));
    ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kInput, body, &m, {arena.get(), 7}).ok());
    EXPECT_TRUE(m.payload_in_arena());
    EXPECT_FALSE(m.payload_in_shm());
    EXPECT_FALSE(Exists(root_->PayloadPath(m.header.call_id, PayloadKind::kInput)));
    EXPECT_EQ(arena->Used(), 1u);
    auto out = TakePayload(*root_, PayloadKind::kInput, m, &readers);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(*out, body);
    EXPECT_EQ(arena->Used(), 0u);
    // Consumed once: the slot no longer holds this call's payload.
    EXPECT_FALSE(TakePayload(*root_, PayloadKind::kInput, m, &readers).ok());
  }
}

TEST_F(ArenaTest, FallsBackToARegionWhenFullOrTooBig) {
  auto arena = MakeArena(3, 2);
  ArenaMap readers(*root_);
  std::vector<Message> held;
  for (uint64_t id = 1; id <= 3; ++id) {
    Message m = Big(id);
    ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kInput, Pattern(2000, 1), &m, {arena.get(), 3}).ok());
    held.push_back(m);
  }
  EXPECT_TRUE(held[0].payload_in_arena());
  EXPECT_TRUE(held[1].payload_in_arena());
  EXPECT_TRUE(held[2].payload_in_shm());  // both slots in use
  Message huge = Big(9);
  ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kInput,
                            Pattern(PayloadArena::kSlotBytes + 1, 2), &huge, {arena.get(), 3}).ok());
  EXPECT_TRUE(huge.payload_in_shm());
  for (const Message& m : held) {
    auto out = TakePayload(*root_, PayloadKind::kInput, m, &readers);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(*out, Pattern(2000, 1));
  }
  EXPECT_TRUE(TakePayload(*root_, PayloadKind::kInput, huge, &readers).ok());
  EXPECT_EQ(arena->Used(), 0u);
}

TEST_F(ArenaTest, DiscardFreesOnlyTheSlotOfThatCall) {
  auto arena = MakeArena(5, 1);
  ArenaMap readers(*root_);
  Message a = Big(11);
  ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kInput, Pattern(3000, 3), &a, {arena.get(), 5}).ok());
  DiscardPayload(*root_, PayloadKind::kInput, a, &readers);
  EXPECT_EQ(arena->Used(), 0u);
  // The slot is reused by call 12; a late discard of call 11 must not free it.
  Message b = Big(12);
  ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kInput, Pattern(3000, 4), &b, {arena.get(), 5}).ok());
  ASSERT_TRUE(b.payload_in_arena());
  DiscardPayload(*root_, PayloadKind::kInput, a, &readers);
  EXPECT_FALSE(TakePayload(*root_, PayloadKind::kInput, a, &readers).ok());
  auto out = TakePayload(*root_, PayloadKind::kInput, b, &readers);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, Pattern(3000, 4));
}

TEST_F(ArenaTest, ForgedReferencesAreRefused) {
  auto arena = MakeArena(6, 2);
  ArenaMap readers(*root_);
  Message m = Big(21);
  ASSERT_TRUE(AttachPayload(*root_, PayloadKind::kInput, Pattern(1500, 5), &m, {arena.get(), 6}).ok());
  ArenaRef ref;
  std::memcpy(&ref, m.payload, sizeof(ref));
  Message bad = m;  // slot out of range
  ArenaRef r2 = ref;
  r2.slot = 99;
  std::memcpy(bad.payload, &r2, sizeof(r2));
  EXPECT_FALSE(TakePayload(*root_, PayloadKind::kInput, bad, &readers).ok());
  bad = m;  // size over a slot
  bad.header.payload_size = PayloadArena::kSlotBytes + 1;
  EXPECT_FALSE(TakePayload(*root_, PayloadKind::kInput, bad, &readers).ok());
  bad = m;  // another call's id
  bad.header.call_id = 22;
  EXPECT_FALSE(TakePayload(*root_, PayloadKind::kInput, bad, &readers).ok());
  bad = m;  // an owner with no arena
  r2 = ref;
  r2.owner = 12345;
  std::memcpy(bad.payload, &r2, sizeof(r2));
  EXPECT_FALSE(TakePayload(*root_, PayloadKind::kInput, bad, &readers).ok());
  EXPECT_FALSE(TakePayload(*root_, PayloadKind::kInput, m, nullptr).ok());  // reader without arenas
  auto out = TakePayload(*root_, PayloadKind::kInput, m, &readers);  // the real one still works
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, Pattern(1500, 5));
}

TEST_F(ArenaTest, MalformedArenaFilesAreRefused) {
  const std::string path = root_->ArenaPath(8);
  {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600));
    ASSERT_TRUE(fd.valid());
    ASSERT_EQ(::ftruncate(fd.get(), 4096 + PayloadArena::kSlotBytes), 0);  // no magic
  }
  EXPECT_FALSE(PayloadArena::Map(path).ok());
  EXPECT_FALSE(PayloadArena::Map(root_->ArenaPath(9)).ok());  // missing
  EXPECT_FALSE(PayloadArena::Create(path, 1).ok());           // exists
  EXPECT_FALSE(PayloadArena::Create(root_->ArenaPath(10), 0).ok());
}

// Writers claim slots from several threads (the engine's arena is shared by its loops)
// while readers free them: every payload arrives intact, and no slot is lost.
TEST_F(ArenaTest, ConcurrentWritersAndReadersLoseNothing) {
  auto arena = MakeArena(0, 8);
  ArenaMap readers(*root_);
  constexpr int kThreads = 4, kPerThread = 2000;
  std::atomic<int> bad{0}, fallbacks{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Message m = Big((static_cast<uint64_t>(t + 1) << 32) | static_cast<uint64_t>(i + 1));
        const std::string body = Pattern(1000 + (i % 7) * 900, static_cast<uint32_t>(t * 7919 + i));
        if (!AttachPayload(*root_, PayloadKind::kInput, body, &m, {arena.get(), 0}).ok()) {
          ++bad;
          continue;
        }
        if (!m.payload_in_arena()) ++fallbacks;
        auto out = TakePayload(*root_, PayloadKind::kInput, m, &readers);
        if (!out.ok() || *out != body) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(fallbacks.load(), 0);  // 4 threads never hold more than 8 slots
  EXPECT_EQ(arena->Used(), 0u);
}

}  // namespace
}  // namespace nightjar::ipc
