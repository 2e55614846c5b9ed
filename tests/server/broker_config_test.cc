// The broker's configuration: a cluster's keys and how they must agree.
#include <gtest/gtest.h>

#include <string>

#include "broker/config.h"

namespace strand {
namespace {

BrokerConfig cluster_node(std::int32_t node) {
  BrokerConfig config;
  EXPECT_TRUE(config.set("node.id", std::to_string(node)).ok());
  EXPECT_TRUE(config.set("listeners", "127.0.0.1:9092").ok());
  EXPECT_TRUE(
      config
          .set("controller.quorum.voters", "1@127.0.0.1:19092,2@127.0.0.1:19093,3@127.0.0.1:19094")
          .ok());
  return config;
}

std::string refusal(const BrokerConfig& config) {
  io::Result<void> valid = config.validate();
  return valid.ok() ? "" : valid.error().message;
}

TEST(BrokerConfig, AVoterServesRpcAtItsVoterAddress) {
  const BrokerConfig voter = cluster_node(2);
  EXPECT_EQ(refusal(voter), "");
  EXPECT_TRUE(voter.controller_voter());
  EXPECT_EQ(voter.rpc_address().to_string(), "127.0.0.1:19093");

  BrokerConfig same = cluster_node(2);
  ASSERT_TRUE(same.set("broker.rpc.listener", "127.0.0.1:19093").ok());
  EXPECT_EQ(refusal(same), "") << "the same address twice is fine";

  BrokerConfig other = cluster_node(2);
  ASSERT_TRUE(other.set("broker.rpc.listener", "127.0.0.1:29093").ok());
  EXPECT_NE(refusal(other).find("differs from node 2's controller.quorum.voters address"),
            std::string::npos)
      << refusal(other);
}

TEST(BrokerConfig, ABrokerOutsideTheQuorumNeedsItsOwnRpcAddress) {
  BrokerConfig learner = cluster_node(4);
  EXPECT_FALSE(learner.controller_voter());
  EXPECT_NE(refusal(learner).find("needs broker.rpc.listener"), std::string::npos)
      << refusal(learner);

  ASSERT_TRUE(learner.set("broker.rpc.listener", "127.0.0.1:19095").ok());
  EXPECT_EQ(refusal(learner), "");
  EXPECT_EQ(learner.rpc_address().to_string(), "127.0.0.1:19095");

  BrokerConfig taken = cluster_node(4);
  ASSERT_TRUE(taken.set("broker.rpc.listener", "127.0.0.1:19093").ok());
  EXPECT_NE(refusal(taken).find("is voter 2's address"), std::string::npos) << refusal(taken);

  BrokerConfig kafka_port = cluster_node(4);
  ASSERT_TRUE(kafka_port.set("broker.rpc.listener", "127.0.0.1:9092").ok());
  EXPECT_NE(refusal(kafka_port).find("is the Kafka listener's address"), std::string::npos)
      << refusal(kafka_port);

  BrokerConfig garbled = cluster_node(4);
  EXPECT_FALSE(garbled.set("broker.rpc.listener", "no-port").ok());
}

TEST(BrokerConfig, TheSessionTimeoutSpansTwoElectionTimeouts) {
  BrokerConfig config = cluster_node(1);
  EXPECT_EQ(config.broker_session_timeout_ms, 9000);  // Kafka's default
  ASSERT_TRUE(config.set("broker.session.timeout.ms", "1000").ok());
  EXPECT_EQ(refusal(config), "");  // the election timeout is 500 ms
  ASSERT_TRUE(config.set("raft.election.timeout.ms", "600").ok());
  EXPECT_NE(refusal(config).find("broker.session.timeout.ms 1000 is below twice"),
            std::string::npos)
      << refusal(config);
  EXPECT_FALSE(config.set("broker.session.timeout.ms", "99").ok());
  EXPECT_FALSE(config.set("broker.session.timeout.ms", "soon").ok());
}

}  // namespace
}  // namespace strand
