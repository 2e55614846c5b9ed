#include "broker/protocol/produce.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "message_test_support.h"

namespace strand::protocol {
namespace {

using namespace test_support;

bool same_records(const PartitionProduceData& a, const PartitionProduceData& b) {
  return a.index == b.index && a.records_null == b.records_null &&
         std::equal(a.records.begin(), a.records.end(), b.records.begin(), b.records.end());
}

// Field by field, with the records compared by content (they are views into different buffers).
bool same_request(const ProduceRequest& a, const ProduceRequest& b) {
  if (a.transactional_id != b.transactional_id || a.acks != b.acks ||
      a.timeout_ms != b.timeout_ms || a.topic_data.size() != b.topic_data.size()) {
    return false;
  }
  for (std::size_t t = 0; t < a.topic_data.size(); ++t) {
    const TopicProduceData& x = a.topic_data[t];
    const TopicProduceData& y = b.topic_data[t];
    if (x.name != y.name || x.partition_data.size() != y.partition_data.size()) return false;
    for (std::size_t p = 0; p < x.partition_data.size(); ++p) {
      if (!same_records(x.partition_data[p], y.partition_data[p])) return false;
    }
  }
  return true;
}

// The request's records are views, so the generator keeps their bytes alive in `storage`.
ProduceRequest gen_request(std::deque<std::vector<std::byte>>& storage, std::int16_t version) {
  ProduceRequest request;
  if (version >= 3) request.transactional_id = gen_nullable_name();
  request.acks = *rc::gen::element<std::int16_t>(-1, 0, 1);
  request.timeout_ms = *rc::gen::arbitrary<std::int32_t>();
  request.topic_data = small_vector([&storage] {
    TopicProduceData topic;
    topic.name = gen_name();
    topic.partition_data = small_vector([&storage] {
      PartitionProduceData partition;
      partition.index = *rc::gen::arbitrary<std::int32_t>();
      partition.records_null = *rc::gen::inRange(0, 5) == 0;
      if (!partition.records_null) {
        storage.push_back(to_bytes(*rc::gen::arbitrary<std::vector<std::uint8_t>>()));
        partition.records = storage.back();
      }
      return partition;
    });
    return topic;
  });
  return request;
}

// Only the fields `version` carries are set; the rest keep their defaults.
ProduceResponse gen_response(std::int16_t version) {
  ProduceResponse response;
  response.responses = small_vector([version] {
    TopicProduceResponse topic;
    topic.name = gen_name();
    topic.partition_responses = small_vector([version] {
      PartitionProduceResponse partition;
      partition.index = *rc::gen::arbitrary<std::int32_t>();
      partition.error_code = *rc::gen::arbitrary<std::int16_t>();
      partition.base_offset = *rc::gen::arbitrary<std::int64_t>();
      if (version >= 2) partition.log_append_time_ms = *rc::gen::arbitrary<std::int64_t>();
      if (version >= 5) partition.log_start_offset = *rc::gen::arbitrary<std::int64_t>();
      if (version >= 8) {
        partition.record_errors = small_vector([] {
          return BatchIndexAndErrorMessage{*rc::gen::arbitrary<std::int32_t>(),
                                           gen_nullable_name()};
        });
        partition.error_message = gen_nullable_name();
      }
      return partition;
    });
    return topic;
  });
  if (version >= 1) response.throttle_time_ms = *rc::gen::arbitrary<std::int32_t>();
  return response;
}

const std::vector<std::byte> kRecords = {std::byte{0xaa}, std::byte{0xbb}, std::byte{0xcc}};

ProduceRequest sample_request() {
  ProduceRequest request;
  request.acks = -1;
  request.timeout_ms = 1500;
  PartitionProduceData partition{2, kRecords, false};
  request.topic_data.push_back({"t", {partition, PartitionProduceData{3, {}, true}}});
  return request;
}

ProduceResponse sample_response() {
  PartitionProduceResponse partition{1, 0, 42, -1, 7, {{0, "bad"}}, "dropped"};
  return ProduceResponse{{{"t", {partition}}}, 9};
}

TEST(Produce, V3RequestMatchesTheWireLayout) {
  std::vector<std::byte> expected;
  put(expected, -1, 2);           // transactional_id: null
  put(expected, -1, 2);           // acks
  put(expected, 1500, 4);         // timeout_ms
  put(expected, 1, 4);            // topic_data: count
  put_string(expected, "t");      //   name
  put(expected, 2, 4);            //   partition_data: count
  put(expected, 2, 4);            //     index
  put_bytes(expected, kRecords);  //     records
  put(expected, 3, 4);            //     index
  put(expected, -1, 4);           //     records: null
  Writer writer;
  write_produce_request(writer, sample_request(), 3);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(Produce, V8ResponseMatchesTheWireLayout) {
  std::vector<std::byte> expected;
  put(expected, 1, 4);              // responses: count
  put_string(expected, "t");        //   name
  put(expected, 1, 4);              //   partition_responses: count
  put(expected, 1, 4);              //     index
  put(expected, 0, 2);              //     error_code
  put(expected, 42, 8);             //     base_offset
  put(expected, -1, 8);             //     log_append_time_ms
  put(expected, 7, 8);              //     log_start_offset
  put(expected, 1, 4);              //     record_errors: count
  put(expected, 0, 4);              //       batch_index
  put_string(expected, "bad");      //       batch_index_error_message
  put_string(expected, "dropped");  //     error_message
  put(expected, 9, 4);              // throttle_time_ms
  Writer writer;
  write_produce_response(writer, sample_response(), 8);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(Produce, V3ResponseHasNoLogStartOffsetOrRecordErrors) {
  std::vector<std::byte> expected;
  put(expected, 1, 4);        // responses: count
  put_string(expected, "t");  //   name
  put(expected, 1, 4);        //   partition_responses: count
  put(expected, 1, 4);        //     index
  put(expected, 0, 2);        //     error_code
  put(expected, 42, 8);       //     base_offset
  put(expected, -1, 8);       //     log_append_time_ms
  put(expected, 9, 4);        // throttle_time_ms
  Writer writer;
  write_produce_response(writer, sample_response(), 3);
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(Produce, RecordsAreAViewIntoTheFrame) {
  Writer writer;
  write_produce_request(writer, sample_request(), 3);
  const std::vector<std::byte> frame = writer.take();
  Reader reader(frame);
  const ProduceRequest request = read_produce_request(reader, 3);
  ASSERT_TRUE(reader.ok());
  const std::span<const std::byte> records = request.topic_data[0].partition_data[0].records;
  EXPECT_GE(records.data(), frame.data());
  EXPECT_LE(records.data() + records.size(), frame.data() + frame.size());
  EXPECT_TRUE(std::equal(records.begin(), records.end(), kRecords.begin(), kRecords.end()));
}

TEST(Produce, NullRecordsReadAsEmptyWithTheFlagSet) {
  Writer writer;
  write_produce_request(writer, sample_request(), 5);
  Reader reader(writer.bytes());
  const ProduceRequest request = read_produce_request(reader, 5);
  ASSERT_TRUE(reader.ok());
  const PartitionProduceData& partition = request.topic_data[0].partition_data[1];
  EXPECT_TRUE(partition.records_null);
  EXPECT_TRUE(partition.records.empty());
  EXPECT_FALSE(request.topic_data[0].partition_data[0].records_null);
}

TEST(Produce, NullTopicDataIsAnError) {
  std::vector<std::byte> frame;
  put(frame, -1, 2);   // transactional_id
  put(frame, 1, 2);    // acks
  put(frame, 100, 4);  // timeout_ms
  put(frame, -1, 4);   // topic_data: null, which the schema does not allow
  Reader reader(frame);
  (void)read_produce_request(reader, 3);
  EXPECT_FALSE(reader.ok());
}

TEST(Produce, UnimplementedVersionLatchesAnError) {
  const std::vector<std::byte> frame(64, std::byte{0});
  for (std::int16_t version : {-1, 9}) {
    Reader reader(frame);
    (void)read_produce_request(reader, version);
    EXPECT_FALSE(reader.ok());
    Reader response_reader(frame);
    (void)read_produce_response(response_reader, version);
    EXPECT_FALSE(response_reader.ok());
  }
}

TEST(Produce, TruncatedMessagesLatchAnError) {
  ProduceRequest request = sample_request();
  request.transactional_id = "tx";
  for (std::int16_t version = kProduceVersionMin; version <= kProduceVersionMax; ++version) {
    Writer request_writer;
    write_produce_request(request_writer, request, version);
    Writer response_writer;
    write_produce_response(response_writer, sample_response(), version);
    for (std::size_t size = 0; size < request_writer.size(); ++size) {
      Reader reader(std::span(request_writer.bytes()).first(size));
      (void)read_produce_request(reader, version);
      EXPECT_FALSE(reader.ok()) << "v" << version << " request cut to " << size;
    }
    for (std::size_t size = 0; size < response_writer.size(); ++size) {
      Reader reader(std::span(response_writer.bytes()).first(size));
      (void)read_produce_response(reader, version);
      EXPECT_FALSE(reader.ok()) << "v" << version << " response cut to " << size;
    }
  }
}

// At every version, reading what was written gives back the same message and consumes all of it.
RC_GTEST_PROP(Produce, RequestsRoundTripAtEveryVersion, ()) {
  for (std::int16_t version = kProduceVersionMin; version <= kProduceVersionMax; ++version) {
    std::deque<std::vector<std::byte>> storage;
    const ProduceRequest request = gen_request(storage, version);
    Writer writer;
    write_produce_request(writer, request, version);
    Reader reader(writer.bytes());
    const ProduceRequest read = read_produce_request(reader, version);
    RC_ASSERT(reader.ok());
    RC_ASSERT(reader.remaining() == 0u);
    RC_ASSERT(same_request(read, request));
  }
}

// At every version, reading what was written gives back the same message and consumes all of it.
RC_GTEST_PROP(Produce, ResponsesRoundTripAtEveryVersion, ()) {
  for (std::int16_t version = kProduceVersionMin; version <= kProduceVersionMax; ++version) {
    const ProduceResponse response = gen_response(version);
    Writer writer;
    write_produce_response(writer, response, version);
    Reader reader(writer.bytes());
    const ProduceResponse read = read_produce_response(reader, version);
    RC_ASSERT(reader.ok());
    RC_ASSERT(reader.remaining() == 0u);
    RC_ASSERT(read == response);
  }
}

// Any bytes, read at any version, end in a message or a latched error: never a crash.
RC_GTEST_PROP(Produce, ArbitraryBytesNeverCrashTheReaders, (const std::vector<std::uint8_t>& raw)) {
  const std::vector<std::byte> frame = to_bytes(raw);
  for (std::int16_t version = kProduceVersionMin - 1; version <= kProduceVersionMax + 1;
       ++version) {
    Reader request_reader(frame);
    const ProduceRequest request = read_produce_request(request_reader, version);
    RC_ASSERT(request_reader.ok() || request_reader.remaining() == 0u);
    for (const TopicProduceData& topic : request.topic_data) {
      for (const PartitionProduceData& partition : topic.partition_data) {
        // A view never reaches outside the frame.
        RC_ASSERT(
            partition.records.empty() ||
            (partition.records.data() >= frame.data() &&
             partition.records.data() + partition.records.size() <= frame.data() + frame.size()));
      }
    }
    Reader response_reader(frame);
    (void)read_produce_response(response_reader, version);
    RC_ASSERT(response_reader.ok() || response_reader.remaining() == 0u);
  }
}

// A valid request with a few bytes overwritten (lying counts and lengths) never crashes a reader.
RC_GTEST_PROP(Produce, CorruptedRequestsNeverCrashTheReader, ()) {
  const auto version = *rc::gen::inRange<std::int16_t>(kProduceVersionMin, kProduceVersionMax + 1);
  std::deque<std::vector<std::byte>> storage;
  Writer writer;
  write_produce_request(writer, gen_request(storage, version), version);
  std::vector<std::byte> frame = writer.take();
  for (int i = *rc::gen::inRange(1, 4); i > 0; --i) {
    frame[*rc::gen::inRange<std::size_t>(0, frame.size())] =
        static_cast<std::byte>(*rc::gen::arbitrary<std::uint8_t>());
  }
  Reader reader(frame);
  (void)read_produce_request(reader, version);
  RC_ASSERT(reader.ok() || reader.remaining() == 0u);
}

}  // namespace
}  // namespace strand::protocol
