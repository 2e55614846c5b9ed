// Codecs of the consumer-group APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, OffsetCommit, OffsetFetch, ListGroups, DescribeGroups, DeleteGroups, OffsetDelete.
// Byte layouts are assembled by hand from Kafka's JSON message schemas.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/delete_groups.h"
#include "broker/protocol/describe_groups.h"
#include "broker/protocol/find_coordinator.h"
#include "broker/protocol/heartbeat.h"
#include "broker/protocol/join_group.h"
#include "broker/protocol/leave_group.h"
#include "broker/protocol/list_groups.h"
#include "broker/protocol/offset_commit.h"
#include "broker/protocol/offset_delete.h"
#include "broker/protocol/offset_fetch.h"
#include "broker/protocol/sync_group.h"
#include "message_test_support.h"

namespace strand::protocol {
namespace {

using namespace test_support;

TEST(FindCoordinator, V1RequestAndResponseMatchTheWireLayout) {
  expect_wire(FindCoordinatorRequest{"g1", 0}, 1, write_find_coordinator_request,
              read_find_coordinator_request, bytes({0, 2, 'g', '1', /* key_type */ 0}));
  FindCoordinatorResponse response{0, 0, std::nullopt, 7, "h", 9092};
  expect_wire(response, 1, write_find_coordinator_response, read_find_coordinator_response,
              bytes({
                  0,    0,    0,    0,     // throttle_time_ms
                  0,    0,                 // error_code
                  0xff, 0xff,              // error_message null
                  0,    0,    0,    7,     // node_id
                  0,    1,    'h',         // host
                  0,    0,    0x23, 0x84,  // port 9092
              }));
  expect_wire(FindCoordinatorRequest{"g", 0}, 0, write_find_coordinator_request,
              read_find_coordinator_request, bytes({0, 1, 'g'}));
}

TEST(JoinGroup, V5RequestMatchesTheWireLayout) {
  JoinGroupRequest request;
  request.group_id = "g";
  request.session_timeout_ms = 10000;
  request.rebalance_timeout_ms = 300000;
  request.member_id = "";
  request.group_instance_id = "i";
  request.protocol_type = "consumer";
  request.protocols.push_back({"range", bytes({1, 2})});
  expect_wire(request, 5, write_join_group_request, read_join_group_request,
              bytes({
                  0, 1, 'g',                                       // group_id
                  0, 0, 0x27, 0x10,                                // session_timeout_ms 10000
                  0, 4, 0x93, 0xe0,                                // rebalance_timeout_ms 300000
                  0, 0,                                            // member_id ""
                  0, 1, 'i',                                       // group_instance_id (v5+)
                  0, 8, 'c',  'o',  'n', 's', 'u', 'm', 'e', 'r',  // protocol_type
                  0, 0, 0,    1,                                   // protocols: 1
                  0, 5, 'r',  'a',  'n', 'g', 'e',                 //   name
                  0, 0, 0,    2,    1,   2,                        //   metadata
              }));
}

TEST(JoinGroup, V0RequestHasNoRebalanceTimeoutAndV2ResponseHasThrottle) {
  JoinGroupRequest request{"g", 6000, -1, "m", std::nullopt, "c", {}};
  expect_wire(request, 0, write_join_group_request, read_join_group_request,
              bytes({0, 1, 'g', 0, 0, 0x17, 0x70, 0, 1, 'm', 0, 1, 'c', 0, 0, 0, 0}));
  JoinGroupResponse response;
  response.error_code = 0;
  response.generation_id = 3;
  response.protocol_name = "r";
  response.leader = "a";
  response.member_id = "b";
  response.members.push_back({"a", std::nullopt, bytes({9})});
  expect_wire(response, 2, write_join_group_response, read_join_group_response,
              bytes({
                  0, 0, 0,   0,     // throttle_time_ms (v2+)
                  0, 0,             // error_code
                  0, 0, 0,   3,     // generation_id
                  0, 1, 'r',        // protocol_name
                  0, 1, 'a',        // leader
                  0, 1, 'b',        // member_id
                  0, 0, 0,   1,     // members: 1
                  0, 1, 'a',        //   member_id
                  0, 0, 0,   1, 9,  // metadata
              }));
}

TEST(SyncGroup, V3RequestAndV1ResponseMatchTheWireLayout) {
  SyncGroupRequest request{"g", 2, "m", std::nullopt, {{"m", bytes({7})}}};
  expect_wire(request, 3, write_sync_group_request, read_sync_group_request,
              bytes({
                  0,    1,    'g',        // group_id
                  0,    0,    0,   2,     // generation_id
                  0,    1,    'm',        // member_id
                  0xff, 0xff,             // group_instance_id null (v3+)
                  0,    0,    0,   1,     // assignments: 1
                  0,    1,    'm',        //   member_id
                  0,    0,    0,   1, 7,  //   assignment
              }));
  expect_wire(SyncGroupResponse{0, 27, {}}, 1, write_sync_group_response, read_sync_group_response,
              bytes({0, 0, 0, 0, 0, 27, 0, 0, 0, 0}));
}

TEST(Heartbeat, V3RequestAndV0ResponseMatchTheWireLayout) {
  expect_wire(HeartbeatRequest{"g", 1, "m", std::string("i")}, 3, write_heartbeat_request,
              read_heartbeat_request, bytes({0, 1, 'g', 0, 0, 0, 1, 0, 1, 'm', 0, 1, 'i'}));
  expect_wire(HeartbeatResponse{0, 25}, 0, write_heartbeat_response, read_heartbeat_response,
              bytes({0, 25}));
}

TEST(LeaveGroup, V3CarriesAMemberBatchAndV1OneMember) {
  LeaveGroupRequest request;
  request.group_id = "g";
  request.members.push_back({"a", std::nullopt});
  expect_wire(request, 3, write_leave_group_request, read_leave_group_request,
              bytes({0, 1, 'g', 0, 0, 0, 1, 0, 1, 'a', 0xff, 0xff}));
  LeaveGroupResponse response{0, 0, {{"a", std::nullopt, 25}}};
  expect_wire(response, 3, write_leave_group_response, read_leave_group_response,
              bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 'a', 0xff, 0xff, 0, 25}));
  expect_wire(LeaveGroupRequest{"g", "a", {}}, 1, write_leave_group_request,
              read_leave_group_request, bytes({0, 1, 'g', 0, 1, 'a'}));
}

