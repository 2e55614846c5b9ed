#include "broker/protocol/metadata.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "message_test_support.h"

namespace strand::protocol {
namespace {

using namespace test_support;

// Only the fields `version` carries are set; the rest keep their defaults.
MetadataRequest gen_request(std::int16_t version) {
  MetadataRequest request;
  if (*rc::gen::inRange(0, 3) > 0) {
    request.topics = small_vector([] { return MetadataRequestTopic{gen_name()}; });
    // v0 can't say "no topics": its empty array means all of them.
    if (version == 0 && request.topics->empty()) request.topics.reset();
  }
  if (version >= 4) request.allow_auto_topic_creation = *rc::gen::arbitrary<bool>();
  if (version >= 8) {
    request.include_cluster_authorized_operations = *rc::gen::arbitrary<bool>();
    request.include_topic_authorized_operations = *rc::gen::arbitrary<bool>();
  }
  return request;
}

MetadataResponsePartition gen_partition(std::int16_t version) {
  MetadataResponsePartition partition;
  partition.error_code = *rc::gen::arbitrary<std::int16_t>();
  partition.partition_index = *rc::gen::arbitrary<std::int32_t>();
  partition.leader_id = *rc::gen::arbitrary<std::int32_t>();
  if (version >= 7) partition.leader_epoch = *rc::gen::arbitrary<std::int32_t>();
  partition.replica_nodes = small_vector([] { return *rc::gen::arbitrary<std::int32_t>(); });
  partition.isr_nodes = small_vector([] { return *rc::gen::arbitrary<std::int32_t>(); });
  if (version >= 5) {
    partition.offline_replicas = small_vector([] { return *rc::gen::arbitrary<std::int32_t>(); });
  }
  return partition;
}

MetadataResponse gen_response(std::int16_t version) {
  MetadataResponse response;
  if (version >= 3) response.throttle_time_ms = *rc::gen::arbitrary<std::int32_t>();
  response.brokers = small_vector([version] {
    MetadataResponseBroker broker;
    broker.node_id = *rc::gen::arbitrary<std::int32_t>();
    broker.host = gen_name();
    broker.port = *rc::gen::arbitrary<std::int32_t>();
    if (version >= 1) broker.rack = gen_nullable_name();
    return broker;
  });
  if (version >= 2) response.cluster_id = gen_nullable_name();
  if (version >= 1) response.controller_id = *rc::gen::arbitrary<std::int32_t>();
  response.topics = small_vector([version] {
    MetadataResponseTopic topic;
    topic.error_code = *rc::gen::arbitrary<std::int16_t>();
    topic.name = gen_name();
    if (version >= 1) topic.is_internal = *rc::gen::arbitrary<bool>();
    topic.partitions = small_vector([version] { return gen_partition(version); });
    if (version >= 8) topic.topic_authorized_operations = *rc::gen::arbitrary<std::int32_t>();
    return topic;
  });
  if (version >= 8) response.cluster_authorized_operations = *rc::gen::arbitrary<std::int32_t>();
  return response;
}

// One of everything, every field away from its default.
MetadataResponse sample_response() {
  MetadataResponse response;
  response.throttle_time_ms = 5;
  response.brokers.push_back({1, "h", 9092, "r"});
  response.cluster_id = "c";
  response.controller_id = 1;
  MetadataResponseTopic topic{3, "t", true, {}, 0x1f};
  topic.partitions.push_back({0, 2, 1, 7, {1, 2}, {1}, {2}});
  response.topics.push_back(topic);
  response.cluster_authorized_operations = 0x2f;
  return response;
}

TEST(Metadata, V8RequestMatchesTheWireLayout) {
  MetadataRequest request;
  request.topics = std::vector<MetadataRequestTopic>{{"ab"}};
  request.allow_auto_topic_creation = false;
  request.include_cluster_authorized_operations = true;
  request.include_topic_authorized_operations = false;
  std::vector<std::byte> expected;
  put(expected, 1, 4);         // topics: count
  put_string(expected, "ab");  //   name
  put(expected, 0, 1);         // allow_auto_topic_creation
  put(expected, 1, 1);         // include_cluster_authorized_operations
  put(expected, 0, 1);         // include_topic_authorized_operations
  Writer writer;
  write_metadata_request(writer, request, 8);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(Metadata, V8ResponseMatchesTheWireLayout) {
  std::vector<std::byte> expected;
  put(expected, 5, 4);        // throttle_time_ms
  put(expected, 1, 4);        // brokers: count
  put(expected, 1, 4);        //   node_id
  put_string(expected, "h");  //   host
  put(expected, 9092, 4);     //   port
  put_string(expected, "r");  //   rack
  put_string(expected, "c");  // cluster_id
  put(expected, 1, 4);        // controller_id
  put(expected, 1, 4);        // topics: count
  put(expected, 3, 2);        //   error_code
  put_string(expected, "t");  //   name
  put(expected, 1, 1);        //   is_internal
  put(expected, 1, 4);        //   partitions: count
  put(expected, 0, 2);        //     error_code
  put(expected, 2, 4);        //     partition_index
  put(expected, 1, 4);        //     leader_id
  put(expected, 7, 4);        //     leader_epoch
  put(expected, 2, 4);        //     replica_nodes: count
  put(expected, 1, 4);        //       1
  put(expected, 2, 4);        //       2
  put(expected, 1, 4);        //     isr_nodes: count
  put(expected, 1, 4);        //       1
  put(expected, 1, 4);        //     offline_replicas: count
  put(expected, 2, 4);        //       2
  put(expected, 0x1f, 4);     //   topic_authorized_operations
  put(expected, 0x2f, 4);     // cluster_authorized_operations
  Writer writer;
  write_metadata_response(writer, sample_response(), 8);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(Metadata, V0ResponseCarriesOnlyTheOriginalFields) {
  std::vector<std::byte> expected;
  put(expected, 1, 4);        // brokers: count
  put(expected, 1, 4);        //   node_id
  put_string(expected, "h");  //   host
  put(expected, 9092, 4);     //   port
  put(expected, 1, 4);        // topics: count
  put(expected, 3, 2);        //   error_code
  put_string(expected, "t");  //   name
  put(expected, 1, 4);        //   partitions: count
  put(expected, 0, 2);        //     error_code
  put(expected, 2, 4);        //     partition_index
  put(expected, 1, 4);        //     leader_id
  put(expected, 2, 4);        //     replica_nodes: count
  put(expected, 1, 4);        //       1
  put(expected, 2, 4);        //       2
  put(expected, 1, 4);        //     isr_nodes: count
  put(expected, 1, 4);        //       1
  Writer writer;
  write_metadata_response(writer, sample_response(), 0);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(Metadata, NullTopicsMeansAllTopicsFromV1) {
  for (std::int16_t version = 1; version <= kMetadataVersionMax; ++version) {
    Writer writer;
    write_metadata_request(writer, MetadataRequest{}, version);
    EXPECT_EQ(writer.bytes()[0], std::byte{0xff});  // array length -1
    Reader reader(writer.bytes());
    EXPECT_FALSE(read_metadata_request(reader, version).topics.has_value());
    EXPECT_TRUE(reader.ok());
  }
}

TEST(Metadata, EmptyTopicsMeansNoTopicsFromV1) {
  MetadataRequest request;
  request.topics.emplace();
  Writer writer;
  write_metadata_request(writer, request, 1);
  Reader reader(writer.bytes());
  const MetadataRequest read = read_metadata_request(reader, 1);
  ASSERT_TRUE(read.topics.has_value());
  EXPECT_TRUE(read.topics->empty());
}

TEST(Metadata, EmptyTopicsMeansAllTopicsAtV0) {
  Writer writer;
  write_metadata_request(writer, MetadataRequest{}, 0);
  std::vector<std::byte> expected;
  put(expected, 0, 4);  // topics: count 0, v0's "all topics"
  EXPECT_EQ(writer.bytes(), expected);
  Reader reader(writer.bytes());
  EXPECT_FALSE(read_metadata_request(reader, 0).topics.has_value());
  EXPECT_TRUE(reader.ok());
}

TEST(Metadata, NullTopicsAtV0IsAnError) {
  std::vector<std::byte> frame;
  put(frame, -1, 4);
  Reader reader(frame);
  (void)read_metadata_request(reader, 0);
  EXPECT_FALSE(reader.ok());
}

TEST(Metadata, DefaultsHoldForFieldsAVersionLacks) {
  MetadataRequest request;
  request.allow_auto_topic_creation = false;
  Writer writer;
  write_metadata_request(writer, request, 3);
  Reader reader(writer.bytes());
  EXPECT_TRUE(read_metadata_request(reader, 3).allow_auto_topic_creation);
  Writer response_writer;
  write_metadata_response(response_writer, sample_response(), 6);
  Reader response_reader(response_writer.bytes());
  const MetadataResponse read = read_metadata_response(response_reader, 6);
  EXPECT_EQ(read.topics[0].partitions[0].leader_epoch, -1);
  EXPECT_EQ(read.cluster_authorized_operations, kAuthorizedOperationsOmitted);
}

TEST(Metadata, UnimplementedVersionLatchesAnError) {
  const std::vector<std::byte> frame(64, std::byte{0});
  for (std::int16_t version : {-1, 9, 12}) {
    Reader reader(frame);
    (void)read_metadata_request(reader, version);
    EXPECT_FALSE(reader.ok());
    Reader response_reader(frame);
    (void)read_metadata_response(response_reader, version);
    EXPECT_FALSE(response_reader.ok());
  }
}

TEST(Metadata, TruncatedMessagesLatchAnError) {
  MetadataRequest request;
  request.topics = std::vector<MetadataRequestTopic>{{"one"}, {"two"}};
  for (std::int16_t version = kMetadataVersionMin; version <= kMetadataVersionMax; ++version) {
    Writer request_writer;
    write_metadata_request(request_writer, request, version);
    Writer response_writer;
    write_metadata_response(response_writer, sample_response(), version);
    for (std::size_t size = 0; size < request_writer.size(); ++size) {
      Reader reader(std::span(request_writer.bytes()).first(size));
      (void)read_metadata_request(reader, version);
      EXPECT_FALSE(reader.ok()) << "v" << version << " request cut to " << size;
    }
    for (std::size_t size = 0; size < response_writer.size(); ++size) {
      Reader reader(std::span(response_writer.bytes()).first(size));
      (void)read_metadata_response(reader, version);
      EXPECT_FALSE(reader.ok()) << "v" << version << " response cut to " << size;
    }
  }
}

// At every version, reading what was written gives back the same message and consumes all of it.
RC_GTEST_PROP(Metadata, RequestsRoundTripAtEveryVersion, ()) {
  for (std::int16_t version = kMetadataVersionMin; version <= kMetadataVersionMax; ++version) {
    const MetadataRequest request = gen_request(version);
    Writer writer;
    write_metadata_request(writer, request, version);
    Reader reader(writer.bytes());
    const MetadataRequest read = read_metadata_request(reader, version);
    RC_ASSERT(reader.ok());
    RC_ASSERT(reader.remaining() == 0u);
    RC_ASSERT(read == request);
  }
}

// At every version, reading what was written gives back the same message and consumes all of it.
RC_GTEST_PROP(Metadata, ResponsesRoundTripAtEveryVersion, ()) {
  for (std::int16_t version = kMetadataVersionMin; version <= kMetadataVersionMax; ++version) {
    const MetadataResponse response = gen_response(version);
    Writer writer;
    write_metadata_response(writer, response, version);
    Reader reader(writer.bytes());
    const MetadataResponse read = read_metadata_response(reader, version);
    RC_ASSERT(reader.ok());
    RC_ASSERT(reader.remaining() == 0u);
    RC_ASSERT(read == response);
  }
}

// Any bytes, read at any version, end in a message or a latched error: never a crash.
RC_GTEST_PROP(Metadata, ArbitraryBytesNeverCrashTheReaders,
              (const std::vector<std::uint8_t>& raw)) {
  const std::vector<std::byte> frame = to_bytes(raw);
  for (std::int16_t version = kMetadataVersionMin - 1; version <= kMetadataVersionMax + 1;
       ++version) {
    Reader request_reader(frame);
    (void)read_metadata_request(request_reader, version);
    RC_ASSERT(request_reader.ok() || request_reader.remaining() == 0u);
    Reader response_reader(frame);
    (void)read_metadata_response(response_reader, version);
    RC_ASSERT(response_reader.ok() || response_reader.remaining() == 0u);
  }
}

// A valid response with a few bytes overwritten (lying counts and lengths) never crashes a reader.
RC_GTEST_PROP(Metadata, CorruptedResponsesNeverCrashTheReader, ()) {
  const auto version =
      *rc::gen::inRange<std::int16_t>(kMetadataVersionMin, kMetadataVersionMax + 1);
  Writer writer;
  write_metadata_response(writer, gen_response(version), version);
  std::vector<std::byte> frame = writer.take();
  RC_PRE(!frame.empty());
  for (int i = *rc::gen::inRange(1, 4); i > 0; --i) {
    frame[*rc::gen::inRange<std::size_t>(0, frame.size())] =
        static_cast<std::byte>(*rc::gen::arbitrary<std::uint8_t>());
  }
  Reader reader(frame);
  (void)read_metadata_response(reader, version);
  RC_ASSERT(reader.ok() || reader.remaining() == 0u);
}

}  // namespace
}  // namespace strand::protocol
