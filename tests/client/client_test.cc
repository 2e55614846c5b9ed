// Strand's client library (admin calls, the producer, fetch) against the whole broker on
// simulated nodes: where records land, which offsets they get, what comes back, how they are
// batched, and what fails how.
#include "client/client.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "broker/protocol/batch_builder.h"
#include "broker/protocol/byte_order.h"
#include "broker/protocol/list_offsets.h"
#include "client/partitioner.h"
#include "client/producer.h"
#include "client/requests.h"
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

using client_test::connect;
using client_test::kPort;
using client_test::run_broker;

// A test's body runs on the client node; EXPECTs check, an error return fails the test.
using Body = io::Task<io::Result<void>> (*)(io::Env&, Client&);

io::Task<io::Result<void>> with_client(io::Env* env, Body body) {
  io::Result<std::unique_ptr<Client>> connected = co_await connect(*env);
  if (!connected) co_return std::move(connected).error();
  io::Result<void> result = co_await body(*env, **connected);
  co_return result;
}

void run_in_sim(std::uint64_t seed, Body body) {
  sim::SimWorld world(seed);
  sim::SimNode broker(world, sim::NodeId{0}, "broker", run_broker);
  sim::SimNode client(world, sim::NodeId{1}, "client");
  io::Result<io::Result<void>> result =
      world.run_task(client, with_client(&client.env(), body), Duration::s(600));
  ASSERT_TRUE(result.ok()) << "seed " << seed << ": " << result.error().to_string();
  ASSERT_TRUE(result->ok()) << "seed " << seed << ": " << result->error().to_string();
}

io::Task<io::Result<void>> create(Client& client, std::string topic, std::int32_t partitions) {
  std::map<std::string, std::string> configs;
  io::Result<void> created = co_await client.create_topic(topic, partitions, std::move(configs));
  co_return created;
}

// Every record of a partition from offset 0 until `count` have come back (or 100 fetches).
io::Task<io::Result<client::FetchedRecords>> fetch_all(Client& client, std::string topic,
                                                       std::int32_t partition, std::size_t count) {
  client::FetchedRecords all;
  all.partition = partition;
  std::int64_t offset = 0;
  for (int round = 0; round < 100 && all.records.size() < count; ++round) {
    io::Result<client::FetchedRecords> got =
        co_await client.fetch(topic, partition, offset, 16 << 10, Duration::ms(200));
    if (!got) co_return std::move(got).error();
    all.batches_count += got->batches_count;
    all.high_watermark = got->high_watermark;
    for (protocol::Record& record : got->records) all.records.push_back(std::move(record));
    offset = got->next_offset;
  }
  co_return std::move(all);
}

std::span<const std::byte> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

ProducerRecord keyed_record(const std::string& topic, int i) {
  ProducerRecord record;
  record.topic = topic;
  record.key = "user-" + std::to_string(i % 37);
  record.value = "value-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 50), 'x');
  record.headers.push_back({"n", std::to_string(i)});
  record.headers.push_back({"null-valued", std::nullopt});
  record.timestamp_ms = 1'700'000'000'000 + i;
  return record;
}

// ---- Placement, offsets, byte-exact reads
// --------------------------------------------------------

constexpr int kKeyedRecords = 300;
constexpr std::int32_t kKeyedPartitions = 4;

