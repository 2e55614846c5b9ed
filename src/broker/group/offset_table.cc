#include "broker/group/offset_table.h"

namespace strand::group {

const OffsetValue* OffsetTable::find(const TopicPartition& tp) const {
  auto it = offsets_.find(tp);
  return it == offsets_.end() ? nullptr : &it->second;
}

std::vector<TopicPartition> OffsetTable::expired(std::int64_t now_ms, std::int64_t retention_ms,
                                                 std::optional<std::int64_t> empty_since_ms) const {
  std::vector<TopicPartition> out;
  if (retention_ms < 0) return out;
  for (const auto& [tp, value] : offsets_) {
    const std::int64_t base_ms = empty_since_ms.value_or(value.commit_timestamp_ms);
    if (now_ms - base_ms >= retention_ms) out.push_back(tp);
  }
  return out;
}

}  // namespace strand::group
