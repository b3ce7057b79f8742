#include "proto/message.h"

#include <gtest/gtest.h>

#include "proto/function_directory.h"

namespace nightjar::proto {
namespace {

TEST(CallIdTest, RoundTripsEveryField) {
  uint64_t id = CallId::Make(4095, 63, 16383, 0xfffffffe);
  EXPECT_EQ(CallId::FunctionId(id), 4095u);
  EXPECT_EQ(CallId::MethodId(id), 63u);
  EXPECT_EQ(CallId::ClientId(id), 16383u);
  EXPECT_EQ(CallId::Counter(id), 0xfffffffeu);
  uint64_t small = CallId::Make(1, 0, 2, 3);
  EXPECT_EQ(CallId::FunctionId(small), 1u);
  EXPECT_EQ(CallId::MethodId(small), 0u);
  EXPECT_EQ(CallId::ClientId(small), 2u);
  EXPECT_EQ(CallId::Counter(small), 3u);
}

TEST(CallIdTest, FieldsDoNotBleedIntoEachOther) {
  // Distinct clients with the same counter, and the same client with adjacent counters,
  // never collide.
  EXPECT_NE(CallId::Make(1, 0, 1, 7), CallId::Make(1, 0, 2, 7));
  EXPECT_NE(CallId::Make(1, 0, 1, 7), CallId::Make(2, 0, 1, 7));
  EXPECT_NE(CallId::Make(1, 1, 1, 7), CallId::Make(1, 0, 1, 7));
  EXPECT_EQ(CallId::Counter(CallId::Make(1, 0, 1, 0xffffffff)) + 1u, 0u);  // wraps in place
}

TEST(MessageTest, MakeMessageZeroesHeader) {
  Message m = MakeMessage(MessageType::kDispatch);
  EXPECT_EQ(m.type(), MessageType::kDispatch);
  EXPECT_EQ(m.header.call_id, 0u);
  EXPECT_EQ(m.header.payload_size, 0u);
  EXPECT_FALSE(m.payload_in_shm());
  m.header.flags = kFlagPayloadInShm;
  EXPECT_TRUE(m.payload_in_shm());
}

TEST(MessageTest, StatusNames) {
  EXPECT_STREQ(CallStatusName(CallStatus::kTimeout), "timeout");
  EXPECT_STREQ(CallStatusName(CallStatus::kWorkerDied), "worker died");
}

TEST(FunctionDirectoryTest, RoundTrip) {
  FunctionDirectory d;
  d.Add(1, "echo");
  d.Add(7, "chain");
  auto parsed = FunctionDirectory::Parse(d.Serialize());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->Lookup("echo"), 1u);
  EXPECT_EQ(parsed->Lookup("chain"), 7u);
  EXPECT_EQ(parsed->Lookup("missing"), 0u);
  EXPECT_EQ(parsed->size(), 2u);
}

TEST(FunctionDirectoryTest, RejectsMalformedLines) {
  EXPECT_FALSE(FunctionDirectory::Parse("abc echo\n").ok());
  EXPECT_FALSE(FunctionDirectory::Parse("0 echo\n").ok());
  EXPECT_FALSE(FunctionDirectory::Parse("5000 echo\n").ok());
  EXPECT_FALSE(FunctionDirectory::Parse("3\n").ok());
}

}  // namespace
}  // namespace nightjar::proto
