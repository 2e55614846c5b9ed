#include "broker/protocol/list_offsets.h"

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
ListOffsetsRequest gen_request(std::int16_t version) {
  ListOffsetsRequest request;
  request.replica_id = *rc::gen::arbitrary<std::int32_t>();
  if (version >= 2) request.isolation_level = *rc::gen::arbitrary<std::int8_t>();
  request.topics = small_vector([version] {
    ListOffsetsTopic topic;
    topic.name = gen_name();
    topic.partitions = small_vector([version] {
      ListOffsetsPartition partition;
      partition.partition_index = *rc::gen::arbitrary<std::int32_t>();
      if (version >= 4) partition.current_leader_epoch = *rc::gen::arbitrary<std::int32_t>();
      partition.timestamp = *rc::gen::arbitrary<std::int64_t>();
      return partition;
    });
    return topic;
  });
  return request;
}

ListOffsetsResponse gen_response(std::int16_t version) {
  ListOffsetsResponse response;
  if (version >= 2) response.throttle_time_ms = *rc::gen::arbitrary<std::int32_t>();
  response.topics = small_vector([version] {
    ListOffsetsTopicResponse topic;
    topic.name = gen_name();
    topic.partitions = small_vector([version] {
      ListOffsetsPartitionResponse partition;
      partition.partition_index = *rc::gen::arbitrary<std::int32_t>();
      partition.error_code = *rc::gen::arbitrary<std::int16_t>();
      partition.timestamp = *rc::gen::arbitrary<std::int64_t>();
      partition.offset = *rc::gen::arbitrary<std::int64_t>();
      if (version >= 4) partition.leader_epoch = *rc::gen::arbitrary<std::int32_t>();
      return partition;
    });
    return topic;
  });
  return response;
}

ListOffsetsRequest sample_request() {
  ListOffsetsRequest request;
  request.replica_id = -1;
  request.isolation_level = 1;
  request.topics.push_back({"t", {{0, 3, kEarliestTimestamp}, {1, 3, kLatestTimestamp}}});
  return request;
}

ListOffsetsResponse sample_response() {
  return ListOffsetsResponse{6, {{"t", {{0, 0, 1'700'000'000'000, 12, 3}}}}};
}

TEST(ListOffsets, SpecialTimestampsAreKafkas) {
  EXPECT_EQ(kLatestTimestamp, -1);
  EXPECT_EQ(kEarliestTimestamp, -2);
}

