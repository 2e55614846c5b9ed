// Rebuilding the coordinator's state from __consumer_offsets: the latest value of each key wins
// and a tombstone removes it, exactly as a compacted log would read. A pure function of the
// records, so it is tested without a disk.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "broker/group/offset_table.h"
#include "broker/group/records.h"
#include "broker/protocol/batch_builder.h"

namespace strand::group {

struct LoadedGroup {
  std::optional<GroupValue> metadata;  // nullopt: only offsets (or metadata deleted)
  OffsetTable offsets;
};

struct ReplayResult {
  std::map<std::string, LoadedGroup> groups;  // groups with metadata or at least one offset
  std::uint64_t records = 0;
  std::uint64_t skipped = 0;  // keys or values that did not decode (logged by the caller)
};

// Applies one record (key, value; a null value is a tombstone) to `state`. A record that does
// not decode counts as skipped and changes nothing.
void apply_record(ReplayResult& state, const std::optional<std::string>& key,
                  const std::optional<std::string>& value);

// Applies `records` in order, then drops groups left with neither metadata nor offsets.
ReplayResult replay(std::span<const protocol::Record> records);
void prune_empty(ReplayResult& state);

}  // namespace strand::group