io::Task<io::Result<void>> keyed_round_trip(io::Env& /*env*/, Client& client) {
  const std::string topic = "keyed";
  io::Result<void> created = co_await create(client, topic, kKeyedPartitions);
  if (!created) co_return created;
  ProducerOptions options;
  options.linger = Duration::ms(20);
  Producer producer(client, options);
  std::vector<ProducerRecord> sent;
  std::vector<Delivery> deliveries;
  for (int i = 0; i < kKeyedRecords; ++i) {
    ProducerRecord record = keyed_record(topic, i);
    sent.push_back(record);
    io::Result<Delivery> delivery = co_await producer.send(std::move(record));
    if (!delivery) co_return std::move(delivery).error();
    deliveries.push_back(*delivery);
  }
  io::Result<void> flushed = co_await producer.flush();
  if (!flushed) co_return flushed;
  // Each record on murmur2's partition, and offsets dense per partition in send order.
  std::map<std::int32_t, std::vector<std::size_t>> by_partition;  // indexes into `sent`
  for (std::size_t i = 0; i < sent.size(); ++i) {
    EXPECT_TRUE(deliveries[i].done());
    io::Result<client::RecordMetadata> placed = deliveries[i].result();
    if (!placed) co_return std::move(placed).error();
    EXPECT_EQ(placed->partition,
              client::partition_for_key(bytes_of(*sent[i].key), kKeyedPartitions))
        << "record " << i;
    std::vector<std::size_t>& mine = by_partition[placed->partition];
    EXPECT_EQ(placed->offset, static_cast<std::int64_t>(mine.size())) << "record " << i;
    mine.push_back(i);
  }
  EXPECT_EQ(by_partition.size(), static_cast<std::size_t>(kKeyedPartitions));
  // What comes back is what was sent, byte for byte, at those offsets.
  for (const auto& [partition, indexes] : by_partition) {
    io::Result<client::FetchedRecords> fetched =
        co_await fetch_all(client, topic, partition, indexes.size());
    if (!fetched) co_return std::move(fetched).error();
    EXPECT_EQ(fetched->high_watermark, static_cast<std::int64_t>(indexes.size()));
    EXPECT_EQ(fetched->records.size(), indexes.size());
    for (std::size_t k = 0; k < std::min(indexes.size(), fetched->records.size()); ++k) {
      const protocol::Record& got = fetched->records[k];
      const ProducerRecord& want = sent[indexes[k]];
      EXPECT_EQ(got.offset, static_cast<std::int64_t>(k));
      EXPECT_EQ(got.key, want.key);
      EXPECT_EQ(got.value, want.value);
      EXPECT_EQ(got.headers, want.headers);
      EXPECT_EQ(got.timestamp_ms, *want.timestamp_ms);
    }
  }
  co_return io::ok();
}

TEST(Client, KeyedRecordsLandOnMurmur2PartitionsAtDenseOffsetsAndReadBackByteExact) {
  run_in_sim(21, keyed_round_trip);
}

io::Task<io::Result<void>> fetch_from_middle(io::Env& /*env*/, Client& client) {
  const std::string topic = "middle";
  io::Result<void> created = co_await create(client, topic, 1);
  if (!created) co_return created;
  Producer producer(client, ProducerOptions{});
  for (int i = 0; i < 10; ++i) {
    ProducerRecord record = keyed_record(topic, i);
    io::Result<client::RecordMetadata> produced = co_await producer.produce(std::move(record));
    if (!produced) co_return std::move(produced).error();
    EXPECT_EQ(produced->offset, i);
  }
  // Each produce() waited for its own answer: ten batches, so a fetch from offset 7 starts at a
  // batch boundary; from an offset inside a batch the earlier records are dropped.
  io::Result<client::FetchedRecords> tail =
      co_await client.fetch(topic, 0, 7, 1 << 20, Duration::ms(0));
  if (!tail) co_return std::move(tail).error();
  EXPECT_EQ(tail->records.size(), 3u);
  if (!tail->records.empty()) {
    EXPECT_EQ(tail->records.front().offset, 7);
  }
  EXPECT_EQ(tail->next_offset, 10);
  EXPECT_EQ(tail->high_watermark, 10);
  co_return io::ok();
}

TEST(Client, FetchFromAnOffsetReturnsOnlyRecordsFromThere) { run_in_sim(22, fetch_from_middle); }

// ---- Batching
// -------------------------------------------------------------------------------------

constexpr int kBatchedRecords = 2000;