TEST(OffsetCommit, V7RequestMatchesTheWireLayout) {
  OffsetCommitRequest request;
  request.group_id = "g";
  request.generation_id = 4;
  request.member_id = "m";
  request.topics.push_back({"t", {{0, 42, 1, -1, std::string("x")}}});
  expect_wire(request, 7, write_offset_commit_request, read_offset_commit_request,
              bytes({
                  0,    1,    'g',                  // group_id
                  0,    0,    0,   4,               // generation_id (v1+)
                  0,    1,    'm',                  // member_id (v1+)
                  0xff, 0xff,                       // group_instance_id null (v7+)
                  0,    0,    0,   1,               // topics: 1
                  0,    1,    't',                  //   name
                  0,    0,    0,   1,               //   partitions: 1
                  0,    0,    0,   0,               //     partition_index
                  0,    0,    0,   0, 0, 0, 0, 42,  //     committed_offset
                  0,    0,    0,   1,               //     committed_leader_epoch (v6+)
                  0,    1,    'x',                  //     committed_metadata
              }));
}

TEST(OffsetCommit, V2CarriesRetentionAndV1ATimestamp) {
  OffsetCommitRequest request{"g", -1, "", std::nullopt, 1000, {{"t", {{1, 5, -1, -1, {}}}}}};
  expect_wire(request, 2, write_offset_commit_request, read_offset_commit_request,
              bytes({0, 1,    'g', 0xff, 0xff, 0xff, 0xff, 0,    0,  // group, generation, member
                     0, 0,    0,   0,    0,    0,    0x03, 0xe8,     // retention_time_ms
                     0, 0,    0,   1,    0,    1,    't',  0,    0, 0, 1,  // topic t, 1 partition
                     0, 0,    0,   1,    0,    0,    0,    0,    0, 0, 0,
                     5, 0xff, 0xff}));  // p1 offset 5, null
  OffsetCommitRequest v1{"g", 1, "m", std::nullopt, -1, {{"t", {{0, 5, -1, 77, {}}}}}};
  expect_wire(v1, 1, write_offset_commit_request, read_offset_commit_request,
              bytes({0, 1, 'g', 0, 0, 0, 1, 0, 1, 'm', 0, 0, 0, 1, 0, 1, 't', 0, 0,  0,    1,   0,
                     0, 0, 0,   0, 0, 0, 0, 0, 0, 0,   5, 0, 0, 0, 0, 0, 0,   0, 77, 0xff, 0xff}));
  OffsetCommitResponse response{9, {{"t", {{0, 3}}}}};
  expect_wire(response, 3, write_offset_commit_response, read_offset_commit_response,
              bytes({0, 0, 0, 9, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 0, 0, 3}));
}

