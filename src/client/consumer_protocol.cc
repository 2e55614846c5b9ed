#include "client/consumer_protocol.h"

#include <algorithm>

#include "broker/protocol/codec.h"
#include "io/assert.h"

namespace strand::client {

std::vector<std::byte> encode_consumer_subscription(const std::vector<std::string>& topics) {
  protocol::Writer writer;
  writer.write_i16(0);
  writer.write_array_length(static_cast<std::int32_t>(topics.size()));
  for (const std::string& topic : topics) writer.write_string(topic);
  writer.write_nullable_bytes(std::nullopt);
  return writer.take();
}

io::Result<std::vector<std::string>> decode_consumer_subscription(
    std::span<const std::byte> bytes) {
  protocol::Reader reader(bytes);
  const std::int16_t version = reader.read_i16();
  if (reader.ok() && version < 0) {
    return io::Error{io::ErrorKind::kCorrupt,
                     "consumer subscription version " + std::to_string(version)};
  }
  std::vector<std::string> topics;
  const std::int32_t count = reader.read_required_array_length(2, "subscription topics");
  for (std::int32_t t = 0; t < count && reader.ok(); ++t) topics.push_back(reader.read_string());
  if (!reader.ok()) return io::with_context(reader.status().error(), "consumer subscription");
  return topics;
}

std::vector<std::byte> encode_consumer_assignment(const std::vector<TopicPartition>& partitions) {
  // Topic runs: each adjacent run of one topic is one entry.
  std::vector<std::pair<std::string, std::vector<std::int32_t>>> topics;
  for (const TopicPartition& tp : partitions) {
    if (topics.empty() || topics.back().first != tp.topic)
      topics.emplace_back(tp.topic, std::vector<std::int32_t>{});
    topics.back().second.push_back(tp.partition);
  }
  protocol::Writer writer;
  writer.write_i16(0);
  writer.write_array_length(static_cast<std::int32_t>(topics.size()));
  for (const auto& [topic, indexes] : topics) {
    writer.write_string(topic);
    writer.write_array_length(static_cast<std::int32_t>(indexes.size()));
    for (const std::int32_t partition : indexes) writer.write_i32(partition);
  }
  writer.write_nullable_bytes(std::nullopt);
  return writer.take();
}

io::Result<std::vector<TopicPartition>> decode_consumer_assignment(
    std::span<const std::byte> bytes) {
  std::vector<TopicPartition> out;
  if (bytes.empty()) return out;
  protocol::Reader reader(bytes);
  const std::int16_t version = reader.read_i16();
  if (reader.ok() && version < 0) {
    return io::Error{io::ErrorKind::kCorrupt,
                     "consumer assignment version " + std::to_string(version)};
  }
  const std::int32_t topics = reader.read_required_array_length(2 + 4, "assignment topics");
  for (std::int32_t t = 0; t < topics && reader.ok(); ++t) {
    std::string topic = reader.read_string();
    const std::int32_t partitions = reader.read_required_array_length(4, "assignment partitions");
    for (std::int32_t p = 0; p < partitions && reader.ok(); ++p) {
      const std::int32_t partition = reader.read_i32();
      if (reader.ok()) out.push_back(TopicPartition{topic, partition});
    }
  }
  (void)reader.read_nullable_bytes();  // user data; newer versions add fields after it
  if (!reader.ok()) return io::with_context(reader.status().error(), "consumer assignment");
  return out;
}

std::map<std::string, std::vector<TopicPartition>> range_assign(
    const std::map<std::string, std::vector<std::string>>& subscriptions,
    const std::map<std::string, std::int32_t>& partitions_count) {
  std::map<std::string, std::vector<TopicPartition>> out;
  std::map<std::string, std::vector<std::string>>
      members_by_topic;  // member ids sorted (map order)
  for (const auto& [member, topics] : subscriptions) {
    out[member];
    for (const std::string& topic : topics) {
      std::vector<std::string>& members = members_by_topic[topic];
      if (std::find(members.begin(), members.end(), member) == members.end()) {
        members.push_back(member);
      }
    }
  }
  for (const auto& [topic, members] : members_by_topic) {
    auto count = partitions_count.find(topic);
    if (count == partitions_count.end() || count->second <= 0) continue;
    const auto n = static_cast<std::int32_t>(members.size());
    const std::int32_t each = count->second / n;
    const std::int32_t extra = count->second % n;
    for (std::int32_t i = 0; i < n; ++i) {
      const std::int32_t start = i * each + std::min(i, extra);
      const std::int32_t length = each + (i < extra ? 1 : 0);
      for (std::int32_t p = start; p < start + length; ++p) {
        out[members[i]].push_back(TopicPartition{topic, p});
      }
    }
  }
  return out;
}

protocol::OffsetCommitRequest offset_commit_request(
    const std::string& group, std::int32_t generation, const std::string& member_id,
    const std::map<TopicPartition, std::int64_t>& offsets) {
  protocol::OffsetCommitRequest request;
  request.group_id = group;
  request.generation_id = generation;
  request.member_id = member_id;
  for (const auto& [tp, offset] : offsets) {
    if (request.topics.empty() || request.topics.back().name != tp.topic) {
      request.topics.push_back(protocol::OffsetCommitRequestTopic{tp.topic, {}});
    }
    protocol::OffsetCommitRequestPartition& partition =
        request.topics.back().partitions.emplace_back();
    partition.partition_index = tp.partition;
    partition.committed_offset = offset;
  }
  return request;
}

}  // namespace strand::client