io::Task<io::Result<void>> batched(io::Env& /*env*/, Client& client) {
  const std::string topic = "batched";
  io::Result<void> created = co_await create(client, topic, 4);
  if (!created) co_return created;
  ProducerOptions options;
  options.keyless = client::KeylessPlacement::kRoundRobin;
  options.linger = Duration::ms(50);
  Producer producer(client, options);
  std::vector<Delivery> deliveries;
  for (int i = 0; i < kBatchedRecords; ++i) {
    ProducerRecord record;
    record.topic = topic;
    record.value = std::string(100, static_cast<char>('a' + i % 26));
    // The fast path queues without a coroutine once the producer knows the topic.
    std::optional<io::Result<Delivery>> queued = producer.try_send(record);
    EXPECT_EQ(queued.has_value(), i > 0);
    if (!queued) {
      io::Result<Delivery> delivery = co_await producer.send(std::move(record));
      queued.emplace(std::move(delivery));
    }
    if (!*queued) co_return std::move(*queued).error();
    deliveries.push_back(**queued);
  }
  io::Result<void> flushed = co_await producer.flush();
  if (!flushed) co_return flushed;
  for (const Delivery& delivery : deliveries) EXPECT_TRUE(delivery.done() && delivery.result());
  const client::ProducerStats stats = producer.stats();
  // 2000 records of ~121 bytes in 16 KiB batches: about 15 full batches, a few partial ones; one
  // request carries a batch for each of the 4 partitions.
  EXPECT_EQ(stats.records_sent, static_cast<std::uint64_t>(kBatchedRecords));
  EXPECT_LE(stats.batches_sent, 24u);
  EXPECT_LT(stats.requests_sent, stats.batches_sent);
  std::uint64_t stored_batches = 0;
  for (std::int32_t partition = 0; partition < 4; ++partition) {
    io::Result<client::FetchedRecords> fetched =
        co_await fetch_all(client, topic, partition, kBatchedRecords / 4);
    if (!fetched) co_return std::move(fetched).error();
    EXPECT_EQ(fetched->records.size(), static_cast<std::size_t>(kBatchedRecords / 4));
    stored_batches += fetched->batches_count;
  }
  EXPECT_EQ(stored_batches, stats.batches_sent);  // the log holds the batches as sent
  co_return io::ok();
}

TEST(Client, BatchingGroupsManyRecordsIntoFewBatchesAndFewerRequests) { run_in_sim(23, batched); }

io::Task<io::Result<void>> bounded_buffer(io::Env& /*env*/, Client& client) {
  const std::string topic = "bounded";
  io::Result<void> created = co_await create(client, topic, 2);
  if (!created) co_return created;
  ProducerOptions options;
  options.buffer_bytes_max = 4 << 10;  // about 30 records of ~121 bytes
  options.batch_size_bytes = 1 << 10;
  Producer producer(client, options);
  std::vector<Delivery> deliveries;
  for (int i = 0; i < 500; ++i) {
    ProducerRecord record;
    record.topic = topic;
    record.key = std::to_string(i % 5);
    record.value = std::string(100, 'v');
    io::Result<Delivery> delivery = co_await producer.send(std::move(record));
    if (!delivery) co_return std::move(delivery).error();
    deliveries.push_back(*delivery);
  }
  io::Result<void> flushed = co_await producer.flush();
  if (!flushed) co_return flushed;
  std::map<std::int32_t, std::int64_t> next;
  for (const Delivery& delivery : deliveries) {
    io::Result<client::RecordMetadata> placed = delivery.result();
    if (!placed) co_return std::move(placed).error();
    EXPECT_EQ(placed->offset, next[placed->partition]++);
  }
  EXPECT_GE(producer.stats().batches_sent, 500u * 121 / 1024);
  co_return io::ok();
}

TEST(Client, SendWaitsForBufferRoomAndLosesNothing) { run_in_sim(31, bounded_buffer); }

