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
#include "broker_sim_support.h"
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
  BrokerConfig config = sim_config();
  return testing::serve_until_crashed(env, std::move(config));
}

io::Task<io::Result<std::unique_ptr<client::KafkaConnection>>> connect(io::Env& env) {
  // Named arguments: GCC 12 miscompiles braced temporaries passed by value to a coroutine.
  io::Address address{"broker", kPort};
  std::string client_id = "sim-client";
  return testing::connect_when_listening(env, std::move(address), std::move(client_id));
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

// ---- Shutdown
// ------------------------------------------------------------------------------------

struct ShutdownProbe {
  io::Event stop;
  bool closed_cleanly = false;
  io::Instant stopped_at;
  io::Instant closed_at;
};

io::Task<void> run_broker_until_stopped(io::Env* env, ShutdownProbe* probe) {
  Broker broker(*env, sim_config());
  io::Result<void> started = co_await broker.start();
  STRAND_ASSERT(started.ok(), "the simulated broker starts");
  co_await probe->stop.wait();
  probe->stopped_at = env->clock().now();
  io::Result<void> closed = co_await broker.shutdown();
  probe->closed_at = env->clock().now();
  probe->closed_cleanly = closed.ok();
}

struct LongPoll {
  bool answered = false;
  std::int16_t error_code = -1;
};

io::Task<void> long_poll(io::Env* env, LongPoll* poll) {
  io::Result<std::unique_ptr<client::KafkaConnection>> connection = co_await connect(*env);
  if (!connection) co_return;
  io::Result<ErrorCode> created = co_await create_topic(**connection, "quiet", 1);
  if (!created) co_return;
  io::Result<protocol::FetchResponse> fetched =
      co_await client::fetch(**connection, fetch_request("quiet", 0, 0, 30'000));
  poll->answered = fetched.ok();
  if (fetched) poll->error_code = fetched->responses.at(0).partitions.at(0).error_code;
}

// A fetch parked for 30 s does not hold up a shutdown: it is answered (empty) at once, and the
// logs close with their clean-shutdown markers, so the next start skips recovery.
TEST(BrokerSim, ShutdownAnswersLongPollsAndClosesLogsCleanly) {
  sim::SimWorld world(5);
  sim::SimNode broker(world, sim::NodeId{0}, "broker");
  sim::SimNode client(world, sim::NodeId{1}, "client");
  ShutdownProbe probe;
  broker.env().executor().root().spawn(run_broker_until_stopped(&broker.env(), &probe));
  LongPoll poll;
  client.env().executor().root().spawn(long_poll(&client.env(), &poll));
  world.run_for(Duration::s(2));
  ASSERT_FALSE(poll.answered) << "the fetch is still waiting for data";
  probe.stop.set();
  ASSERT_TRUE(
      world.run_until([&] { return probe.closed_cleanly && poll.answered; }, Duration::s(5)));
  EXPECT_EQ(poll.error_code, 0);
  EXPECT_LT((probe.closed_at - probe.stopped_at).count_ms(), 1000);
  const std::string marker_path = "data/quiet-0/clean_shutdown";
  io::Result<io::Result<bool>> marker =
      world.run_task(broker, broker.env().fs().exists(marker_path), Duration::s(1));
  ASSERT_TRUE(marker.ok() && marker->ok());
  EXPECT_TRUE(**marker);
}

// ---- Hostile bytes -----------------------------------------------------------------------------

// Valid requests of every API, to be mangled: mutations reach deep into the handlers, where pure
// noise would stop at the first length field.
std::vector<std::vector<std::byte>> valid_frames() {
  std::vector<std::vector<std::byte>> frames;
  auto frame = [&](protocol::ApiKey key, std::int16_t version, auto write, const auto& request) {
    protocol::Writer writer;
    const std::size_t size_at = writer.reserve_i32();
    writer.write_i16(static_cast<std::int16_t>(key));
    writer.write_i16(version);
    writer.write_i32(static_cast<std::int32_t>(frames.size()));
    writer.write_nullable_string(std::string("fuzz"));
    if (protocol::is_flexible(key, version)) writer.write_empty_tagged_fields();
    write(writer, request, version);
    writer.patch_i32(size_at, static_cast<std::int32_t>(writer.size() - 4));
    frames.push_back(writer.take());
  };
  static const std::vector<std::byte> batch = batch_of("key", "value");
  frame(protocol::ApiKey::kProduce, 8, protocol::write_produce_request,
        produce_request("events", 0, batch, 1));
  frame(protocol::ApiKey::kProduce, 3, protocol::write_produce_request,
        produce_request("events", 1, batch, -1));
  frame(protocol::ApiKey::kFetch, 11, protocol::write_fetch_request,
        fetch_request("events", 0, 0, 10));
  frame(protocol::ApiKey::kFetch, 4, protocol::write_fetch_request,
        fetch_request("events", 1, 3, 0));
  protocol::MetadataRequest metadata;
  metadata.topics = std::vector<protocol::MetadataRequestTopic>{{"events"}, {"other"}};
  frame(protocol::ApiKey::kMetadata, 8, protocol::write_metadata_request, metadata);
  frame(protocol::ApiKey::kMetadata, 0, protocol::write_metadata_request, metadata);
  protocol::ListOffsetsRequest offsets;
  offsets.topics.push_back({"events", {{0, -1, -2}, {1, -1, 1000}}});
  frame(protocol::ApiKey::kListOffsets, 5, protocol::write_list_offsets_request, offsets);
  protocol::CreateTopicsRequest create;
  create.topics.push_back({"made", 2, 1, {}, {{"retention.ms", "1000"}}});
  frame(protocol::ApiKey::kCreateTopics, 4, protocol::write_create_topics_request, create);
  protocol::DeleteTopicsRequest remove;
  remove.topic_names = {"made"};
  frame(protocol::ApiKey::kDeleteTopics, 3, protocol::write_delete_topics_request, remove);
  return frames;
}

std::vector<std::byte> mangle(std::vector<std::byte> frame, io::Random& random) {
  const std::uint64_t how = random.uniform(4);
  if (how == 0) {  // flip bytes anywhere after the size prefix
    for (std::uint64_t i = 0, flips = 1 + random.uniform(4); i < flips; ++i) {
      frame[4 + random.uniform(frame.size() - 4)] ^=
          static_cast<std::byte>(1 + random.uniform(255));
    }
  } else if (how == 1) {  // cut the body short, keeping the size prefix honest
    frame.resize(12 + random.uniform(frame.size() - 12));
  } else if (how == 2) {  // set a 16- or 32-bit field to an extreme
    const std::size_t at = 12 + random.uniform(frame.size() - 16);
    const std::uint32_t extreme = random.chance(0.5) ? 0x7fffffffu : 0xffffffffu;
    protocol::store_be<std::uint32_t>(frame.data() + at, extreme);
  } else {  // trailing garbage
    for (std::uint64_t i = 0, extra = 1 + random.uniform(64); i < extra; ++i) {
      frame.push_back(static_cast<std::byte>(random.uniform(256)));
    }
  }
  protocol::store_be<std::uint32_t>(frame.data(), static_cast<std::uint32_t>(frame.size() - 4));
  return frame;
}

io::Task<void> close_after(io::Env* env, io::Connection* connection, Duration delay) {
  co_await env->clock().sleep(delay);
  connection->close();
}

io::Task<io::Result<std::uint64_t>> send_hostile_frames(io::Env* env, std::uint64_t seed) {
  io::SeededRandom random(seed);
  std::vector<std::vector<std::byte>> frames = valid_frames();
  std::uint64_t connections = 0;
  for (int round = 0; round < 40; ++round) {
    const io::Address address{"broker", kPort};
    io::Result<std::unique_ptr<io::Connection>> connection = co_await env->net().connect(address);
    if (!connection) {
      co_await env->clock().sleep(Duration::ms(100));
      continue;
    }
    connections += 1;
    for (int i = 0; i < 8; ++i) {
      std::vector<std::byte> bytes = mangle(frames[random.uniform(frames.size())], random);
      io::Result<void> written = co_await (*connection)->write(bytes);
      if (!written) break;
    }
    // Drain what comes back (answers, or the close of a connection the broker gave up on) until
    // the broker goes quiet: a request without an answer (acks=0) leaves the connection open.
    io::TaskScope closer;
    closer.spawn(close_after(env, connection->get(), Duration::s(40)));
    std::vector<std::byte> sink(4096);
    for (int reads = 0; reads < 4096; ++reads) {
      io::Result<std::size_t> got = co_await (*connection)->read_some(sink);
      if (!got) break;
    }
    (*connection)->close();
    closer.cancel();
  }
  // The broker still answers a well-formed client.
  io::Result<std::unique_ptr<client::KafkaConnection>> healthy = co_await connect(*env);
  if (!healthy) co_return std::move(healthy).error();
  protocol::MetadataRequest request;
  io::Result<protocol::MetadataResponse> answer = co_await client::metadata(**healthy, request);
  if (!answer) co_return std::move(answer).error();
  if (answer->brokers.size() != 1) co_return io::Error{io::ErrorKind::kCorrupt, "one broker"};
  co_return connections;
}

// Frames mangled from valid requests of every API get an answer or a closed connection, never a
// crash (an assertion would abort this test), and the broker serves the next client.
TEST(BrokerSim, HostileFramesNeverCrashTheBroker) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    sim::SimWorld world(seed);
    sim::SimNode broker(world, sim::NodeId{0}, "broker", run_broker);
    sim::SimNode client(world, sim::NodeId{1}, "client");
    // Idle reads end by the broker closing or the drain's own limit; bound it in virtual time.
    io::Result<io::Result<std::uint64_t>> result =
        world.run_task(client, send_hostile_frames(&client.env(), seed), Duration::s(3600));
    ASSERT_TRUE(result.ok()) << "seed " << seed << ": " << result.error().to_string();
    ASSERT_TRUE(result->ok()) << "seed " << seed << ": " << result->error().to_string();
    EXPECT_GT(**result, 0u);
    EXPECT_TRUE(broker.up());
  }
}

// ---- Crashes -----------------------------------------------------------------------------------

struct Acked {
  std::int64_t offset;
  std::string value;
};

struct CrashWorkload {
  std::int32_t target = 3000;
  std::vector<Acked> acked;  // in acknowledgement order
  std::uint64_t errors = 0;  // failed sends (the broker was down): retried, maybe duplicated
  bool done = false;
};

struct ConnectRace {
  std::optional<io::Result<std::unique_ptr<client::KafkaConnection>>> result;
  io::Event done;
};

io::Task<void> connect_into(io::Env* env, ConnectRace* race) {
  const io::Address address{"broker", kPort};
  io::Result<std::unique_ptr<client::KafkaConnection>> connection =
      co_await client::KafkaConnection::connect(*env, address, "sim-client");
  race->result.emplace(std::move(connection));
  race->done.set();
}

io::Task<void> set_after(io::Env* env, io::Event* event, Duration delay) {
  co_await env->clock().sleep(delay);
  event->set();
}

// One connection attempt that gives up after `limit` (a SYN to a powered-off machine goes
// unanswered until the transport's own, much longer, timeout).
io::Task<io::Result<std::unique_ptr<client::KafkaConnection>>> connect_within(io::Env* env,
                                                                              Duration limit) {
  ConnectRace race;
  io::TaskScope attempt;
  attempt.spawn(connect_into(env, &race));
  attempt.spawn(set_after(env, &race.done, limit));
  co_await race.done.wait();
  co_await env->clock().sleep(Duration::ns(0));  // let the child that woke us return first
  attempt.cancel();
  if (!race.result) co_return io::Error{io::ErrorKind::kTimeout, "connect timed out"};
  co_return std::move(*race.result);
}

io::Task<void> close_kafka_after(io::Env* env, client::KafkaConnection* connection,
                                 Duration delay) {
  co_await env->clock().sleep(delay);
  connection->close();
}

// Produces `target` acknowledged records (acks=all, one per request) to events-0, reconnecting
// whenever the broker goes away, like a Kafka producer with retries.
io::Task<void> produce_through_crashes(io::Env* env, CrashWorkload* workload) {
  std::unique_ptr<client::KafkaConnection> connection;
  bool topic_ready = false;
  for (std::int32_t next = 0; next < workload->target;) {
    if (!connection || connection->closed()) {
      io::Result<std::unique_ptr<client::KafkaConnection>> fresh =
          co_await connect_within(env, Duration::ms(1000));
      if (!fresh) {
        co_await env->clock().sleep(Duration::ms(20));
        continue;
      }
      connection = std::move(*fresh);
    }
    if (!topic_ready) {
      io::TaskScope deadline;
      deadline.spawn(close_kafka_after(env, connection.get(), Duration::ms(300)));
      io::Result<ErrorCode> created = co_await create_topic(*connection, "events", 1);
      deadline.cancel();
      if (!created) {
        connection.reset();
        continue;
      }
      topic_ready = *created == ErrorCode::kNone || *created == ErrorCode::kTopicAlreadyExists;
      continue;
    }
    const std::string value = "record-" + std::to_string(next);
    std::vector<std::byte> batch = batch_of("k", value);
    // A powered-off machine sends no reset: give up on an answer after a request timeout.
    io::TaskScope deadline;
    deadline.spawn(close_kafka_after(env, connection.get(), Duration::ms(300)));
    io::Result<protocol::ProduceResponse> produced =
        co_await client::produce(*connection, produce_request("events", 0, batch, -1));
    deadline.cancel();
    if (!produced || produced->responses.at(0).partition_responses.at(0).error_code != 0) {
      workload->errors += 1;
      connection.reset();
      co_await env->clock().sleep(Duration::ms(50));
      continue;
    }
    workload->acked.push_back(
        {produced->responses.at(0).partition_responses.at(0).base_offset, value});
    next += 1;
  }
  workload->done = true;
}

io::Task<io::Result<std::vector<protocol::Record>>> fetch_all(io::Env* env) {
  io::Result<std::unique_ptr<client::KafkaConnection>> connection = co_await connect(*env);
  if (!connection) co_return std::move(connection).error();
  std::vector<protocol::Record> all;
  for (int rounds = 0; rounds < 10'000; ++rounds) {
    const std::int64_t from = all.empty() ? 0 : all.back().offset + 1;
    io::Result<protocol::FetchResponse> fetched =
        co_await client::fetch(**connection, fetch_request("events", 0, from, 0));
    if (!fetched) co_return std::move(fetched).error();
    const protocol::FetchPartitionData& data = fetched->responses.at(0).partitions.at(0);
    if (data.error_code != 0) {
      co_return io::Error{io::ErrorKind::kCorrupt,
                          "fetch error " + std::to_string(data.error_code)};
    }
    std::vector<protocol::Record> records = records_in(data.records);
    if (records.empty()) break;
    all.insert(all.end(), records.begin(), records.end());
  }
  co_return std::move(all);
}

// The broker's machine loses power (unsynced data dropped or torn) at random moments during an
// acks=all load; after it comes back every acknowledged record is at its acknowledged offset, the
// log is dense and every record in it parses.
TEST(BrokerSim, AcknowledgedRecordsSurvivePowerFailures) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    sim::SimWorld world(seed);
    sim::SimNode broker(world, sim::NodeId{0}, "broker", run_broker);
    sim::SimNode client(world, sim::NodeId{1}, "client");
    // A disk whose syncs take time, so that an answer sent before its sync would be caught.
    broker.disk().faults().write_latency = {Duration::us(20), Duration::us(200)};
    broker.disk().faults().sync_latency = {Duration::us(500), Duration::ms(4)};
    CrashWorkload workload;
    client.env().executor().root().spawn(produce_through_crashes(&client.env(), &workload));
    io::SeededRandom random(seed);
    std::uint64_t crashes = 0;
    for (int round = 0; round < 50 && !workload.done; ++round) {
      world.run_for(Duration::ms(static_cast<std::int64_t>(20 + random.uniform(400))));
      if (workload.done) break;
      broker.crash();
      crashes += 1;
      world.run_for(Duration::ms(static_cast<std::int64_t>(random.uniform(200))));
      broker.restart();
    }
    ASSERT_TRUE(world.run_until([&] { return workload.done; }, Duration::s(600)))
        << "seed " << seed << ": the producer finished";
    EXPECT_GT(crashes, 0u) << "seed " << seed;
    std::printf("seed %llu: %llu crashes, %zu acknowledged, %llu failed sends\n",
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(crashes),
                workload.acked.size(), static_cast<unsigned long long>(workload.errors));
    io::Result<io::Result<std::vector<protocol::Record>>> fetched =
        world.run_task(client, fetch_all(&client.env()), Duration::s(60));
    ASSERT_TRUE(fetched.ok() && fetched->ok()) << "seed " << seed;
    const std::vector<protocol::Record>& log = **fetched;
    for (std::size_t i = 0; i < log.size(); ++i) {
      ASSERT_EQ(log[i].offset, static_cast<std::int64_t>(i)) << "seed " << seed << ": dense";
    }
    for (const Acked& acked : workload.acked) {
      ASSERT_LT(acked.offset, static_cast<std::int64_t>(log.size()))
          << "seed " << seed << ": acknowledged offset " << acked.offset << " lost";
      EXPECT_EQ(log[acked.offset].value, acked.value) << "seed " << seed;
    }
  }
}

}  // namespace
}  // namespace strand
