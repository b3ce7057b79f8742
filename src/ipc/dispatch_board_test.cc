#include "ipc/dispatch_board.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/scratch_dir.h"
#include "proto/message.h"

namespace nightjar::ipc {
namespace {

uint64_t Call(uint32_t client, uint32_t counter) {
  return proto::CallId::Make(2, 0, client, counter);  // function 2: at or above the floor
}

class BoardTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(scratch_.ok()); }
  std::unique_ptr<DispatchBoard> Make(uint32_t slots) {
    auto b = DispatchBoard::Create(dir_ + "/board", slots, 5000, 1 << 20);
    EXPECT_TRUE(b.ok()) << b.status().message();
    return b.ok() ? std::move(*b) : nullptr;
  }
  ScratchDir scratch_{"nj-board-test"};
  const std::string& dir_ = scratch_.path();
};

TEST_F(BoardTest, AnOfferIsClaimedOnceWithItsChannel) {
  auto engine = Make(4);
  auto caller = DispatchBoard::Map(dir_ + "/board");  // another process's view
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ((*caller)->timeout_ms(), 5000);
  EXPECT_EQ((*caller)->max_payload_bytes(), 1u << 20);
  EXPECT_FALSE((*caller)->Claim(Call(1, 1)).has_value());  // nothing offered
  ASSERT_TRUE(engine->Offer(2, 77));
  EXPECT_FALSE(engine->Offer(2, 78));  // not NONE
  auto got = (*caller)->Claim(Call(1, 2));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->slot, 2u);
  EXPECT_EQ(got->channel, 77u);
  EXPECT_EQ(engine->Word(2), Call(1, 2));
  EXPECT_FALSE((*caller)->Claim(Call(1, 3)).has_value());  // given away once
  EXPECT_EQ(engine->Revoke(2), Call(1, 2));                // the engine learns of the claim
  EXPECT_FALSE(engine->Reset(2, Call(1, 9)));              // not that claim
  EXPECT_TRUE(engine->Reset(2, Call(1, 2)));
  EXPECT_EQ(engine->Word(2), 0u);
}

TEST_F(BoardTest, RevokedOffersCannotBeClaimed) {
  auto b = Make(2);
  ASSERT_TRUE(b->Offer(0, 5));
  EXPECT_EQ(b->Revoke(0), 0u);
  EXPECT_EQ(b->Revoke(0), 0u);  // nothing offered: still 0
  EXPECT_FALSE(b->Claim(Call(1, 1)).has_value());
  // Offered again, the new offer has a new epoch: only it can be claimed.
  ASSERT_TRUE(b->Offer(0, 6));
  auto got = b->Claim(Call(1, 2));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->channel, 6u);
}

TEST_F(BoardTest, ClaimsBelowTheFloorAndBadSlotsAreRefused) {
  auto b = Make(1);
  ASSERT_TRUE(b->Offer(0, 5));
  EXPECT_FALSE(b->Claim(12345).has_value());  // not a call id: would read as an offer
  EXPECT_FALSE(b->Offer(1, 5));
  EXPECT_EQ(b->Revoke(7), 0u);
  EXPECT_FALSE(b->Reset(7, Call(1, 1)));
  EXPECT_FALSE(DispatchBoard::Create(dir_ + "/x", 0, 1, 1).ok());
  EXPECT_FALSE(DispatchBoard::Create(dir_ + "/x", DispatchBoard::kMaxSlots + 1, 1, 1).ok());
  EXPECT_FALSE(DispatchBoard::Create(dir_ + "/board", 1, 1, 1).ok());  // exists
  EXPECT_FALSE(DispatchBoard::Map(dir_ + "/missing").ok());
  const std::string junk = dir_ + "/junk";
  ASSERT_EQ(std::system(("head -c 80 /dev/zero > " + junk).c_str()), 0);
  EXPECT_FALSE(DispatchBoard::Map(junk).ok());
}

// Callers on several threads race for offers while the engine offers and takes them back:
// no offer is ever claimed twice, and every claim names the channel that was offered.
TEST_F(BoardTest, RacingClaimersAndRevokesGiveEachOfferAwayAtMostOnce) {
  constexpr uint32_t kSlots = 4;
  constexpr int kRounds = 20000;
  auto b = Make(kSlots);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> claims{0}, wrong_channel{0};
  std::vector<std::thread> callers;
  for (uint32_t t = 0; t < 3; ++t) {
    callers.emplace_back([&, t] {
      uint32_t counter = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const uint64_t id = Call(t + 1, ++counter);
        if (auto got = b->Claim(id)) {
          if (got->channel != 1000 + got->slot) ++wrong_channel;
          ++claims;
        }
      }
    });
  }
  uint64_t seen = 0;
  std::set<uint64_t> ids;
  for (int r = 0; r < kRounds; ++r) {
    const uint32_t s = static_cast<uint32_t>(r) % kSlots;
    if (b->Word(s) == 0) {
      ASSERT_TRUE(b->Offer(s, 1000 + s));
    }
    if (uint64_t claim = b->Revoke(s)) {
      EXPECT_TRUE(ids.insert(claim).second) << "claim seen twice";
      EXPECT_TRUE(b->Reset(s, claim));
      ++seen;
    }
  }
  stop = true;
  for (auto& t : callers) t.join();
  for (uint32_t s = 0; s < kSlots; ++s) {
    if (uint64_t claim = b->Revoke(s)) {
      EXPECT_TRUE(b->Reset(s, claim));
      ++seen;
    }
  }
  EXPECT_EQ(wrong_channel.load(), 0u);
  EXPECT_EQ(seen, claims.load());  // every claim that won was seen by the engine, once
}

}  // namespace
}  // namespace nightjar::ipc
