#include "client/consumer_protocol.h"

#include <gtest/gtest.h>

namespace strand::client {
namespace {

TEST(ConsumerProtocol, SubscriptionRoundTrips) {
  const std::vector<std::string> topics{"t0", "orders"};
  io::Result<std::vector<std::string>> decoded =
      decode_consumer_subscription(encode_consumer_subscription(topics));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, topics);
}

TEST(ConsumerProtocol, AssignmentRoundTrips) {
  const std::vector<TopicPartition> partitions{{"a", 0}, {"a", 2}, {"b", 1}};
  io::Result<std::vector<TopicPartition>> decoded =
      decode_consumer_assignment(encode_consumer_assignment(partitions));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, partitions);
}

TEST(ConsumerProtocol, TruncatedSubscriptionIsCorrupt) {
  std::vector<std::byte> bytes = encode_consumer_subscription({"topic"});
  bytes.resize(bytes.size() - 6);
  EXPECT_FALSE(decode_consumer_subscription(bytes).ok());
}

TEST(RangeAssign, GivesTheFirstMembersOneMoreLikeKafka) {
  const std::map<std::string, std::vector<std::string>> subscriptions{
      {"m-b", {"t"}}, {"m-a", {"t"}}, {"m-c", {"t"}}};
  const std::map<std::string, std::int32_t> counts{{"t", 4}};
  auto assigned = range_assign(subscriptions, counts);
  using V = std::vector<TopicPartition>;
  EXPECT_EQ(assigned["m-a"], (V{{"t", 0}, {"t", 1}}));
  EXPECT_EQ(assigned["m-b"], (V{{"t", 2}}));
  EXPECT_EQ(assigned["m-c"], (V{{"t", 3}}));
}

TEST(RangeAssign, EveryPartitionOnceAndIdleMembersListed) {
  const std::map<std::string, std::vector<std::string>> subscriptions{
      {"1", {"x", "y"}}, {"2", {"x"}}, {"3", {"x"}}, {"4", {"y"}}};
  const std::map<std::string, std::int32_t> counts{{"x", 2}, {"y", 5}};
  auto assigned = range_assign(subscriptions, counts);
  ASSERT_EQ(assigned.size(), 4u);
  EXPECT_TRUE(assigned["3"].empty());  // x has 2 partitions for 3 members
  std::map<TopicPartition, int> seen;
  for (const auto& [member, partitions] : assigned) {
    for (const TopicPartition& tp : partitions) seen[tp] += 1;
  }
  EXPECT_EQ(seen.size(), 7u);
  for (const auto& [tp, times] : seen) EXPECT_EQ(times, 1) << tp.to_string();
}

}  // namespace
}  // namespace strand::client