io::Task<io::Result<void>> keyless(io::Env& /*env*/, Client& client) {
  const std::string topic = "keyless";
  io::Result<void> created = co_await create(client, topic, 3);
  if (!created) co_return created;
  ProducerOptions round_robin_options;
  round_robin_options.keyless = client::KeylessPlacement::kRoundRobin;
  Producer round_robin(client, round_robin_options);
  ProducerOptions sticky_options;
  sticky_options.linger = Duration::s(1);  // all queued before any batch leaves
  Producer sticky(client, sticky_options);
  std::vector<Delivery> spread;
  std::vector<Delivery> stuck;
  for (int i = 0; i < 12; ++i) {
    ProducerRecord one;
    one.topic = topic;
    one.value = "rr-" + std::to_string(i);
    ProducerRecord two = one;
    two.value = "sticky-" + std::to_string(i);
    io::Result<Delivery> a = co_await round_robin.send(std::move(one));
    if (!a) co_return std::move(a).error();
    spread.push_back(*a);
    io::Result<Delivery> b = co_await sticky.send(std::move(two));
    if (!b) co_return std::move(b).error();
    stuck.push_back(*b);
  }
  io::Result<void> flushed_a = co_await round_robin.flush();
  if (!flushed_a) co_return flushed_a;
  io::Result<void> flushed_b = co_await sticky.flush();
  if (!flushed_b) co_return flushed_b;
  for (std::size_t i = 0; i < spread.size(); ++i) {
    EXPECT_EQ(spread[i].result()->partition, static_cast<std::int32_t>(i % 3));
    EXPECT_EQ(stuck[i].result()->partition, stuck[0].result()->partition);
    // One batch, in order (the round-robin records share the partition, not the batch).
    EXPECT_EQ(stuck[i].result()->offset, stuck[0].result()->offset + static_cast<std::int64_t>(i));
  }
  co_return io::ok();
}

TEST(Client, KeylessRecordsGoRoundRobinOrStickToOnePartitionPerBatch) { run_in_sim(24, keyless); }

io::Task<io::Result<void>> acks_levels(io::Env& /*env*/, Client& client) {
  const std::string topic = "acks";
  io::Result<void> created = co_await create(client, topic, 1);
  if (!created) co_return created;
  const std::array<std::int16_t, 2> levels{1, 0};  // no initializer lists around co_await
  for (const std::int16_t acks : levels) {
    ProducerOptions options;
    options.acks = acks;
    Producer producer(client, options);
    std::vector<Delivery> deliveries;
    for (int i = 0; i < 5; ++i) {
      ProducerRecord record = keyed_record(topic, i);
      io::Result<Delivery> delivery = co_await producer.send(std::move(record));
      if (!delivery) co_return std::move(delivery).error();
      deliveries.push_back(*delivery);
    }
    io::Result<void> flushed = co_await producer.flush();
    if (!flushed) co_return flushed;
    for (std::size_t i = 0; i < deliveries.size(); ++i) {
      io::Result<client::RecordMetadata> placed = deliveries[i].result();
      if (!placed) co_return std::move(placed).error();
      EXPECT_EQ(placed->offset, acks == 0 ? -1 : static_cast<std::int64_t>(i));
    }
  }
  // Both rounds are stored; acks=0 gave no offsets, but the records are there (once synced).
  io::Result<client::FetchedRecords> all = co_await fetch_all(client, topic, 0, 10);
  if (!all) co_return std::move(all).error();
  EXPECT_EQ(all->records.size(), 10u);
  co_return io::ok();
}

TEST(Client, AcksOneAnswersOffsetsAndAcksZeroStoresWithoutAnswer) { run_in_sim(25, acks_levels); }

io::Task<io::Result<void>> destroyed_producer(io::Env& /*env*/, Client& client) {
  const std::string topic = "orphans";
  io::Result<void> created = co_await create(client, topic, 1);
  if (!created) co_return created;
  Delivery delivery;
  {
    ProducerOptions options;
    options.linger = Duration::s(10);
    Producer producer(client, options);
    ProducerRecord record = keyed_record(topic, 1);
    io::Result<Delivery> queued = co_await producer.send(std::move(record));
    if (!queued) co_return std::move(queued).error();
    delivery = *queued;
  }
  io::Result<client::RecordMetadata> outcome = co_await delivery.wait();
  EXPECT_FALSE(outcome.ok());
  if (!outcome) {
    EXPECT_EQ(outcome.error().kind, io::ErrorKind::kCancelled);
  }
  co_return io::ok();
}

