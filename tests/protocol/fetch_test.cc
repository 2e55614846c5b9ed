#include "broker/protocol/fetch.h"

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
FetchRequest gen_request(std::int16_t version) {
  FetchRequest request;
  request.replica_id = gen_i32();
  request.max_wait_ms = gen_i32();
  request.min_bytes = gen_i32();
  request.max_bytes = gen_i32();
  request.isolation_level = *rc::gen::arbitrary<std::int8_t>();
  if (version >= 7) {
    request.session_id = gen_i32();
    request.session_epoch = gen_i32();
  }
  request.topics = small_vector([version] {
    FetchTopic topic;
    topic.topic = gen_name();
    topic.partitions = small_vector([version] {
      FetchPartition partition;
      partition.partition = gen_i32();
      if (version >= 9) partition.current_leader_epoch = gen_i32();
      partition.fetch_offset = gen_i64();
      if (version >= 5) partition.log_start_offset = gen_i64();
      partition.partition_max_bytes = gen_i32();
      return partition;
    });
    return topic;
  });
  if (version >= 7) {
    request.forgotten_topics_data = small_vector([] {
      return ForgottenTopic{gen_name(), small_vector(gen_i32)};
    });
  }
  if (version >= 11) request.rack_id = gen_name();
  return request;
}

FetchPartitionData gen_partition_data(std::int16_t version) {
  FetchPartitionData partition;
  partition.partition_index = gen_i32();
  partition.error_code = *rc::gen::arbitrary<std::int16_t>();
  partition.high_watermark = gen_i64();
  partition.last_stable_offset = gen_i64();
  if (version >= 5) partition.log_start_offset = gen_i64();
  if (*rc::gen::inRange(0, 3) > 0) {
    partition.aborted_transactions = small_vector([] {
      return AbortedTransaction{gen_i64(), gen_i64()};
    });
  }
  if (version >= 11) partition.preferred_read_replica = gen_i32();
  partition.records = to_bytes(*rc::gen::arbitrary<std::vector<std::uint8_t>>());
  return partition;
}

FetchResponse gen_response(std::int16_t version) {
  FetchResponse response;
  response.throttle_time_ms = gen_i32();
  if (version >= 7) {
    response.error_code = *rc::gen::arbitrary<std::int16_t>();
    response.session_id = gen_i32();
  }
  response.responses = small_vector([version] {
    FetchableTopicResponse topic;
    topic.topic = gen_name();
    topic.partitions = small_vector([version] { return gen_partition_data(version); });
    return topic;
  });
  return response;
}

FetchRequest sample_request() {
  FetchRequest request;
  request.replica_id = -1;
  request.max_wait_ms = 500;
  request.min_bytes = 1;
  request.max_bytes = 1 << 20;
  request.isolation_level = kReadCommitted;
  request.session_id = 11;
  request.session_epoch = 2;
  request.topics.push_back({"t", {FetchPartition{0, 4, 100, 10, 4096}}});
  request.forgotten_topics_data.push_back({"old", {1, 2}});
  request.rack_id = "rack";
  return request;
}

const std::vector<std::byte> kRecords = {std::byte{0xaa}, std::byte{0xbb}};

FetchResponse sample_response() {
  FetchPartitionData partition;
  partition.partition_index = 3;
  partition.error_code = 0;
  partition.high_watermark = 50;
  partition.last_stable_offset = 48;
  partition.log_start_offset = 5;
  partition.aborted_transactions = std::vector<AbortedTransaction>{{7, 40}};
  partition.preferred_read_replica = 2;
  partition.records = kRecords;
  return FetchResponse{9, 0, 77, {{"t", {partition}}}};
}