TEST(ListOffsets, V4RequestMatchesTheWireLayout) {
  std::vector<std::byte> expected;
  put(expected, -1, 4);       // replica_id
  put(expected, 1, 1);        // isolation_level
  put(expected, 1, 4);        // topics: count
  put_string(expected, "t");  //   name
  put(expected, 2, 4);        //   partitions: count
  put(expected, 0, 4);        //     partition_index
  put(expected, 3, 4);        //     current_leader_epoch
  put(expected, -2, 8);       //     timestamp: earliest
  put(expected, 1, 4);        //     partition_index
  put(expected, 3, 4);        //     current_leader_epoch
  put(expected, -1, 8);       //     timestamp: latest
  Writer writer;
  write_list_offsets_request(writer, sample_request(), 4);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(ListOffsets, V1RequestHasNoIsolationLevelOrEpoch) {
  std::vector<std::byte> expected;
  put(expected, -1, 4);       // replica_id
  put(expected, 1, 4);        // topics: count
  put_string(expected, "t");  //   name
  put(expected, 2, 4);        //   partitions: count
  put(expected, 0, 4);        //     partition_index
  put(expected, -2, 8);       //     timestamp
  put(expected, 1, 4);        //     partition_index
  put(expected, -1, 8);       //     timestamp
  Writer writer;
  write_list_offsets_request(writer, sample_request(), 1);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(ListOffsets, V5ResponseMatchesTheWireLayout) {
  std::vector<std::byte> expected;
  put(expected, 6, 4);                  // throttle_time_ms
  put(expected, 1, 4);                  // topics: count
  put_string(expected, "t");            //   name
  put(expected, 1, 4);                  //   partitions: count
  put(expected, 0, 4);                  //     partition_index
  put(expected, 0, 2);                  //     error_code
  put(expected, 1'700'000'000'000, 8);  //     timestamp
  put(expected, 12, 8);                 //     offset
  put(expected, 3, 4);                  //     leader_epoch
  Writer writer;
  write_list_offsets_response(writer, sample_response(), 5);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(ListOffsets, V1ResponseHasNoThrottleOrLeaderEpoch) {
  std::vector<std::byte> expected;
  put(expected, 1, 4);                  // topics: count
  put_string(expected, "t");            //   name
  put(expected, 1, 4);                  //   partitions: count
  put(expected, 0, 4);                  //     partition_index
  put(expected, 0, 2);                  //     error_code
  put(expected, 1'700'000'000'000, 8);  //     timestamp
  put(expected, 12, 8);                 //     offset
  Writer writer;
  write_list_offsets_response(writer, sample_response(), 1);
  EXPECT_EQ(writer.bytes(), expected);
  Reader reader(writer.bytes());
  const ListOffsetsResponse read = read_list_offsets_response(reader, 1);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(read.topics[0].partitions[0].leader_epoch, -1);
}

TEST(ListOffsets, UnimplementedVersionLatchesAnError) {
  const std::vector<std::byte> frame(64, std::byte{0});
  for (std::int16_t version : {0, 6, 8}) {
    Reader reader(frame);
    (void)read_list_offsets_request(reader, version);
    EXPECT_FALSE(reader.ok());
    Reader response_reader(frame);
    (void)read_list_offsets_response(response_reader, version);
    EXPECT_FALSE(response_reader.ok());
  }
}

TEST(ListOffsets, TruncatedMessagesLatchAnError) {
  for (std::int16_t version = kListOffsetsVersionMin; version <= kListOffsetsVersionMax;
       ++version) {
    Writer request_writer;
    write_list_offsets_request(request_writer, sample_request(), version);
    Writer response_writer;
    write_list_offsets_response(response_writer, sample_response(), version);
    for (std::size_t size = 0; size < request_writer.size(); ++size) {
      Reader reader(std::span(request_writer.bytes()).first(size));
      (void)read_list_offsets_request(reader, version);
      EXPECT_FALSE(reader.ok()) << "v" << version << " request cut to " << size;
    }
    for (std::size_t size = 0; size < response_writer.size(); ++size) {
      Reader reader(std::span(response_writer.bytes()).first(size));
      (void)read_list_offsets_response(reader, version);
      EXPECT_FALSE(reader.ok()) << "v" << version << " response cut to " << size;
    }
  }
}

// At every version, reading what was written gives back the same message and consumes all of it.
RC_GTEST_PROP(ListOffsets, RequestsRoundTripAtEveryVersion, ()) {
  for (std::int16_t version = kListOffsetsVersionMin; version <= kListOffsetsVersionMax;
       ++version) {
    const ListOffsetsRequest request = gen_request(version);
    Writer writer;
    write_list_offsets_request(writer, request, version);
    Reader reader(writer.bytes());
    const ListOffsetsRequest read = read_list_offsets_request(reader, version);
    RC_ASSERT(reader.ok());
    RC_ASSERT(reader.remaining() == 0u);
    RC_ASSERT(read == request);
  }
}

// At every version, reading what was written gives back the same message and consumes all of it.
RC_GTEST_PROP(ListOffsets, ResponsesRoundTripAtEveryVersion, ()) {
  for (std::int16_t version = kListOffsetsVersionMin; version <= kListOffsetsVersionMax;
       ++version) {
    const ListOffsetsResponse response = gen_response(version);
    Writer writer;
    write_list_offsets_response(writer, response, version);
    Reader reader(writer.bytes());
    const ListOffsetsResponse read = read_list_offsets_response(reader, version);
    RC_ASSERT(reader.ok());
    RC_ASSERT(reader.remaining() == 0u);
    RC_ASSERT(read == response);
  }
}

// Any bytes, read at any version, end in a message or a latched error: never a crash.
RC_GTEST_PROP(ListOffsets, ArbitraryBytesNeverCrashTheReaders,
              (const std::vector<std::uint8_t>& raw)) {
  const std::vector<std::byte> frame = to_bytes(raw);
  for (std::int16_t version = kListOffsetsVersionMin - 1; version <= kListOffsetsVersionMax + 1;
       ++version) {
    Reader request_reader(frame);
    (void)read_list_offsets_request(request_reader, version);
    RC_ASSERT(request_reader.ok() || request_reader.remaining() == 0u);
    Reader response_reader(frame);
    (void)read_list_offsets_response(response_reader, version);
    RC_ASSERT(response_reader.ok() || response_reader.remaining() == 0u);
  }
}

// A valid request with a few bytes overwritten (lying counts and lengths) never crashes a reader.
RC_GTEST_PROP(ListOffsets, CorruptedRequestsNeverCrashTheReader, ()) {
  const auto version =
      *rc::gen::inRange<std::int16_t>(kListOffsetsVersionMin, kListOffsetsVersionMax + 1);
  Writer writer;
  write_list_offsets_request(writer, gen_request(version), version);
  std::vector<std::byte> frame = writer.take();
  for (int i = *rc::gen::inRange(1, 4); i > 0; --i) {
    frame[*rc::gen::inRange<std::size_t>(0, frame.size())] =
        static_cast<std::byte>(*rc::gen::arbitrary<std::uint8_t>());
  }
  Reader reader(frame);
  (void)read_list_offsets_request(reader, version);
  RC_ASSERT(reader.ok() || reader.remaining() == 0u);
}

}  // namespace
}  // namespace strand::protocol