TEST(Client, DestroyingTheProducerFailsWhatItHadNotSent) { run_in_sim(26, destroyed_producer); }

// ---- Administration and errors ------------------------------------------------------------------

io::Task<io::Result<void>> administration(io::Env& /*env*/, Client& client) {
  const std::string topic = "admin";
  std::map<std::string, std::string> configs{{"retention.ms", "3600000"}};
  io::Result<void> created = co_await client.create_topic(topic, 3, std::move(configs));
  if (!created) co_return created;
  Producer producer(client, ProducerOptions{});
  for (int i = 0; i < 4; ++i) {
    ProducerRecord record = keyed_record(topic, i);
    record.partition = 1;
    io::Result<client::RecordMetadata> produced = co_await producer.produce(std::move(record));
    if (!produced) co_return std::move(produced).error();
  }
  io::Result<std::vector<std::string>> names = co_await client.list_topics();
  if (!names) co_return std::move(names).error();
  EXPECT_EQ(*names, (std::vector<std::string>{"admin"}));
  io::Result<client::TopicDescription> described = co_await client.describe_topic(topic);
  if (!described) co_return std::move(described).error();
  EXPECT_EQ(described->name, topic);
  EXPECT_EQ(described->partitions.size(), 3u);
  for (const client::PartitionDescription& partition : described->partitions) {
    EXPECT_EQ(partition.leader_id, 1);  // the broker's node.id
    EXPECT_EQ(partition.log_start_offset, 0);
    EXPECT_EQ(partition.log_end_offset, partition.partition == 1 ? 4 : 0);
  }
  std::optional<std::vector<std::string>> wanted = std::vector<std::string>{topic};
  io::Result<client::ClusterMetadata> metadata = co_await client.metadata(std::move(wanted));
  if (!metadata) co_return std::move(metadata).error();
  EXPECT_EQ(metadata->brokers.size(), 1u);
  EXPECT_EQ(client.cached_leader(client::TopicPartition{topic, 2}), std::optional<std::int32_t>(1));
  io::Result<void> deleted = co_await client.delete_topic(topic);
  if (!deleted) co_return deleted;
  io::Result<std::vector<std::string>> after = co_await client.list_topics();
  if (!after) co_return std::move(after).error();
  EXPECT_TRUE(after->empty());
  co_return io::ok();
}

TEST(Client, CreatesListsDescribesAndDeletesTopics) { run_in_sim(27, administration); }

void expect_kafka_error(const io::Result<void>& result, io::ErrorKind kind, const char* name) {
  ASSERT_FALSE(result.ok()) << "wanted " << name;
  EXPECT_EQ(result.error().kind, kind) << result.error().to_string();
  EXPECT_NE(result.error().message.find(name), std::string::npos) << result.error().to_string();
}

template <typename T>
io::Result<void> status_of(const io::Result<T>& result) {
  if (result) return io::ok();
  return result.error();
}

