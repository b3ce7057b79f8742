#include "engine/call_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <latch>
#include <memory>
#include <set>
#include <thread>
#include <vector>

namespace nightjar::engine {
namespace {

constexpr int64_t kNow = 1'000'000'000'000;

// Inserts a fresh record (the table takes it only when the id is new).
bool Put(CallTable& t, std::unique_ptr<CallRecord> rec) { return t.Insert(&rec); }

std::unique_ptr<CallRecord> Rec(uint64_t id, uint32_t function_id = 1) {
  auto r = std::make_unique<CallRecord>();
  r->call_id = id;
  r->function_id = function_id;
  r->deadline_ns = kNow + 1'000'000'000;
  r->dispatch = proto::MakeMessage(proto::MessageType::kDispatch);
  r->dispatch.header.call_id = id;
  return r;
}

TEST(CallTableTest, InsertRefusesDuplicatesAndTakeRemovesOnce) {
  CallTable t;
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(Put(t, Rec(5, 7)));
  EXPECT_TRUE(t.Contains(5));
  EXPECT_FALSE(t.Contains(6));
  EXPECT_FALSE(Put(t, Rec(5, 8)));  // same id: refused, the first record stays
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.Take(6), nullptr);
  auto r = t.Take(5);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->call_id, 5u);
  EXPECT_EQ(r->function_id, 7u);
  EXPECT_EQ(t.Take(5), nullptr);  // whoever took it answers it; nobody else finds it
  EXPECT_FALSE(t.Contains(5));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(Put(t, Rec(5, 9)));  // the id is free again
}

TEST(CallTableTest, MarkDispatchedCopiesMessageAndRecordsCallee) {
  CallTable t;
  auto r = Rec(11);
  r->dispatch.header.deadline_ns = r->deadline_ns;
  r->dispatch.header.payload_size = 3;
  std::memcpy(r->dispatch.payload, "abc", 3);
  proto::Message want = r->dispatch;
  ASSERT_TRUE(t.Insert(&r));

  proto::Message out = proto::MakeMessage(proto::MessageType::kInvalid);
  ASSERT_TRUE(t.MarkDispatched(11, 77, kNow, &out));
  EXPECT_EQ(std::memcmp(&out, &want, sizeof(proto::Message)), 0);
  EXPECT_EQ(t.size(), 1u);  // still in flight
  auto taken = t.Take(11);
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(taken->callee_channel, 77u);

  proto::Message untouched = proto::MakeMessage(proto::MessageType::kInvalid);
  EXPECT_FALSE(t.MarkDispatched(11, 78, kNow, &untouched));  // absent
  EXPECT_EQ(untouched.type(), proto::MessageType::kInvalid);
}

TEST(CallTableTest, MarkDispatchedRefusesExpiredCalls) {
  CallTable t;
  auto r = Rec(12);
  r->deadline_ns = kNow;
  ASSERT_TRUE(t.Insert(&r));
  proto::Message out = proto::MakeMessage(proto::MessageType::kInvalid);
  EXPECT_TRUE(t.MarkDispatched(12, 1, kNow - 1, &out));
  EXPECT_FALSE(t.MarkDispatched(12, 2, kNow, &out));  // deadline reached
  auto taken = t.Take(12);  // left for the deadline timer to answer
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(taken->callee_channel, 1u);
}

TEST(CallTableTest, TakeAllEmptiesTheTable) {
  CallTable t;
  for (uint64_t id : {1, 2, 3}) ASSERT_TRUE(Put(t, Rec(id)));
  auto all = t.TakeAll();
  ASSERT_EQ(all.size(), 3u);
  std::set<uint64_t> ids;
  for (auto& r : all) {
    ASSERT_NE(r, nullptr);
    ids.insert(r->call_id);
  }
  EXPECT_EQ(ids, (std::set<uint64_t>{1, 2, 3}));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.Take(2), nullptr);
  EXPECT_TRUE(t.TakeAll().empty());
}

TEST(CallTableTest, RacingTakesAnswerEachCallExactlyOnce) {
  constexpr int kThreads = 8;
  constexpr uint64_t kCalls = 2000;
  CallTable t;
  for (uint64_t id = 1; id <= kCalls; ++id) ASSERT_TRUE(Put(t, Rec(id)));
  std::vector<std::atomic<int>> taken(kCalls + 1);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();  // all threads race from the same moment
      // Half walk up, half walk down, so the same ids are contended from both ends.
      for (uint64_t k = 0; k < kCalls; ++k) {
        uint64_t id = (i % 2 == 0) ? k + 1 : kCalls - k;
        if (auto r = t.Take(id)) {
          if (r->call_id == id) taken[id].fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  int total = 0;
  for (uint64_t id = 1; id <= kCalls; ++id) {
    EXPECT_EQ(taken[id].load(), 1) << "call " << id;
    total += taken[id].load();
  }
  EXPECT_EQ(total, static_cast<int>(kCalls));
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace nightjar::engine
