// The records of the internal topic __consumer_offsets, in Kafka's own key and value schemas
// (GroupMetadataManager), so Kafka's tooling could read a Strand log:
//   offset commit    key v1: group, topic, partition      value v3: offset, leader epoch,
//                                                          metadata, commit timestamp
//   group metadata   key v2: group                         value v3: protocol type, generation,
//                                                          protocol, leader, state timestamp,
//                                                          members
// A null value (a tombstone) deletes the key. Readers accept every non-flexible version Kafka
// wrote (offset values v0-v3, group values v0-v3); writers write the versions above.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "io/result.h"

namespace strand::group {

inline constexpr char kOffsetsTopic[] = "__consumer_offsets";

// Kafka's partition of __consumer_offsets for a group: abs(groupId.hashCode()) % partitions,
// with Java's String.hashCode over UTF-16 code units and Utils.abs (x & 0x7fffffff).
// REQUIRES: partitions > 0.
std::int32_t offsets_partition_for(std::string_view group_id, std::int32_t partitions);
// Java's String.hashCode of the UTF-8 text `text` (invalid bytes count as U+FFFD, as Java's
// decoder replaces them).
std::int32_t java_string_hash(std::string_view text);

struct OffsetKey {
  std::string group;
  std::string topic;
  std::int32_t partition = 0;
  friend bool operator==(const OffsetKey&, const OffsetKey&) = default;
};

struct GroupKey {
  std::string group;
  friend bool operator==(const GroupKey&, const GroupKey&) = default;
};

using RecordKey = std::variant<OffsetKey, GroupKey>;

struct OffsetValue {
  std::int64_t offset = 0;
  std::int32_t leader_epoch = -1;
  std::string metadata;
  std::int64_t commit_timestamp_ms = 0;
  friend bool operator==(const OffsetValue&, const OffsetValue&) = default;
};

struct MemberValue {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::int32_t rebalance_timeout_ms = 0;
  std::int32_t session_timeout_ms = 0;
  std::vector<std::byte> subscription;
  std::vector<std::byte> assignment;
  friend bool operator==(const MemberValue&, const MemberValue&) = default;
};

struct GroupValue {
  std::string protocol_type;
  std::int32_t generation = 0;
  std::optional<std::string> protocol;
  std::optional<std::string> leader;
  std::int64_t current_state_timestamp_ms = -1;
  std::vector<MemberValue> members;
  friend bool operator==(const GroupValue&, const GroupValue&) = default;
};

std::string encode_key(const RecordKey& key);
std::string encode_offset_value(const OffsetValue& value);
std::string encode_group_value(const GroupValue& value);

// Errors: kCorrupt naming what is wrong (truncation, an unknown version, trailing bytes).
io::Result<RecordKey> decode_key(std::string_view bytes);
io::Result<OffsetValue> decode_offset_value(std::string_view bytes);
io::Result<GroupValue> decode_group_value(std::string_view bytes);

}  // namespace strand::group