io::Task<io::Result<void>> errors(io::Env& /*env*/, Client& client) {
  const std::string missing = "missing";
  const std::string topic = "present";
  io::Result<void> created = co_await create(client, topic, 2);
  if (!created) co_return created;
  io::Result<void> again = co_await create(client, topic, 2);
  expect_kafka_error(again, io::ErrorKind::kExists, "TOPIC_ALREADY_EXISTS");
  io::Result<client::FetchedRecords> fetched =
      co_await client.fetch(missing, 0, 0, 1 << 20, Duration::ms(0));
  expect_kafka_error(status_of(fetched), io::ErrorKind::kNotFound, "UNKNOWN_TOPIC_OR_PARTITION");
  io::Result<client::FetchedRecords> no_partition =
      co_await client.fetch(topic, 5, 0, 1 << 20, Duration::ms(0));
  expect_kafka_error(status_of(no_partition), io::ErrorKind::kNotFound,
                     "UNKNOWN_TOPIC_OR_PARTITION");
  io::Result<client::FetchedRecords> beyond =
      co_await client.fetch(topic, 0, 42, 1 << 20, Duration::ms(0));
  expect_kafka_error(status_of(beyond), io::ErrorKind::kOutOfRange, "OFFSET_OUT_OF_RANGE");
  io::Result<client::TopicDescription> described = co_await client.describe_topic(missing);
  expect_kafka_error(status_of(described), io::ErrorKind::kNotFound, "UNKNOWN_TOPIC_OR_PARTITION");
  io::Result<void> deleted = co_await client.delete_topic(missing);
  expect_kafka_error(deleted, io::ErrorKind::kNotFound, "UNKNOWN_TOPIC_OR_PARTITION");

  ProducerOptions options;
  options.allow_auto_topic_creation = false;
  Producer producer(client, options);
  ProducerRecord to_missing;
  to_missing.topic = missing;
  to_missing.value = "v";
  io::Result<Delivery> refused = co_await producer.send(std::move(to_missing));
  expect_kafka_error(status_of(refused), io::ErrorKind::kNotFound, "UNKNOWN_TOPIC_OR_PARTITION");
  ProducerRecord bad_partition;
  bad_partition.topic = topic;
  bad_partition.partition = 7;
  io::Result<Delivery> out_of_range = co_await producer.send(std::move(bad_partition));
  EXPECT_FALSE(out_of_range.ok());
  if (!out_of_range) {
    EXPECT_EQ(out_of_range.error().kind, io::ErrorKind::kInvalid);
  }
  io::Result<std::vector<std::string>> names = co_await client.list_topics();
  if (!names) co_return std::move(names).error();
  EXPECT_EQ(*names, (std::vector<std::string>{topic}));  // nothing was auto-created
  co_return io::ok();
}

TEST(Client, UnknownTopicsPartitionsAndOffsetsAreNamedErrors) { run_in_sim(28, errors); }

// Batches in every codec are stored verbatim and read back record for record; one that claims
// gzip but holds something else is reported as corrupt, not misread.
io::Task<io::Result<protocol::ProduceResponse>> produce_raw(io::Env& env, const std::string& topic,
                                                            std::vector<std::byte> batch) {
  const io::Address address{"broker", kPort};
  const std::string client_id = "raw";
  io::Result<std::unique_ptr<client::KafkaConnection>> raw =
      co_await client::KafkaConnection::connect(env, address, client_id);
  if (!raw) co_return std::move(raw).error();
  protocol::ProduceRequest request;
  request.timeout_ms = 30'000;
  protocol::TopicProduceData& data = request.topic_data.emplace_back();
  data.name = topic;
  data.partition_data.push_back({0, std::move(batch), false});
  io::Result<protocol::ProduceResponse> produced = co_await client::produce(**raw, request);
  co_return produced;
}