TEST(OffsetFetch, V5ResponseAndNullTopicsRequest) {
  OffsetFetchRequest all{"g", std::nullopt};
  expect_wire(all, 2, write_offset_fetch_request, read_offset_fetch_request,
              bytes({0, 1, 'g', 0xff, 0xff, 0xff, 0xff}));
  OffsetFetchRequest some{"g", std::vector<OffsetFetchRequestTopic>{{"t", {0, 2}}}};
  expect_wire(some, 1, write_offset_fetch_request, read_offset_fetch_request,
              bytes({0, 1, 'g', 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2}));
  OffsetFetchResponse response{0, {{"t", {{0, 42, 3, std::string(""), 0}}}}, 0};
  expect_wire(response, 5, write_offset_fetch_response, read_offset_fetch_response,
              bytes({
                  0, 0, 0,   0,               // throttle_time_ms (v3+)
                  0, 0, 0,   1,               // topics: 1
                  0, 1, 't',                  //   name
                  0, 0, 0,   1,               //   partitions: 1
                  0, 0, 0,   0,               //     partition_index
                  0, 0, 0,   0, 0, 0, 0, 42,  //     committed_offset
                  0, 0, 0,   3,               //     committed_leader_epoch (v5+)
                  0, 0,                       //     metadata ""
                  0, 0,                       //     error_code
                  0, 0,                       // error_code (v2+)
              }));
}

TEST(OffsetFetch, NullTopicsBeforeV2IsADecodeError) {
  const std::vector<std::byte> frame = bytes({0, 1, 'g', 0xff, 0xff, 0xff, 0xff});
  Reader reader(frame);
  (void)read_offset_fetch_request(reader, 1);
  EXPECT_FALSE(reader.ok());
}

