// The sparse index of one segment: every ~index_interval_bytes of log, one entry mapping a batch's
// offset (relative to the segment's base) to its byte position, with the largest timestamp seen up
// to and including that batch (so the same entries answer lookups by offset and by timestamp).
// Kept in memory; encoded to the .index file when the segment is sealed or the log closes cleanly.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "io/result.h"

namespace strand::storage {

struct IndexEntry {
  std::uint32_t relative_offset;  // batch base offset - segment base offset
  std::uint32_t position;         // byte position of the batch in the .log file
  std::int64_t max_timestamp;     // largest batch maxTimestamp up to and including this batch
};

// What the .index file says about the whole segment besides its entries.
struct IndexSummary {
  std::int64_t max_timestamp = -1;  // largest maxTimestamp in the segment (-1: no batch)
  std::int64_t next_offset = 0;     // last offset + 1
  std::uint64_t log_bytes = 0;      // size of the .log file the index describes
};

class SegmentIndex {
 public:
  explicit SegmentIndex(std::uint32_t interval_bytes) : interval_bytes_(interval_bytes) {}

  // Notes a batch appended at `position`. Adds an entry when interval_bytes have passed since the
  // last one (and always for the first batch). REQUIRES: positions and offsets increase.
  void on_append(std::uint32_t relative_offset, std::uint32_t position, std::uint32_t size_bytes,
                 std::int64_t batch_max_timestamp);

  // The entry with the largest relative offset <= `relative_offset`, if any.
  std::optional<IndexEntry> floor_offset(std::uint32_t relative_offset) const;
  // The first entry whose max_timestamp >= `timestamp` (the batch at or after it holds the first
  // record with such a timestamp, scanning from the previous entry).
  std::optional<std::size_t> first_reaching_timestamp(std::int64_t timestamp) const;

  // Drops entries at or beyond `position` (after a truncation of the log).
  void truncate_to_position(std::uint32_t position);

  std::span<const IndexEntry> entries() const { return entries_; }
  std::int64_t max_timestamp() const { return max_timestamp_; }

  std::vector<std::byte> encode(const IndexSummary& summary) const;
  // Rebuilds an index from an .index file. kCorrupt if the bytes are not a valid index.
  static io::Result<std::pair<SegmentIndex, IndexSummary>> decode(std::span<const std::byte> bytes,
                                                                  std::uint32_t interval_bytes);

 private:
  std::vector<IndexEntry> entries_;
  std::uint32_t interval_bytes_;
  std::uint64_t bytes_since_entry_ = 0;
  std::int64_t max_timestamp_ = -1;
};

}  // namespace strand::storage