io::Task<io::Result<void>> compressed(io::Env& env, Client& client) {
  const std::string topic = "zipped";
  io::Result<void> created = co_await create(client, topic, 1);
  if (!created) co_return created;
  std::vector<protocol::Record> records(3);
  for (std::size_t i = 0; i < records.size(); ++i) {
    records[i].key = "k" + std::to_string(i);
    records[i].value = std::string(100, static_cast<char>('a' + i));
    records[i].headers.push_back({"h", "v" + std::to_string(i)});
  }
  const protocol::Compression codecs[] = {
      protocol::Compression::kGzip, protocol::Compression::kSnappy, protocol::Compression::kLz4,
      protocol::Compression::kZstd};
  for (protocol::Compression codec : codecs) {
    protocol::BatchOptions options;
    options.compression = codec;
    std::vector<std::byte> batch = protocol::build_batch(records, options);
    io::Result<protocol::ProduceResponse> produced = co_await produce_raw(env, topic, batch);
    if (!produced) co_return std::move(produced).error();
    EXPECT_EQ(produced->responses.at(0).partition_responses.at(0).error_code, 0);
  }
  io::Result<client::FetchedRecords> fetched =
      co_await client.fetch(topic, 0, 0, 1 << 20, Duration::ms(100));
  if (!fetched) co_return std::move(fetched).error();
  EXPECT_EQ(fetched->records.size(), 3 * std::size(codecs));
  for (std::size_t i = 0; i < fetched->records.size(); ++i) {
    protocol::Record expected = records[i % 3];
    expected.offset = static_cast<std::int64_t>(i);
    EXPECT_EQ(fetched->records[i], expected) << "offset " << i;
  }
  std::vector<protocol::Record> fake(1);
  fake[0].value = "not really gzip";
  std::vector<std::byte> batch = protocol::build_batch(fake);
  protocol::store_be<std::int16_t>(batch.data() + protocol::batch_field::kAttributes, 1);
  protocol::store_be<std::uint32_t>(batch.data() + protocol::batch_field::kCrc,
                                    protocol::compute_batch_crc(batch));
  io::Result<protocol::ProduceResponse> produced = co_await produce_raw(env, topic, batch);
  if (!produced) co_return std::move(produced).error();
  EXPECT_EQ(produced->responses.at(0).partition_responses.at(0).error_code, 0);
  const auto next = static_cast<std::int64_t>(3 * std::size(codecs));
  io::Result<client::FetchedRecords> bad =
      co_await client.fetch(topic, 0, next, 1 << 20, Duration::ms(100));
  EXPECT_FALSE(bad.ok());
  if (!bad) {
    EXPECT_EQ(bad.error().kind, io::ErrorKind::kCorrupt);
    EXPECT_NE(bad.error().message.find("gzip"), std::string::npos) << bad.error().to_string();
  }
  co_return io::ok();
}

TEST(Client, EveryCodecReadsBackAndAFakeOneIsCorrupt) { run_in_sim(29, compressed); }

// ---- A broker that never answers
// ------------------------------------------------------------------

// Accepts connections and reads nothing: every request waits forever unless the client gives up.
io::Task<void> run_silent(io::Env& env) {
  const io::Address address{"silent", kPort};
  io::Result<std::unique_ptr<io::Listener>> listener = env.net().listen(address);
  STRAND_ASSERT(listener.ok(), "the silent node listens");
  std::vector<std::unique_ptr<io::Connection>> held;
  for (int i = 0; i < 16; ++i) {
    io::Result<std::unique_ptr<io::Connection>> accepted = co_await (*listener)->accept();
    if (!accepted) break;
    held.push_back(std::move(*accepted));
  }
  io::Event forever;
  co_await forever.wait();
}

struct Silence {
  std::optional<io::Error> metadata;
  std::optional<io::Error> again;  // on a fresh connection
  Duration waited;
};

io::Task<io::Result<Silence>> ask_silent(io::Env* env) {
  const io::Address address{"silent", kPort};
  client::ClientOptions options;
  options.request_timeout = Duration::s(2);
  io::Result<std::unique_ptr<Client>> connected = co_await Client::connect(*env, address, options);
  for (int attempt = 0; !connected && attempt < 50; ++attempt) {
    co_await env->clock().sleep(Duration::ms(100));
    connected = co_await Client::connect(*env, address, options);
  }
  if (!connected) co_return std::move(connected).error();
  Silence out;
  const io::Instant start = env->clock().now();
  std::optional<std::vector<std::string>> all;
  io::Result<client::ClusterMetadata> first = co_await (*connected)->metadata(std::move(all));
  if (!first) out.metadata = first.error();
  out.waited = env->clock().now() - start;
  std::optional<std::vector<std::string>> again_all;
  io::Result<client::ClusterMetadata> second =
      co_await (*connected)->metadata(std::move(again_all));
  if (!second) out.again = second.error();
  co_return std::move(out);
}