TEST(Fetch, V4ResponseMatchesTheWireLayout) {
  std::vector<std::byte> expected;
  put(expected, 9, 4);            // throttle_time_ms
  put(expected, 1, 4);            // responses: count
  put_string(expected, "t");      //   topic
  put(expected, 1, 4);            //   partitions: count
  put(expected, 3, 4);            //     partition_index
  put(expected, 0, 2);            //     error_code
  put(expected, 50, 8);           //     high_watermark
  put(expected, 48, 8);           //     last_stable_offset
  put(expected, 1, 4);            //     aborted_transactions: count
  put(expected, 7, 8);            //       producer_id
  put(expected, 40, 8);           //       first_offset
  put_bytes(expected, kRecords);  //     records
  Writer writer;
  write_fetch_response(writer, sample_response(), 4);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(Fetch, V11ResponseMatchesTheWireLayout) {
  std::vector<std::byte> expected;
  put(expected, 9, 4);            // throttle_time_ms
  put(expected, 0, 2);            // error_code
  put(expected, 77, 4);           // session_id
  put(expected, 1, 4);            // responses: count
  put_string(expected, "t");      //   topic
  put(expected, 1, 4);            //   partitions: count
  put(expected, 3, 4);            //     partition_index
  put(expected, 0, 2);            //     error_code
  put(expected, 50, 8);           //     high_watermark
  put(expected, 48, 8);           //     last_stable_offset
  put(expected, 5, 8);            //     log_start_offset
  put(expected, 1, 4);            //     aborted_transactions: count
  put(expected, 7, 8);            //       producer_id
  put(expected, 40, 8);           //       first_offset
  put(expected, 2, 4);            //     preferred_read_replica
  put_bytes(expected, kRecords);  //     records
  Writer writer;
  write_fetch_response(writer, sample_response(), 11);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(Fetch, V11RequestMatchesTheWireLayout) {
  std::vector<std::byte> expected;
  put(expected, -1, 4);          // replica_id
  put(expected, 500, 4);         // max_wait_ms
  put(expected, 1, 4);           // min_bytes
  put(expected, 1 << 20, 4);     // max_bytes
  put(expected, 1, 1);           // isolation_level
  put(expected, 11, 4);          // session_id
  put(expected, 2, 4);           // session_epoch
  put(expected, 1, 4);           // topics: count
  put_string(expected, "t");     //   topic
  put(expected, 1, 4);           //   partitions: count
  put(expected, 0, 4);           //     partition
  put(expected, 4, 4);           //     current_leader_epoch
  put(expected, 100, 8);         //     fetch_offset
  put(expected, 10, 8);          //     log_start_offset
  put(expected, 4096, 4);        //     partition_max_bytes
  put(expected, 1, 4);           // forgotten_topics_data: count
  put_string(expected, "old");   //   topic
  put(expected, 2, 4);           //   partitions: count
  put(expected, 1, 4);           //     1
  put(expected, 2, 4);           //     2
  put_string(expected, "rack");  // rack_id
  Writer writer;
  write_fetch_request(writer, sample_request(), 11);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(Fetch, V4RequestStopsAtIsolationLevel) {
  std::vector<std::byte> expected;
  put(expected, -1, 4);       // replica_id
  put(expected, 500, 4);      // max_wait_ms
  put(expected, 1, 4);        // min_bytes
  put(expected, 1 << 20, 4);  // max_bytes
  put(expected, 1, 1);        // isolation_level
  put(expected, 1, 4);        // topics: count
  put_string(expected, "t");  //   topic
  put(expected, 1, 4);        //   partitions: count
  put(expected, 0, 4);        //     partition
  put(expected, 100, 8);      //     fetch_offset
  put(expected, 4096, 4);     //     partition_max_bytes
  Writer writer;
  write_fetch_request(writer, sample_request(), 4);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(Fetch, NullRecordsInAResponseReadAsEmpty) {
  std::vector<std::byte> frame;
  put(frame, 0, 4);        // throttle_time_ms
  put(frame, 1, 4);        // responses: count
  put_string(frame, "t");  //   topic
  put(frame, 1, 4);        //   partitions: count
  put(frame, 0, 4);        //     partition_index
  put(frame, 0, 2);        //     error_code
  put(frame, 0, 8);        //     high_watermark
  put(frame, 0, 8);        //     last_stable_offset
  put(frame, -1, 4);       //     aborted_transactions: null
  put(frame, -1, 4);       //     records: null
  Reader reader(frame);
  const FetchResponse response = read_fetch_response(reader, 4);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader.remaining(), 0u);
  const FetchPartitionData& partition = response.responses[0].partitions[0];
  EXPECT_TRUE(partition.records.empty());
  EXPECT_FALSE(partition.aborted_transactions.has_value());
}

TEST(Fetch, NullAbortedTransactionsStayNullAndEmptyStaysEmpty) {
  FetchResponse response = sample_response();
  response.responses[0].partitions.push_back(response.responses[0].partitions[0]);
  response.responses[0].partitions[0].aborted_transactions.reset();
  response.responses[0].partitions[1].aborted_transactions.emplace();
  Writer writer;
  write_fetch_response(writer, response, 11);
  Reader reader(writer.bytes());
  const FetchResponse read = read_fetch_response(reader, 11);
  ASSERT_TRUE(reader.ok());
  EXPECT_FALSE(read.responses[0].partitions[0].aborted_transactions.has_value());
  ASSERT_TRUE(read.responses[0].partitions[1].aborted_transactions.has_value());
  EXPECT_TRUE(read.responses[0].partitions[1].aborted_transactions->empty());
}

TEST(Fetch, UnimplementedVersionLatchesAnError) {
  const std::vector<std::byte> frame(64, std::byte{0});
  for (std::int16_t version : {0, 3, 12}) {
    Reader reader(frame);
    (void)read_fetch_request(reader, version);
    EXPECT_FALSE(reader.ok());
    Reader response_reader(frame);
    (void)read_fetch_response(response_reader, version);
    EXPECT_FALSE(response_reader.ok());
  }
}

TEST(Fetch, TruncatedMessagesLatchAnError) {
  for (std::int16_t version = kFetchVersionMin; version <= kFetchVersionMax; ++version) {
    Writer request_writer;
    write_fetch_request(request_writer, sample_request(), version);
    Writer response_writer;
    write_fetch_response(response_writer, sample_response(), version);
    for (std::size_t size = 0; size < request_writer.size(); ++size) {
      Reader reader(std::span(request_writer.bytes()).first(size));
      (void)read_fetch_request(reader, version);
      EXPECT_FALSE(reader.ok()) << "v" << version << " request cut to " << size;
    }
    for (std::size_t size = 0; size < response_writer.size(); ++size) {
      Reader reader(std::span(response_writer.bytes()).first(size));
      (void)read_fetch_response(reader, version);
      EXPECT_FALSE(reader.ok()) << "v" << version << " response cut to " << size;
    }
  }
}

// At every version, reading what was written gives back the same message and consumes all of it.
RC_GTEST_PROP(Fetch, RequestsRoundTripAtEveryVersion, ()) {
  for (std::int16_t version = kFetchVersionMin; version <= kFetchVersionMax; ++version) {
    const FetchRequest request = gen_request(version);
    Writer writer;
    write_fetch_request(writer, request, version);
    Reader reader(writer.bytes());
    const FetchRequest read = read_fetch_request(reader, version);
    RC_ASSERT(reader.ok());
    RC_ASSERT(reader.remaining() == 0u);
    RC_ASSERT(read == request);
  }
}

// At every version, reading what was written gives back the same message and consumes all of it.
RC_GTEST_PROP(Fetch, ResponsesRoundTripAtEveryVersion, ()) {
  for (std::int16_t version = kFetchVersionMin; version <= kFetchVersionMax; ++version) {
    const FetchResponse response = gen_response(version);
    Writer writer;
    write_fetch_response(writer, response, version);
    Reader reader(writer.bytes());
    const FetchResponse read = read_fetch_response(reader, version);
    RC_ASSERT(reader.ok());
    RC_ASSERT(reader.remaining() == 0u);
    RC_ASSERT(read == response);
  }
}

// Any bytes, read at any version, end in a message or a latched error: never a crash.
RC_GTEST_PROP(Fetch, ArbitraryBytesNeverCrashTheReaders, (const std::vector<std::uint8_t>& raw)) {
  const std::vector<std::byte> frame = to_bytes(raw);
  for (std::int16_t version = kFetchVersionMin - 1; version <= kFetchVersionMax + 1; ++version) {
    Reader request_reader(frame);
    (void)read_fetch_request(request_reader, version);
    RC_ASSERT(request_reader.ok() || request_reader.remaining() == 0u);
    Reader response_reader(frame);
    (void)read_fetch_response(response_reader, version);
    RC_ASSERT(response_reader.ok() || response_reader.remaining() == 0u);
  }
}

// A valid response with a few bytes overwritten (lying counts and lengths) never crashes a reader.
RC_GTEST_PROP(Fetch, CorruptedResponsesNeverCrashTheReader, ()) {
  const auto version = *rc::gen::inRange<std::int16_t>(kFetchVersionMin, kFetchVersionMax + 1);
  Writer writer;
  write_fetch_response(writer, gen_response(version), version);
  std::vector<std::byte> frame = writer.take();
  for (int i = *rc::gen::inRange(1, 4); i > 0; --i) {
    frame[*rc::gen::inRange<std::size_t>(0, frame.size())] =
        static_cast<std::byte>(*rc::gen::arbitrary<std::uint8_t>());
  }
  Reader reader(frame);
  (void)read_fetch_response(reader, version);
  RC_ASSERT(reader.ok() || reader.remaining() == 0u);
}

}  // namespace
}  // namespace strand::protocol
