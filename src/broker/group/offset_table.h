// A group's committed offsets: one value per topic partition, last commit wins. Pure data; the
// coordinator applies a commit only once its record is durable in __consumer_offsets.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/group/records.h"

namespace strand::group {

struct TopicPartition {
  std::string topic;
  std::int32_t partition = 0;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

class OffsetTable {
 public:
  const OffsetValue* find(const TopicPartition& tp) const;
  void put(const TopicPartition& tp, OffsetValue value) { offsets_[tp] = std::move(value); }
  // Returns whether there was an offset to remove.
  bool erase(const TopicPartition& tp) { return offsets_.erase(tp) > 0; }
  const std::map<TopicPartition, OffsetValue>& all() const { return offsets_; }
  bool empty() const { return offsets_.empty(); }

  // The offsets older than `retention_ms` at wall time `now_ms`, as Kafka expires them: with
  // `empty_since_ms` (a consumer group that has had no members since then) all of them once the
  // group has been empty that long; without (a group that only stores offsets) each by its own
  // commit timestamp. Retention -1 keeps offsets forever.
  std::vector<TopicPartition> expired(std::int64_t now_ms, std::int64_t retention_ms,
                                      std::optional<std::int64_t> empty_since_ms) const;

 private:
  std::map<TopicPartition, OffsetValue> offsets_;
};

}  // namespace strand::group
