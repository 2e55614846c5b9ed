#include "broker/storage/segment_index.h"

#include <algorithm>
#include <string>

#include "broker/protocol/byte_order.h"
#include "broker/protocol/crc32c.h"
#include "broker/storage/segment_format.h"

namespace strand::storage {

using protocol::load_be;
using protocol::store_be;

void SegmentIndex::on_append(std::uint32_t relative_offset, std::uint32_t position,
                             std::uint32_t size_bytes, std::int64_t batch_max_timestamp) {
  max_timestamp_ = std::max(max_timestamp_, batch_max_timestamp);
  if (!entries_.empty()) {
    STRAND_ASSERT(relative_offset > entries_.back().relative_offset, "offsets increase");
    STRAND_ASSERT(position > entries_.back().position, "positions increase");
  }
  if (entries_.empty() || bytes_since_entry_ >= interval_bytes_) {
    entries_.push_back(IndexEntry{relative_offset, position, max_timestamp_});
    bytes_since_entry_ = 0;
  } else {
    // Keep the latest entry's timestamp bound covering every batch before the next entry.
    entries_.back().max_timestamp = std::max(entries_.back().max_timestamp, max_timestamp_);
  }
  bytes_since_entry_ += size_bytes;
}

std::optional<IndexEntry> SegmentIndex::floor_offset(std::uint32_t relative_offset) const {
  auto after = std::upper_bound(
      entries_.begin(), entries_.end(), relative_offset,
      [](std::uint32_t target, const IndexEntry& entry) { return target < entry.relative_offset; });
  if (after == entries_.begin()) return std::nullopt;
  return *(after - 1);
}

std::optional<std::size_t> SegmentIndex::first_reaching_timestamp(std::int64_t timestamp) const {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].max_timestamp >= timestamp) return i;
  }
  return std::nullopt;
}

void SegmentIndex::truncate_to_position(std::uint32_t position) {
  while (!entries_.empty() && entries_.back().position >= position) entries_.pop_back();
  max_timestamp_ = entries_.empty() ? -1 : entries_.back().max_timestamp;
  bytes_since_entry_ = interval_bytes_;  // next append gets an entry: we no longer know the gap
}

std::vector<std::byte> SegmentIndex::encode(const IndexSummary& summary) const {
  std::vector<std::byte> out(kIndexHeaderBytes + entries_.size() * kIndexEntryBytes +
                             kIndexTrailerBytes);
  std::byte* p = out.data();
  store_be<std::uint32_t>(p, kIndexMagic);
  store_be<std::uint16_t>(p + 4, kIndexVersion);
  store_be<std::uint32_t>(p + 6, static_cast<std::uint32_t>(entries_.size()));
  store_be<std::int64_t>(p + 10, summary.max_timestamp);
  store_be<std::int64_t>(p + 18, summary.next_offset);
  store_be<std::uint64_t>(p + 26, summary.log_bytes);
  p += kIndexHeaderBytes;
  for (const IndexEntry& entry : entries_) {
    store_be<std::uint32_t>(p, entry.relative_offset);
    store_be<std::uint32_t>(p + 4, entry.position);
    store_be<std::int64_t>(p + 8, entry.max_timestamp);
    p += kIndexEntryBytes;
  }
  const std::uint32_t crc =
      protocol::crc32c(std::span<const std::byte>(out).first(out.size() - kIndexTrailerBytes));
  store_be<std::uint32_t>(p, crc);
  return out;
}

io::Result<std::pair<SegmentIndex, IndexSummary>> SegmentIndex::decode(
    std::span<const std::byte> bytes, std::uint32_t interval_bytes) {
  auto corrupt = [](const std::string& why) {
    return io::Error{io::ErrorKind::kCorrupt, "index: " + why};
  };
  if (bytes.size() < kIndexHeaderBytes + kIndexTrailerBytes) return corrupt("too short");
  const std::byte* p = bytes.data();
  if (load_be<std::uint32_t>(p) != kIndexMagic) return corrupt("bad magic");
  if (load_be<std::uint16_t>(p + 4) != kIndexVersion) return corrupt("unknown version");
  const std::uint32_t count = load_be<std::uint32_t>(p + 6);
  if (bytes.size() !=
      kIndexHeaderBytes + std::uint64_t{count} * kIndexEntryBytes + kIndexTrailerBytes) {
    return corrupt("size does not match the entry count");
  }
  const std::uint32_t stored_crc = load_be<std::uint32_t>(p + bytes.size() - kIndexTrailerBytes);
  if (protocol::crc32c(bytes.first(bytes.size() - kIndexTrailerBytes)) != stored_crc) {
    return corrupt("crc mismatch");
  }
  IndexSummary summary{load_be<std::int64_t>(p + 10), load_be<std::int64_t>(p + 18),
                       load_be<std::uint64_t>(p + 26)};
  SegmentIndex index(interval_bytes);
  p += kIndexHeaderBytes;
  for (std::uint32_t i = 0; i < count; ++i, p += kIndexEntryBytes) {
    IndexEntry entry{load_be<std::uint32_t>(p), load_be<std::uint32_t>(p + 4),
                     load_be<std::int64_t>(p + 8)};
    if (!index.entries_.empty() &&
        (entry.relative_offset <= index.entries_.back().relative_offset ||
         entry.position <= index.entries_.back().position)) {
      return corrupt("entries out of order");
    }
    if (entry.position >= summary.log_bytes) return corrupt("entry beyond the log");
    index.entries_.push_back(entry);
  }
  index.max_timestamp_ = summary.max_timestamp;
  index.bytes_since_entry_ = interval_bytes;
  return std::pair{std::move(index), summary};
}

}  // namespace strand::storage
