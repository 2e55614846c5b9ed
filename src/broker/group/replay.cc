#include "broker/group/replay.h"

#include <variant>

namespace strand::group {

void apply_record(ReplayResult& state, const std::optional<std::string>& key,
                  const std::optional<std::string>& value) {
  state.records += 1;
  if (!key) {
    state.skipped += 1;
    return;
  }
  io::Result<RecordKey> decoded = decode_key(*key);
  if (!decoded) {
    state.skipped += 1;
    return;
  }
  if (const OffsetKey* offset_key = std::get_if<OffsetKey>(&*decoded)) {
    const TopicPartition tp{offset_key->topic, offset_key->partition};
    if (!value) {
      auto it = state.groups.find(offset_key->group);
      if (it != state.groups.end()) it->second.offsets.erase(tp);
      return;
    }
    io::Result<OffsetValue> offset = decode_offset_value(*value);
    if (!offset) {
      state.skipped += 1;
      return;
    }
    state.groups[offset_key->group].offsets.put(tp, std::move(*offset));
    return;
  }
  const std::string& group = std::get<GroupKey>(*decoded).group;
  if (!value) {
    auto it = state.groups.find(group);
    if (it != state.groups.end()) it->second.metadata.reset();
    return;
  }
  io::Result<GroupValue> metadata = decode_group_value(*value);
  if (!metadata) {
    state.skipped += 1;
    return;
  }
  state.groups[group].metadata = std::move(*metadata);
}

void prune_empty(ReplayResult& state) {
  for (auto it = state.groups.begin(); it != state.groups.end();) {
    const bool empty = !it->second.metadata && it->second.offsets.empty();
    it = empty ? state.groups.erase(it) : std::next(it);
  }
}

ReplayResult replay(std::span<const protocol::Record> records) {
  ReplayResult state;
  for (const protocol::Record& record : records) apply_record(state, record.key, record.value);
  prune_empty(state);
  return state;
}

}  // namespace strand::group
