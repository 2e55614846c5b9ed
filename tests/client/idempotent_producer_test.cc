// The idempotent producer (enable.idempotence) against the whole broker on simulated nodes, while
// the network loses the broker's answers: batches that time out are sent again, the broker
// recognises the ones it already wrote, and every record lands once, in the order it was sent.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/kafka_error.h"
#include "client/producer.h"
#include "sim/sim_network.h"
#include "sim/sim_node.h"
#include "sim/sim_world.h"
#include "sim_broker.h"

namespace strand {
namespace {

using client::Client;
using client::Delivery;
using client::Producer;
using client::ProducerOptions;
using client::ProducerRecord;
using io::Duration;

constexpr int kRecords = 1500;
constexpr std::int32_t kPartitions = 2;

struct Outcome {
  std::vector<io::Result<client::RecordMetadata>> acks;  // by record
  // Per partition, the record numbers read back from offset 0 to the high watermark.
  std::map<std::int32_t, std::vector<int>> logs;
  client::ProducerStats stats;
};

io::Task<io::Result<std::unique_ptr<Client>>> connect_short_timeout(io::Env* env) {
  const io::Address address{"broker", client_test::kPort};
  client::ClientOptions options;
  options.request_timeout = Duration::ms(800);
  for (int attempt = 0; attempt < 50; ++attempt) {
    io::Result<std::unique_ptr<Client>> connected =
        co_await Client::connect(*env, address, options);
    if (connected) co_return std::move(connected);
    co_await env->clock().sleep(Duration::ms(100));
  }
  co_return io::Error{io::ErrorKind::kRefused, "broker never listened"};
}

io::Task<io::Result<Outcome>> produce_through_faults(io::Env* env, bool idempotent) {
  io::Result<std::unique_ptr<Client>> connected = co_await connect_short_timeout(env);
  if (!connected) co_return std::move(connected).error();
  Client& client = **connected;
  const std::string topic = "once";
  std::map<std::string, std::string> configs;
  io::Result<void> created = co_await client.create_topic(topic, kPartitions, std::move(configs));
  if (!created) co_return std::move(created).error();
  ProducerOptions options;
  options.enable_idempotence = idempotent;
  options.linger = Duration::ms(10);
  options.batch_size_bytes = 2048;
  Producer producer(client, options);
  std::vector<Delivery> deliveries;
  for (int i = 0; i < kRecords; ++i) {
    ProducerRecord record;
    record.topic = topic;
    record.key = "k" + std::to_string(i % 7);
    record.value = std::to_string(i);
    io::Result<Delivery> delivery = co_await producer.send(std::move(record));
    if (!delivery) co_return std::move(delivery).error();
    deliveries.push_back(*delivery);
    if (i % 10 == 9) co_await env->clock().sleep(Duration::ms(100));
  }
  io::Result<void> flushed = co_await producer.flush();
  if (!flushed) co_return std::move(flushed).error();
  Outcome out;
  out.stats = producer.stats();
  for (const Delivery& delivery : deliveries) out.acks.push_back(delivery.result());
  for (std::int32_t partition = 0; partition < kPartitions; ++partition) {
    std::vector<int>& log = out.logs[partition];
    std::int64_t offset = 0;
    for (int round = 0; round < 200; ++round) {
      io::Result<client::FetchedRecords> got =
          co_await client.fetch(topic, partition, offset, 64 << 10, Duration::ms(100));
      if (!got) co_return std::move(got).error();
      for (const protocol::Record& record : got->records) {
        EXPECT_EQ(record.offset, static_cast<std::int64_t>(log.size()));
        log.push_back(std::stoi(record.value.value_or("-1")));
      }
      offset = got->next_offset;
      if (offset >= got->high_watermark) break;
    }
  }
  co_return std::move(out);
}

// From 3 s on, every 2.5 s the broker's answers to the client are lost for 1.2 s (the requests
// still arrive and are written), so requests time out after 0.8 s on a connection that then closes.
Outcome run(std::uint64_t seed, bool idempotent) {
  sim::SimWorld world(seed);
  sim::SimNode broker(world, sim::NodeId{0}, "broker", client_test::run_broker);
  sim::SimNode client(world, sim::NodeId{1}, "client");
  for (int k = 0; k < 8; ++k) {
    const io::Instant at = world.now() + Duration::ms(3000 + 2500 * k);
    world.schedule(at, sim::NodeId{0},
                   [&world] { world.network().block(sim::NodeId{0}, sim::NodeId{1}); });
    world.schedule(at + Duration::ms(1200), sim::NodeId{0},
                   [&world] { world.network().unblock(sim::NodeId{0}, sim::NodeId{1}); });
  }
  io::Result<io::Result<Outcome>> result =
      world.run_task(client, produce_through_faults(&client.env(), idempotent), Duration::s(600));
  EXPECT_TRUE(result.ok()) << "seed " << seed << ": " << result.error().to_string();
  if (!result.ok()) return {};
  EXPECT_TRUE(result->ok()) << "seed " << seed << ": " << result->error().to_string();
  if (!result->ok()) return {};
  return std::move(**result);
}

TEST(IdempotentProducer, RetriesThroughLostAnswersStoreEveryRecordOnceInSendOrder) {
  for (std::uint64_t seed : {41, 42, 43}) {
    const Outcome out = run(seed, true);
    ASSERT_EQ(out.acks.size(), static_cast<std::size_t>(kRecords)) << "seed " << seed;
    EXPECT_GT(out.stats.batches_retried, 0u) << "seed " << seed << ": the faults cost nothing";
    EXPECT_EQ(out.stats.producer_ids, 1u) << "seed " << seed << ": no batch failed for good";
    std::map<int, std::pair<std::int32_t, std::int64_t>> stored;  // record: where it is
    for (const auto& [partition, log] : out.logs) {
      int previous = -1;
      for (std::size_t offset = 0; offset < log.size(); ++offset) {
        const int record = log[offset];
        const auto [it, fresh] =
            stored.try_emplace(record, partition, static_cast<std::int64_t>(offset));
        EXPECT_TRUE(fresh) << "seed " << seed << ": record " << record << " at offsets "
                           << it->second.second << " and " << offset;
        EXPECT_GT(record, previous) << "seed " << seed << ": out of send order at " << offset;
        previous = record;
      }
    }
    EXPECT_EQ(stored.size(), static_cast<std::size_t>(kRecords)) << "seed " << seed;
    for (int i = 0; i < kRecords; ++i) {
      const io::Result<client::RecordMetadata>& ack = out.acks[static_cast<std::size_t>(i)];
      ASSERT_TRUE(ack.ok()) << "seed " << seed << ": record " << i << ": "
                            << ack.error().to_string();
      auto it = stored.find(i);
      ASSERT_NE(it, stored.end()) << "seed " << seed << ": record " << i << " acknowledged, absent";
      EXPECT_EQ(ack->partition, it->second.first) << "seed " << seed << ": record " << i;
      EXPECT_EQ(ack->offset, it->second.second) << "seed " << seed << ": record " << i;
    }
  }
}

// The same faults without idempotence: batches whose answers were lost fail (a plain producer
// never sends a batch twice), so nothing is stored twice, but records are lost to the caller.
TEST(IdempotentProducer, APlainProducerFailsTheBatchesWhoseAnswersWereLost) {
  const Outcome out = run(41, false);
  ASSERT_EQ(out.acks.size(), static_cast<std::size_t>(kRecords));
  EXPECT_EQ(out.stats.batches_retried, 0u);
  std::size_t failed = 0;
  for (const io::Result<client::RecordMetadata>& ack : out.acks) failed += ack.ok() ? 0 : 1;
  EXPECT_GT(failed, 0u);
}

TEST(IdempotentProducer, RetriableErrorsAreLostConnectionsTimeoutsAndMovedLeaders) {
  EXPECT_TRUE(client::is_retriable(io::Error{io::ErrorKind::kClosed, "reset"}));
  EXPECT_TRUE(client::is_retriable(io::Error{io::ErrorKind::kTimeout, "no answer"}));
  EXPECT_TRUE(client::is_retriable(client::kafka_error(6, "t-0")));    // NOT_LEADER_OR_FOLLOWER
  EXPECT_TRUE(client::is_retriable(client::kafka_error(7, "t-0")));    // REQUEST_TIMED_OUT
  EXPECT_TRUE(client::is_retriable(client::kafka_error(19, "t-0")));   // NOT_ENOUGH_REPLICAS
  EXPECT_TRUE(client::is_retriable(client::kafka_error(56, "t-0")));   // KAFKA_STORAGE_ERROR
  EXPECT_FALSE(client::is_retriable(client::kafka_error(10, "t-0")));  // MESSAGE_TOO_LARGE
  EXPECT_FALSE(client::is_retriable(client::kafka_error(45, "t-0")));  // judged by the producer
  EXPECT_FALSE(client::is_retriable(client::kafka_error(47, "t-0")));  // INVALID_PRODUCER_EPOCH
  EXPECT_FALSE(client::is_retriable(io::Error{io::ErrorKind::kCancelled, "destroyed"}));
}

}  // namespace
}  // namespace strand