TEST(ListGroups, V1ResponseMatchesTheWireLayout) {
  ListGroupsResponse response{0, 0, {{"g", "consumer"}}};
  expect_wire(response, 1, write_list_groups_response, read_list_groups_response,
              bytes({0,   0, 0, 0,   0,   0,   0,   0,   0,   1,   0,  1,
                     'g', 0, 8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r'}));
  expect_wire(ListGroupsRequest{}, 2, write_list_groups_request, read_list_groups_request,
              bytes({}));
}

TEST(DescribeGroups, V4RequestAndResponseMatchTheWireLayout) {
  expect_wire(DescribeGroupsRequest{{"g"}, true}, 4, write_describe_groups_request,
              read_describe_groups_request, bytes({0, 0, 0, 1, 0, 1, 'g', 1}));
  DescribedGroup group;
  group.group_id = "g";
  group.group_state = "Stable";
  group.protocol_type = "c";
  group.protocol_data = "r";
  group.members.push_back({"m", std::string("i"), "c", "/h", bytes({1}), bytes({2})});
  group.authorized_operations = kAuthorizedOperationsOmitted;
  expect_wire(DescribeGroupsResponse{0, {group}}, 4, write_describe_groups_response,
              read_describe_groups_response,
              bytes({
                  0,    0, 0,   0,                        // throttle_time_ms
                  0,    0, 0,   1,                        // groups: 1
                  0,    0,                                //   error_code
                  0,    1, 'g',                           //   group_id
                  0,    6, 'S', 't', 'a', 'b', 'l', 'e',  //   group_state
                  0,    1, 'c',                           //   protocol_type
                  0,    1, 'r',                           //   protocol_data
                  0,    0, 0,   1,                        //   members: 1
                  0,    1, 'm',                           //     member_id
                  0,    1, 'i',                           //     group_instance_id (v4+)
                  0,    1, 'c',                           //     client_id
                  0,    2, '/', 'h',                      //     client_host
                  0,    0, 0,   1,   1,                   //     member_metadata
                  0,    0, 0,   1,   2,                   //     member_assignment
                  0x80, 0, 0,   0,                        //   authorized_operations (v3+)
              }));
}

TEST(DeleteGroups, V1RequestAndResponseMatchTheWireLayout) {
  expect_wire(DeleteGroupsRequest{{"a", "b"}}, 1, write_delete_groups_request,
              read_delete_groups_request, bytes({0, 0, 0, 2, 0, 1, 'a', 0, 1, 'b'}));
  expect_wire(DeleteGroupsResponse{0, {{"a", 68}}}, 0, write_delete_groups_response,
              read_delete_groups_response, bytes({0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 'a', 0, 68}));
}

TEST(OffsetDelete, V0RequestAndResponseMatchTheWireLayout) {
  expect_wire(OffsetDeleteRequest{"g", {{"t", {3}}}}, 0, write_offset_delete_request,
              read_offset_delete_request,
              bytes({0, 1, 'g', 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 3}));
  OffsetDeleteResponse response{0, 0, {{"t", {{3, 86}}}}};
  expect_wire(response, 0, write_offset_delete_response, read_offset_delete_response,
              bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 3, 0, 86}));
}

// ---- Properties -------------------------------------------------------------------------------

std::optional<std::string> gen_nullable() {
  if (*rc::gen::arbitrary<bool>()) return std::nullopt;
  return gen_name();
}
std::vector<std::byte> gen_bytes() {
  std::vector<std::byte> out;
  for (std::uint8_t b : *rc::gen::arbitrary<std::vector<std::uint8_t>>()) {
    out.push_back(static_cast<std::byte>(b));
  }
  return out;
}
std::int32_t gen_i32() { return *rc::gen::arbitrary<std::int32_t>(); }
std::int16_t gen_i16() { return *rc::gen::arbitrary<std::int16_t>(); }
std::int64_t gen_i64() { return *rc::gen::arbitrary<std::int64_t>(); }

// Generators set only the fields `v` carries; the rest keep their defaults.
FindCoordinatorRequest gen(std::int16_t v, FindCoordinatorRequest*) {
  return {gen_name(), v >= 1 ? *rc::gen::arbitrary<std::int8_t>() : std::int8_t{0}};
}
FindCoordinatorResponse gen(std::int16_t v, FindCoordinatorResponse*) {
  FindCoordinatorResponse out{0, gen_i16(), std::nullopt, gen_i32(), gen_name(), gen_i32()};
  if (v >= 1) {
    out.throttle_time_ms = gen_i32();
    out.error_message = gen_nullable();
  }
  return out;
}
JoinGroupRequest gen(std::int16_t v, JoinGroupRequest*) {
  JoinGroupRequest out{gen_name(), gen_i32(), -1, gen_name(), std::nullopt, gen_name(), {}};
  if (v >= 1) out.rebalance_timeout_ms = gen_i32();
  if (v >= 5) out.group_instance_id = gen_nullable();
  out.protocols = small_vector([] { return JoinGroupRequestProtocol{gen_name(), gen_bytes()}; });
  return out;
}
JoinGroupResponse gen(std::int16_t v, JoinGroupResponse*) {
  JoinGroupResponse out{
      v >= 2 ? gen_i32() : 0, gen_i16(), gen_i32(), gen_name(), gen_name(), gen_name(), {}};
  out.members = small_vector([v] {
    return JoinGroupResponseMember{gen_name(), v >= 5 ? gen_nullable() : std::nullopt, gen_bytes()};
  });
  return out;
}
SyncGroupRequest gen(std::int16_t v, SyncGroupRequest*) {
  SyncGroupRequest out{gen_name(), gen_i32(), gen_name(), std::nullopt, {}};
  if (v >= 3) out.group_instance_id = gen_nullable();
  out.assignments = small_vector([] {
    return SyncGroupRequestAssignment{gen_name(), gen_bytes()};
  });
  return out;
}
SyncGroupResponse gen(std::int16_t v, SyncGroupResponse*) {
  return {v >= 1 ? gen_i32() : 0, gen_i16(), gen_bytes()};
}
HeartbeatRequest gen(std::int16_t v, HeartbeatRequest*) {
  return {gen_name(), gen_i32(), gen_name(), v >= 3 ? gen_nullable() : std::nullopt};
}
HeartbeatResponse gen(std::int16_t v, HeartbeatResponse*) {
  return {v >= 1 ? gen_i32() : 0, gen_i16()};
}
LeaveGroupRequest gen(std::int16_t v, LeaveGroupRequest*) {
  LeaveGroupRequest out{gen_name(), "", {}};
  if (v <= 2) out.member_id = gen_name();
  if (v >= 3) out.members = small_vector([] { return MemberIdentity{gen_name(), gen_nullable()}; });
  return out;
}
LeaveGroupResponse gen(std::int16_t v, LeaveGroupResponse*) {
  LeaveGroupResponse out{v >= 1 ? gen_i32() : 0, gen_i16(), {}};
  if (v >= 3) {
    out.members = small_vector([] {
      return MemberResponse{gen_name(), gen_nullable(), gen_i16()};
    });
  }
  return out;
}
OffsetCommitRequest gen(std::int16_t v, OffsetCommitRequest*) {
  OffsetCommitRequest out;
  out.group_id = gen_name();
  if (v >= 1) {
    out.generation_id = gen_i32();
    out.member_id = gen_name();
  }
  if (v >= 7) out.group_instance_id = gen_nullable();
  if (v >= 2 && v <= 4) out.retention_time_ms = gen_i64();
  out.topics = small_vector([v] {
    return OffsetCommitRequestTopic{gen_name(), small_vector([v] {
                                      return OffsetCommitRequestPartition{
                                          gen_i32(), gen_i64(), v >= 6 ? gen_i32() : -1,
                                          v == 1 ? gen_i64() : -1, gen_nullable()};
                                    })};
  });
  return out;
}
OffsetCommitResponse gen(std::int16_t v, OffsetCommitResponse*) {
  OffsetCommitResponse out{v >= 3 ? gen_i32() : 0, {}};
  out.topics = small_vector([] {
    return OffsetCommitResponseTopic{gen_name(), small_vector([] {
                                       return OffsetCommitResponsePartition{gen_i32(), gen_i16()};
                                     })};
  });
  return out;
}
OffsetFetchRequest gen(std::int16_t v, OffsetFetchRequest*) {
  OffsetFetchRequest out{gen_name(), std::nullopt};
  if (v < 2 || *rc::gen::arbitrary<bool>()) {
    out.topics = small_vector([] {
      return OffsetFetchRequestTopic{gen_name(), small_vector([] { return gen_i32(); })};
    });
  }
  return out;
}
OffsetFetchResponse gen(std::int16_t v, OffsetFetchResponse*) {
  OffsetFetchResponse out{v >= 3 ? gen_i32() : 0, {}, v >= 2 ? gen_i16() : std::int16_t{0}};
  out.topics = small_vector([v] {
    return OffsetFetchResponseTopic{gen_name(), small_vector([v] {
                                      return OffsetFetchResponsePartition{
                                          gen_i32(), gen_i64(), v >= 5 ? gen_i32() : -1,
                                          gen_nullable(), gen_i16()};
                                    })};
  });
  return out;
}
ListGroupsRequest gen(std::int16_t, ListGroupsRequest*) { return {}; }
ListGroupsResponse gen(std::int16_t v, ListGroupsResponse*) {
  ListGroupsResponse out{v >= 1 ? gen_i32() : 0, gen_i16(), {}};
  out.groups = small_vector([] { return ListedGroup{gen_name(), gen_name()}; });
  return out;
}
DescribeGroupsRequest gen(std::int16_t v, DescribeGroupsRequest*) {
  return {small_vector([] { return gen_name(); }), v >= 3 && *rc::gen::arbitrary<bool>()};
}
DescribeGroupsResponse gen(std::int16_t v, DescribeGroupsResponse*) {
  DescribeGroupsResponse out{v >= 1 ? gen_i32() : 0, {}};
  out.groups = small_vector([v] {
    DescribedGroup group{gen_i16(),
                         gen_name(),
                         gen_name(),
                         gen_name(),
                         gen_name(),
                         {},
                         v >= 3 ? gen_i32() : kAuthorizedOperationsOmitted};
    group.members = small_vector([v] {
      return DescribedGroupMember{gen_name(),  v >= 4 ? gen_nullable() : std::nullopt,
                                  gen_name(),  gen_name(),
                                  gen_bytes(), gen_bytes()};
    });
    return group;
  });
  return out;
}
DeleteGroupsRequest gen(std::int16_t, DeleteGroupsRequest*) {
  return {small_vector([] { return gen_name(); })};
}
DeleteGroupsResponse gen(std::int16_t, DeleteGroupsResponse*) {
  return {gen_i32(), small_vector([] { return DeletableGroupResult{gen_name(), gen_i16()}; })};
}
OffsetDeleteRequest gen(std::int16_t, OffsetDeleteRequest*) {
  return {gen_name(), small_vector([] {
            return OffsetDeleteRequestTopic{gen_name(), small_vector([] { return gen_i32(); })};
          })};
}
OffsetDeleteResponse gen(std::int16_t, OffsetDeleteResponse*) {
  return {gen_i16(), gen_i32(), small_vector([] {
            return OffsetDeleteResponseTopic{
                gen_name(), small_vector([] {
                  return OffsetDeleteResponsePartition{gen_i32(), gen_i16()};
                })};
          })};
}

// One API's codec: its version range and its four functions.
template <typename Request, typename Response>
struct Codec {
  std::int16_t min;
  std::int16_t max;
  void (*write_request)(Writer&, const Request&, std::int16_t);
  Request (*read_request)(Reader&, std::int16_t);
  void (*write_response)(Writer&, const Response&, std::int16_t);
  Response (*read_response)(Reader&, std::int16_t);
};

template <typename T>
void check_round_trip(const T& value, std::int16_t version,
                      void (*write)(Writer&, const T&, std::int16_t),
                      T (*read)(Reader&, std::int16_t)) {
  Writer writer;
  write(writer, value, version);
  Reader reader(writer.bytes());
  const T back = read(reader, version);
  RC_ASSERT(reader.ok());
  RC_ASSERT(reader.remaining() == 0u);
  RC_ASSERT(back == value);
}

template <typename Request, typename Response>
void round_trip_every_version(const Codec<Request, Response>& codec) {
  for (std::int16_t v = codec.min; v <= codec.max; ++v) {
    check_round_trip(gen(v, static_cast<Request*>(nullptr)), v, codec.write_request,
                     codec.read_request);
    check_round_trip(gen(v, static_cast<Response*>(nullptr)), v, codec.write_response,
                     codec.read_response);
  }
}

// Any bytes, read at any version (also just outside the range), end in a value or an error.
template <typename Request, typename Response>
void never_crash(const Codec<Request, Response>& codec, const std::vector<std::byte>& frame) {
  for (std::int16_t v = codec.min - 1; v <= codec.max + 1; ++v) {
    Reader request_reader(frame);
    (void)codec.read_request(request_reader, v);
    RC_ASSERT(request_reader.ok() || request_reader.remaining() == 0u);
    Reader response_reader(frame);
    (void)codec.read_response(response_reader, v);
    RC_ASSERT(response_reader.ok() || response_reader.remaining() == 0u);
  }
}

#define STRAND_GROUP_CODECS(apply)                                                            \
  apply(FindCoordinator, find_coordinator) apply(JoinGroup, join_group)                       \
      apply(SyncGroup, sync_group) apply(Heartbeat, heartbeat) apply(LeaveGroup, leave_group) \
          apply(OffsetCommit, offset_commit) apply(OffsetFetch, offset_fetch)                 \
              apply(ListGroups, list_groups) apply(DescribeGroups, describe_groups)           \
                  apply(DeleteGroups, delete_groups) apply(OffsetDelete, offset_delete)

#define STRAND_CODEC(Name, name)                                                             \
  Codec<Name##Request, Name##Response> {                                                     \
    k##Name##VersionMin, k##Name##VersionMax, write_##name##_request, read_##name##_request, \
        write_##name##_response, read_##name##_response                                      \
  }

#define STRAND_ROUND_TRIP(Name, name)                   \
  RC_GTEST_PROP(Name, EveryVersionRoundTrips, ()) {     \
    round_trip_every_version(STRAND_CODEC(Name, name)); \
  }
STRAND_GROUP_CODECS(STRAND_ROUND_TRIP)

#define STRAND_NEVER_CRASH(Name, name) never_crash(STRAND_CODEC(Name, name), frame);
RC_GTEST_PROP(GroupMessages, ArbitraryBytesNeverCrashAnyDecoder,
              (const std::vector<std::uint8_t>& raw)) {
  std::vector<std::byte> frame;
  for (std::uint8_t b : raw) frame.push_back(static_cast<std::byte>(b));
  STRAND_GROUP_CODECS(STRAND_NEVER_CRASH)
}

}  // namespace
}  // namespace strand::protocol
