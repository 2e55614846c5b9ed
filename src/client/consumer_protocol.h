// The Kafka consumer protocol's bytes inside JoinGroup and SyncGroup (protocol type "consumer"),
// and the range assignor that a group's elected leader runs. Pure functions: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "broker/protocol/offset_commit.h"
#include "client/client.h"
#include "io/result.h"

namespace strand::client {

inline constexpr const char* kConsumerProtocolType = "consumer";
inline constexpr const char* kRangeAssignorName = "range";

// ConsumerProtocolSubscription version 0: i16 version, [topic], user data (null).
std::vector<std::byte> encode_consumer_subscription(const std::vector<std::string>& topics);
// The topics of a subscription (versions 0-3; fields after the topics are skipped). Errors:
// kCorrupt for bytes that do not parse.
io::Result<std::vector<std::string>> decode_consumer_subscription(std::span<const std::byte> bytes);

// ConsumerProtocolAssignment version 0: i16 version, [topic, [partition]], user data (null).
// Partitions of one topic must be adjacent in `partitions` to share an entry.
std::vector<std::byte> encode_consumer_assignment(const std::vector<TopicPartition>& partitions);
// The partitions of a consumer protocol assignment (versions 0-3: i16 version, [topic,
// [partition]], user data), in order. Errors: kCorrupt for bytes that do not parse; an empty
// input is an empty assignment.
io::Result<std::vector<TopicPartition>> decode_consumer_assignment(
    std::span<const std::byte> bytes);

// Kafka's RangeAssignor: for each topic, the members subscribed to it in member id order get
// consecutive ranges of its partitions, the first (count % members) one partition more.
// `subscriptions`: topics by member id; `partitions_count`: by topic (topics missing from it
// are not assigned). Every member of `subscriptions` is in the answer, maybe with nothing.
std::map<std::string, std::vector<TopicPartition>> range_assign(
    const std::map<std::string, std::vector<std::string>>& subscriptions,
    const std::map<std::string, std::int32_t>& partitions_count);

// An OffsetCommit of `offsets` (partitions of a topic adjacent, as a map keeps them) for a member
// of `generation` (-1 and "" for an administrator's commit to an inactive group).
protocol::OffsetCommitRequest offset_commit_request(
    const std::string& group, std::int32_t generation, const std::string& member_id,
    const std::map<TopicPartition, std::int64_t>& offsets);

}  // namespace strand::client