TEST(Client, RequestsWithoutAnAnswerTimeOutAndTheNextOneReconnects) {
  sim::SimWorld world(30);
  sim::SimNode silent(world, sim::NodeId{0}, "silent", run_silent);
  sim::SimNode client(world, sim::NodeId{1}, "client");
  io::Result<io::Result<Silence>> result =
      world.run_task(client, ask_silent(&client.env()), Duration::s(600));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  ASSERT_TRUE(result->ok()) << result->error().to_string();
  const Silence& silence = **result;
  ASSERT_TRUE(silence.metadata.has_value());
  EXPECT_EQ(silence.metadata->kind, io::ErrorKind::kTimeout);
  EXPECT_GE(silence.waited, Duration::s(2));
  EXPECT_LT(silence.waited, Duration::s(3));
  ASSERT_TRUE(silence.again.has_value());
  EXPECT_EQ(silence.again->kind, io::ErrorKind::kTimeout);
}

// Bootstrap addresses are tried in order (a broker that refuses is skipped), and a leader the
// client forgot is found again through metadata.
io::Task<io::Result<void>> bootstrap_many(io::Env* env) {
  std::vector<io::Address> addresses{io::Address{"idle", kPort}, io::Address{"broker", kPort}};
  const client::ClientOptions options;
  io::Result<std::unique_ptr<Client>> connected =
      co_await Client::connect(*env, addresses, options);
  for (int attempt = 0; !connected && attempt < 50; ++attempt) {
    co_await env->clock().sleep(Duration::ms(100));
    connected = co_await Client::connect(*env, addresses, options);
  }
  if (!connected) co_return std::move(connected).error();
  Client& client = **connected;
  const std::string topic = "many";
  io::Result<void> created = co_await create(client, topic, 2);
  if (!created) co_return std::move(created).error();
  std::vector<std::int32_t> partitions{0, 1};
  io::Result<std::map<std::int32_t, std::int64_t>> ends =
      co_await client.list_offsets(topic, partitions, protocol::kLatestTimestamp);
  if (!ends) co_return std::move(ends).error();
  const client::TopicPartition tp{topic, 1};
  EXPECT_TRUE(client.cached_leader(tp).has_value());
  client.forget_leader(tp);
  EXPECT_FALSE(client.cached_leader(tp).has_value());
  io::Result<std::map<std::int32_t, std::int64_t>> again =
      co_await client.list_offsets(topic, partitions, protocol::kLatestTimestamp);
  if (!again) co_return std::move(again).error();
  EXPECT_TRUE(client.cached_leader(tp).has_value());
  co_return io::ok();
}

TEST(Client, BootstrapSkipsAddressesThatRefuseAndForgottenLeadersAreLookedUpAgain) {
  sim::SimWorld world(32);
  sim::SimNode broker(world, sim::NodeId{0}, "broker", run_broker);
  sim::SimNode idle(world, sim::NodeId{1}, "idle");
  sim::SimNode client(world, sim::NodeId{2}, "client");
  io::Result<io::Result<void>> result =
      world.run_task(client, bootstrap_many(&client.env()), Duration::s(600));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  ASSERT_TRUE(result->ok()) << result->error().to_string();
}

TEST(Client, LeaderMovedErrorsAreNotLeaderUnavailableLeaderAndLostConnections) {
  EXPECT_TRUE(Client::leader_may_have_moved(client::kafka_error(6, "t-0")));
  EXPECT_TRUE(Client::leader_may_have_moved(client::kafka_error(5, "t-0")));
  EXPECT_TRUE(Client::leader_may_have_moved(io::Error{io::ErrorKind::kClosed, "gone"}));
  EXPECT_TRUE(Client::leader_may_have_moved(io::Error{io::ErrorKind::kRefused, "down"}));
  EXPECT_FALSE(Client::leader_may_have_moved(client::kafka_error(3, "t-0")));
  EXPECT_FALSE(Client::leader_may_have_moved(client::kafka_error(1, "t-0")));
}

}  // namespace
}  // namespace strand
