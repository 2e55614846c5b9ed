// Codecs of AlterPartitionReassignments (key 45) and ListPartitionReassignments (key 46), both
// v0 and flexible. Byte layouts are assembled by hand from Kafka's JSON message schemas.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/protocol/alter_partition_reassignments.h"
#include "broker/protocol/list_partition_reassignments.h"
#include "message_test_support.h"

namespace strand::protocol {
namespace {

using namespace test_support;

TEST(AlterPartitionReassignments, V0RequestTellsAMoveFromACancellation) {
  AlterPartitionReassignmentsRequest request;
  request.timeout_ms = 30000;
  request.topics.push_back({"t",
                            {{0, std::vector<std::int32_t>{1, 2}},
                             {1, std::nullopt},
                             {2, std::vector<std::int32_t>{}}}});
  expect_wire(request, 0, write_alter_partition_reassignments_request,
              read_alter_partition_reassignments_request,
              bytes({
                  0, 0,   0x75, 0x30,  // timeout_ms 30000
                  2,                   // topics: compact count 1+1
                  2, 't',              //   name "t"
                  4,                   //   partitions: 3
                  0, 0,   0,    0,     //     partition_index 0
                  3,                   //     replicas: 2
                  0, 0,   0,    1,     //       1
                  0, 0,   0,    2,     //       2
                  0,                   //     tagged fields: none
                  0, 0,   0,    1,     //     partition_index 1
                  0,                   //     replicas null: cancel the reassignment
                  0,                   //     tagged fields: none
                  0, 0,   0,    2,     //     partition_index 2
                  1,                   //     replicas: empty, which is not null
                  0,                   //     tagged fields: none
                  0,                   //   tagged fields: none
                  0,                   // tagged fields: none
              }));
}

TEST(AlterPartitionReassignments, V0ResponseCarriesAnErrorPerPartition) {
  AlterPartitionReassignmentsResponse response;
  response.responses.push_back(
      {"t", {{0, 0, std::nullopt}, {1, 85, std::string("no")}}});  // NO_REASSIGNMENT_IN_PROGRESS
  expect_wire(response, 0, write_alter_partition_reassignments_response,
              read_alter_partition_reassignments_response,
              bytes({
                  0, 0,   0,   0,  // throttle_time_ms
                  0, 0,            // error_code NONE
                  0,               // error_message null
                  2,               // responses: 1
                  2, 't',          //   name "t"
                  3,               //   partitions: 2
                  0, 0,   0,   0,  //     partition_index 0
                  0, 0,            //     error_code NONE
                  0,               //     error_message null
                  0,               //     tagged fields: none
                  0, 0,   0,   1,  //     partition_index 1
                  0, 85,           //     error_code NO_REASSIGNMENT_IN_PROGRESS
                  3, 'n', 'o',     //     error_message "no"
                  0,               //     tagged fields: none
                  0,               //   tagged fields: none
                  0,               // tagged fields: none
              }));
}

TEST(ListPartitionReassignments, V0RequestWithNullTopicsAsksForEverything) {
  ListPartitionReassignmentsRequest request;
  request.timeout_ms = 30000;
  expect_wire(request, 0, write_list_partition_reassignments_request,
              read_list_partition_reassignments_request,
              bytes({
                  0, 0, 0x75, 0x30,  // timeout_ms 30000
                  0,                 // topics null: all of them
                  0,                 // tagged fields: none
              }));
}

TEST(ListPartitionReassignments, V0RequestNamesTopicsAndPartitions) {
  ListPartitionReassignmentsRequest request;
  request.timeout_ms = 1;
  request.topics = std::vector<ListPartitionReassignmentsTopic>{{"t", {0, 3}}};
  expect_wire(request, 0, write_list_partition_reassignments_request,
              read_list_partition_reassignments_request,
              bytes({
                  0, 0, 0, 1,  // timeout_ms 1
                  2,           // topics: 1
                  2, 't',      //   name "t"
                  3,           //   partition_indexes: 2
                  0, 0, 0, 0,  //     0
                  0, 0, 0, 3,  //     3
                  0,           //   tagged fields: none
                  0,           // tagged fields: none
              }));
}

TEST(ListPartitionReassignments, V0ResponseListsReplicasBeingAddedAndRemoved) {
  // Moving partition 0 from [1, 2] to [2, 3]: while it runs the replica set is both.
  ListPartitionReassignmentsResponse response;
  response.topics.push_back({"t", {{0, {2, 3, 1}, {3}, {1}}}});
  expect_wire(response, 0, write_list_partition_reassignments_response,
              read_list_partition_reassignments_response,
              bytes({
                  0, 0,   0, 0,  // throttle_time_ms
                  0, 0,          // error_code NONE
                  0,             // error_message null
                  2,             // topics: 1
                  2, 't',        //   name "t"
                  2,             //   partitions: 1
                  0, 0,   0, 0,  //     partition_index 0
                  4,             //     replicas: 3
                  0, 0,   0, 2,  //       2
                  0, 0,   0, 3,  //       3
                  0, 0,   0, 1,  //       1
                  2,             //     adding_replicas: 1
                  0, 0,   0, 3,  //       3
                  2,             //     removing_replicas: 1
                  0, 0,   0, 1,  //       1
                  0,             //     tagged fields: none
                  0,             //   tagged fields: none
                  0,             // tagged fields: none
              }));
}

TEST(PartitionReassignments, TruncatedRequestLatchesAnError) {
  const std::vector<std::byte> wire = bytes({
      0, 0, 0, 1,  // timeout_ms
      2,           // topics: 1
      2, 't',      //   name "t"
      2,           //   partitions: 1
      0, 0, 0, 0,  //     partition_index 0
      3,           //     replicas: 2
      0, 0, 0, 1,  //       1, then the frame ends
  });
  Reader reader(wire);
  (void)read_alter_partition_reassignments_request(reader, 0);
  EXPECT_FALSE(reader.ok());
  Reader list_reader(std::span<const std::byte>(wire).first(5));  // timeout_ms, topics: 1
  (void)read_list_partition_reassignments_request(list_reader, 0);
  EXPECT_FALSE(list_reader.ok());
}

TEST(PartitionReassignments, LyingArrayLengthIsRefusedBeforeAllocating) {
  const std::vector<std::byte> wire = bytes({
      0, 0, 0, 1,                   // timeout_ms
      0xff, 0xff, 0xff, 0xff, 0x0f  // topics: compact count 2^32 - 2, and nothing left
  });
  Reader reader(wire);
  const AlterPartitionReassignmentsRequest request =
      read_alter_partition_reassignments_request(reader, 0);
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.error_message().find("can't fit"), std::string::npos);
  EXPECT_TRUE(request.topics.empty());
}

TEST(PartitionReassignments, NullForANonNullableArrayIsADecodeError) {
  const std::vector<std::byte> alter = bytes({0, 0, 0, 1, /* topics null */ 0, 0});
  Reader alter_reader(alter);
  (void)read_alter_partition_reassignments_request(alter_reader, 0);
  ASSERT_FALSE(alter_reader.ok());
  EXPECT_NE(alter_reader.error_message().find("topics"), std::string::npos);
  const std::vector<std::byte> list = bytes({
      0, 0, 0,   0, 0, 0, 0,  // throttle_time_ms, error_code, error_message null
      2, 2, 't', 2,           // topics: 1, name "t", partitions: 1
      0, 0, 0,   0,           //   partition_index 0
      0,                      //   replicas null
      1, 1, 0,   0, 0,        //   the rest, so only the null can make this fail
  });
  Reader list_reader(list);
  (void)read_list_partition_reassignments_response(list_reader, 0);
  ASSERT_FALSE(list_reader.ok());
  EXPECT_NE(list_reader.error_message().find("replicas"), std::string::npos);
}

// v1 of AlterPartitionReassignments adds allow_replication_factor_change; neither API has a v1
// here.
TEST(PartitionReassignments, UnimplementedVersionsAreRefused) {
  const std::vector<std::byte> input(16, std::byte{0});
  for (std::int16_t version : {std::int16_t{-1}, std::int16_t{1}}) {
    Reader alter(input);
    (void)read_alter_partition_reassignments_request(alter, version);
    ASSERT_FALSE(alter.ok());
    EXPECT_NE(alter.error_message().find("not implemented"), std::string::npos);
    Reader alter_response(input);
    (void)read_alter_partition_reassignments_response(alter_response, version);
    EXPECT_FALSE(alter_response.ok());
    Reader list(input);
    (void)read_list_partition_reassignments_request(list, version);
    ASSERT_FALSE(list.ok());
    EXPECT_NE(list.error_message().find("not implemented"), std::string::npos);
    Reader list_response(input);
    (void)read_list_partition_reassignments_response(list_response, version);
    EXPECT_FALSE(list_response.ok());
  }
}

// --- Properties -----------------------------------------------------------------------------

std::vector<std::int32_t> gen_i32s() { return small_vector(gen_i32); }

// Writes `value` at v0 and reads it back: equal, nothing left over, and every strict prefix of
// the encoding is refused (a truncated frame never decodes as something shorter). A copy with one
// byte changed decodes to a value or a latched error, never a crash.
template <typename T, typename Write, typename Read>
void check_round_trip(const T& value, Write write, Read read) {
  Writer writer;
  write(writer, value, 0);
  Reader reader(writer.bytes());
  const T back = read(reader, 0);
  RC_ASSERT(reader.ok());
  RC_ASSERT(reader.remaining() == 0u);
  RC_ASSERT(back == value);
  const auto cut = *rc::gen::inRange<std::size_t>(0, writer.size());
  Reader truncated(std::span<const std::byte>(writer.bytes()).first(cut));
  (void)read(truncated, 0);
  RC_ASSERT(!truncated.ok());
  std::vector<std::byte> corrupt = writer.bytes();
  const auto at = *rc::gen::inRange<std::size_t>(0, corrupt.size());
  corrupt[at] = static_cast<std::byte>(*rc::gen::arbitrary<std::uint8_t>());
  Reader corrupt_reader(corrupt);
  (void)read(corrupt_reader, 0);
  RC_ASSERT(corrupt_reader.ok() || !corrupt_reader.error_message().empty());
}

// Version 0 (the only one) survives write-then-read unchanged, null replicas included.
RC_GTEST_PROP(AlterPartitionReassignments, V0RoundTrips, ()) {
  AlterPartitionReassignmentsRequest request;
  request.timeout_ms = gen_i32();
  request.topics = small_vector([] {
    return AlterPartitionReassignmentsTopic{
        gen_name(), small_vector([] {
          AlterPartitionReassignmentsPartition partition{gen_i32(), std::nullopt};
          if (*rc::gen::arbitrary<bool>()) partition.replicas = gen_i32s();
          return partition;
        })};
  });
  check_round_trip(request, write_alter_partition_reassignments_request,
                   read_alter_partition_reassignments_request);
  AlterPartitionReassignmentsResponse response;
  response.throttle_time_ms = gen_i32();
  response.error_code = *rc::gen::arbitrary<std::int16_t>();
  response.error_message = gen_nullable_name();
  response.responses = small_vector([] {
    return AlterPartitionReassignmentsTopicResult{
        gen_name(), small_vector([] {
          return AlterPartitionReassignmentsPartitionResult{
              gen_i32(), *rc::gen::arbitrary<std::int16_t>(), gen_nullable_name()};
        })};
  });
  check_round_trip(response, write_alter_partition_reassignments_response,
                   read_alter_partition_reassignments_response);
}

// Version 0 (the only one) survives write-then-read unchanged, null topics included.
RC_GTEST_PROP(ListPartitionReassignments, V0RoundTrips, ()) {
  ListPartitionReassignmentsRequest request;
  request.timeout_ms = gen_i32();
  if (*rc::gen::arbitrary<bool>()) {
    request.topics = small_vector([] {
      return ListPartitionReassignmentsTopic{gen_name(), gen_i32s()};
    });
  }
  check_round_trip(request, write_list_partition_reassignments_request,
                   read_list_partition_reassignments_request);
  ListPartitionReassignmentsResponse response;
  response.throttle_time_ms = gen_i32();
  response.error_code = *rc::gen::arbitrary<std::int16_t>();
  response.error_message = gen_nullable_name();
  response.topics = small_vector([] {
    return OngoingTopicReassignment{
        gen_name(), small_vector([] {
          return OngoingPartitionReassignment{gen_i32(), gen_i32s(), gen_i32s(), gen_i32s()};
        })};
  });
  check_round_trip(response, write_list_partition_reassignments_response,
                   read_list_partition_reassignments_response);
}

// Any bytes, read as any of the four messages at v0, end in a value or a latched error: never a
// crash, an assertion or a read past the input.
RC_GTEST_PROP(PartitionReassignments, ArbitraryBytesNeverCrashAnyDecoder,
              (const std::vector<std::uint8_t>& raw)) {
  const std::vector<std::byte> input = to_bytes(raw);
  const auto check = [&](auto read) {
    Reader reader(input);
    (void)read(reader, 0);
    RC_ASSERT(reader.remaining() <= input.size());
    RC_ASSERT(reader.ok() || !reader.error_message().empty());
  };
  check(read_alter_partition_reassignments_request);
  check(read_alter_partition_reassignments_response);
  check(read_list_partition_reassignments_request);
  check(read_list_partition_reassignments_response);
}

}  // namespace
}  // namespace strand::protocol
