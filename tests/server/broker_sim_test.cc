// The whole broker (server, Kafka API, partitions, storage) on simulated nodes, driven by Strand's
// client connection: what a Kafka client sees, including across crashes of the broker's machine.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/protocol/batch_builder.h"
#include "broker/protocol/byte_order.h"
#include "broker/protocol/error_code.h"
#include "client/requests.h"
#include "io/task_scope.h"
#include "sim/sim_node.h"
#include "sim/sim_world.h"

namespace strand {
namespace {

using io::Duration;
using protocol::ErrorCode;

constexpr std::uint16_t kPort = 9092;

BrokerConfig sim_config() {
  BrokerConfig config;
  config.listen = io::Address{"broker", kPort};
  config.data_dir = "data";
  config.num_partitions = 2;
  return config;
}

// The broker's program: start, then serve until the node crashes (which destroys this frame).
io::Task<void> run_broker(io::Env& env) {
  Broker broker(env, sim_config());
  io::Result<void> started = co_await broker.start();
  STRAND_ASSERT(started.ok(), "the simulated broker starts");
  io::Event forever;
  co_await forever.wait();
}

io::Task<io::Result<std::unique_ptr<client::KafkaConnection>>> connect(io::Env& env) {
  // The broker boots at the first event; retry until it listens.
  // A named address: GCC 12 miscompiles braced temporaries passed by value to a coroutine.
  const io::Address address{"broker", kPort};
  for (int attempt = 0; attempt < 50; ++attempt) {
    io::Result<std::unique_ptr<client::KafkaConnection>> connection =
        co_await client::KafkaConnection::connect(env, address, "sim-client");
    if (connection) co_return std::move(connection);
    co_await env.clock().sleep(Duration::ms(100));
  }
  co_return io::Error{io::ErrorKind::kRefused, "broker never listened"};
}

std::vector<std::byte> batch_of(const std::string& key, const std::string& value) {
  std::vector<protocol::Record> records(1);
  records[0].key = key;
  records[0].value = value;
  records[0].headers.push_back({"h", "v"});
  records[0].timestamp_ms = 1000;
  return protocol::build_batch(records);
}

protocol::ProduceRequest produce_request(const std::string& topic, std::int32_t partition,
                                         std::span<const std::byte> batch, std::int16_t acks) {
  protocol::ProduceRequest request;
  request.acks = acks;
  request.timeout_ms = 30'000;
  protocol::TopicProduceData& data = request.topic_data.emplace_back();
  data.name = topic;
  data.partition_data.push_back({partition, batch, false});
  return request;
}

protocol::FetchRequest fetch_request(const std::string& topic, std::int32_t partition,
                                     std::int64_t offset, std::int32_t max_wait_ms) {
  protocol::FetchRequest request;
  request.max_wait_ms = max_wait_ms;
  request.min_bytes = 1;
  request.max_bytes = 1 << 20;
  protocol::FetchTopic& fetch_topic = request.topics.emplace_back();
  fetch_topic.topic = topic;
  fetch_topic.partitions.push_back({partition, -1, offset, -1, 1 << 20});
  return request;
}

io::Task<io::Result<ErrorCode>> create_topic(client::KafkaConnection& connection,
                                             const std::string& name, std::int32_t partitions) {
  protocol::CreateTopicsRequest request;
  protocol::CreatableTopic& topic = request.topics.emplace_back();
  topic.name = name;
  topic.num_partitions = partitions;
  topic.replication_factor = 1;
  io::Result<protocol::CreateTopicsResponse> response =
      co_await client::create_topics(connection, request);
  if (!response) co_return std::move(response).error();
  if (response->topics.size() != 1) co_return io::Error{io::ErrorKind::kCorrupt, "one result"};
  co_return static_cast<ErrorCode>(response->topics[0].error_code);
}

// Every record of every batch in `bytes`, in order.
std::vector<protocol::Record> records_in(std::span<const std::byte> bytes) {
  std::vector<protocol::Record> out;
  while (!bytes.empty()) {
    io::Result<std::uint32_t> size = protocol::RecordBatchView::peek_size(bytes);
    EXPECT_TRUE(size.ok());
    if (!size || *size > bytes.size()) break;
    io::Result<protocol::RecordBatchView> batch =
        protocol::RecordBatchView::parse(bytes.first(*size), protocol::BatchOrigin::kLog);
    EXPECT_TRUE(batch.ok()) << batch.error().to_string();
    if (!batch) break;
    io::Result<std::vector<protocol::Record>> records = protocol::read_records(*batch);
    EXPECT_TRUE(records.ok());
    if (records) out.insert(out.end(), records->begin(), records->end());
    bytes = bytes.subspan(*size);
  }
  return out;
}

struct RoundTrip {
  ErrorCode created = ErrorCode::kUnknownServerError;
  ErrorCode created_again = ErrorCode::kUnknownServerError;
  std::vector<std::int64_t> base_offsets;
  std::vector<protocol::Record> fetched;
  std::int64_t high_watermark = -1;
};

io::Task<io::Result<RoundTrip>> produce_and_fetch(io::Env* env) {
  io::Result<std::unique_ptr<client::KafkaConnection>> connection = co_await connect(*env);
  if (!connection) co_return std::move(connection).error();
  RoundTrip out;
  io::Result<ErrorCode> created = co_await create_topic(**connection, "events", 3);
  if (!created) co_return std::move(created).error();
  out.created = *created;
  io::Result<ErrorCode> again = co_await create_topic(**connection, "events", 3);
  if (!again) co_return std::move(again).error();
  out.created_again = *again;
  for (int i = 0; i < 5; ++i) {
    std::vector<std::byte> batch = batch_of("k" + std::to_string(i), "value-" + std::to_string(i));
    io::Result<protocol::ProduceResponse> produced =
        co_await client::produce(**connection, produce_request("events", 1, batch, -1));
    if (!produced) co_return std::move(produced).error();
    out.base_offsets.push_back(produced->responses.at(0).partition_responses.at(0).base_offset);
  }
  io::Result<protocol::FetchResponse> fetched =
      co_await client::fetch(**connection, fetch_request("events", 1, 0, 100));
  if (!fetched) co_return std::move(fetched).error();
  const protocol::FetchPartitionData& data = fetched->responses.at(0).partitions.at(0);
  out.high_watermark = data.high_watermark;
  out.fetched = records_in(data.records);
  co_return std::move(out);
}

TEST(BrokerSim, ProducedRecordsComeBackByteExactAtDenseOffsets) {
  sim::SimWorld world(11);
  sim::SimNode broker(world, sim::NodeId{0}, "broker", run_broker);
  sim::SimNode client(world, sim::NodeId{1}, "client");
  io::Result<io::Result<RoundTrip>> result =
      world.run_task(client, produce_and_fetch(&client.env()), Duration::s(60));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  ASSERT_TRUE(result->ok()) << result->error().to_string();
  const RoundTrip& trip = **result;
  EXPECT_EQ(trip.created, ErrorCode::kNone);
  EXPECT_EQ(trip.created_again, ErrorCode::kTopicAlreadyExists);
  EXPECT_EQ(trip.base_offsets, (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(trip.high_watermark, 5);
  ASSERT_EQ(trip.fetched.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(trip.fetched[i].offset, i);
    EXPECT_EQ(trip.fetched[i].key, "k" + std::to_string(i));
    EXPECT_EQ(trip.fetched[i].value, "value-" + std::to_string(i));
    EXPECT_EQ(trip.fetched[i].headers, (std::vector<protocol::RecordHeader>{{"h", "v"}}));
  }
}

}  // namespace
}  // namespace strand
